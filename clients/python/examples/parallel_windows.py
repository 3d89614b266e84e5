#!/usr/bin/python3
"""Parallel windows: several pages at once, each in a window of its own.

The seed guide spawns a Firefox per task; here each task leases a warm
window from foxpool instead, and tasks beyond the pool's size wait their
turn in the server's queue. asyncio, on foxpool.aio:

    PYTHONPATH=build/python /usr/bin/python3 parallel_windows.py ADDRESS BASE_URL [COUNT]

visits BASE_URL/page/0 … /page/COUNT-1 (default 4) and prints each title.
"""
import asyncio
import sys

import foxpool.aio


async def title_of(pool, url):
    async with pool.lease(labels={"example": "parallel_windows"}) as window:
        page = await window.navigate(url)
        return page.title


async def main(address, base_url, count=4):
    urls = [f"{base_url}/page/{i}" for i in range(int(count))]
    async with foxpool.aio.Pool(address) as pool:
        titles = await asyncio.gather(*(title_of(pool, url) for url in urls),
                                      return_exceptions=True)
    for url, title in zip(urls, titles):
        if isinstance(title, Exception):
            print(f"{url}: failed: {title}")
        else:
            print(f"{url}: {title}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
