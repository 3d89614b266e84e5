#!/usr/bin/python3
"""Reusing windows: hold a few leases for a whole job and send the work to
them in turn, as the seed guide keeps a list of windows.

What a held window picks up (here a cookie, set once per window) stays with
it from page to page; when the `with` ends the leases are released and
foxpool resets the windows for the next caller. Synchronous client:

    PYTHONPATH=build/python /usr/bin/python3 reuse_windows.py ADDRESS BASE_URL [WINDOWS] [PAGES]

visits BASE_URL/page/0 … /page/PAGES-1 (default 6) on WINDOWS (default 2).
"""
import contextlib
import itertools
import sys

import foxpool


def main(address, base_url, windows=2, pages=6):
    with foxpool.Pool(address) as pool, contextlib.ExitStack() as held:
        leased = [held.enter_context(pool.lease(labels={"example": "reuse_windows"}))
                  for _ in range(int(windows))]
        for slot, window in enumerate(leased):
            window.set_cookie("slot", str(slot), url=base_url + "/")
        for i, window in zip(range(int(pages)), itertools.cycle(leased)):
            page = window.navigate(f"{base_url}/page/{i}")
            cookie = window.evaluate("document.cookie")
            print(f"{window.window_id}: {page.title} ({cookie})")


if __name__ == "__main__":
    main(*sys.argv[1:])
