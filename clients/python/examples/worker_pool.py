#!/usr/bin/python3
"""Worker pool: a few workers, each holding one window for its whole life,
take URLs from a shared queue.

One lease serves a worker's every URL: one Acquire and one reset however
many pages it visits, and the lease renews itself while the worker waits
for work. Threads, on the synchronous client:

    PYTHONPATH=build/python /usr/bin/python3 worker_pool.py ADDRESS BASE_URL [WORKERS] [PAGES]

visits BASE_URL/page/0 … /page/PAGES-1 (default 8) with WORKERS (default 2).
"""
import queue
import sys
import threading

import foxpool

print_lock = threading.Lock()


def worker(pool, name, urls):
    with pool.lease(labels={"example": "worker_pool", "worker": name}) as window:
        while (url := urls.get()) is not None:
            try:
                title = window.navigate(url).title
            except foxpool.Error as error:
                title = f"failed: {error}"
            with print_lock:
                print(f"{name} ({window.window_id}): {url} -> {title}", flush=True)


def main(address, base_url, workers=2, pages=8):
    urls = queue.Queue()
    for i in range(int(pages)):
        urls.put(f"{base_url}/page/{i}")
    for _ in range(int(workers)):
        urls.put(None)  # one "no more work" for each worker
    with foxpool.Pool(address) as pool:
        threads = [threading.Thread(target=worker, args=(pool, f"worker-{i}", urls))
                   for i in range(int(workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    main(*sys.argv[1:])
