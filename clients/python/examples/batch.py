#!/usr/bin/python3
"""Batch processing with bounded concurrency: many URLs, at most
CONCURRENCY at a time, each in a lease of its own. A page that fails is
reported, not fatal. One JSON line per URL, as each finishes.

Bounding on the client keeps a big batch from crowding the server's wait
queue (it refuses callers beyond --max_queue). asyncio, on foxpool.aio:

    PYTHONPATH=build/python /usr/bin/python3 batch.py ADDRESS BASE_URL \
        [CONCURRENCY] [URL_OR_PATH ...]

Paths are taken from BASE_URL; default: /page/0 … /page/7, two at a time.
"""
import asyncio
import json
import sys

import foxpool
import foxpool.aio


async def scrape(pool, limit, url):
    async with limit:
        try:
            async with pool.lease(labels={"example": "batch"}) as window:
                page = await window.navigate(url)
                links = await window.evaluate("document.links.length")
                return {"url": url, "title": page.title, "status": page.http_status,
                        "links": links}
        except foxpool.Error as error:
            return {"url": url, "error": error.code.name, "message": error.details}


async def main(address, base_url, concurrency=2, *urls):
    urls = [url if "://" in url else base_url + url
            for url in urls or [f"/page/{i}" for i in range(8)]]
    limit = asyncio.Semaphore(int(concurrency))
    async with foxpool.aio.Pool(address) as pool:
        for done in asyncio.as_completed([scrape(pool, limit, url) for url in urls]):
            print(json.dumps(await done), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
