#!/usr/bin/python3
"""Lease a warm Firefox window from foxpool, drive it, give it back.

Uses the foxpool package the build assembles in build/python (on Debian's
python3-grpcio):

    PYTHONPATH=build/python /usr/bin/python3 clients/python/example.py \
        [ADDRESS] [URL] [SCREENSHOT.png]
"""
import sys

import foxpool


def main(address="127.0.0.1:50051", url="https://example.com/", screenshot="page.png"):
    with foxpool.Pool(address) as pool:
        # Waits (up to 60 s) in the server's queue if every window is leased;
        # renewed in the background, released (and reset) when the block ends.
        with pool.lease(timeout=60, labels={"job": "example"}) as window:
            page = window.navigate(url)
            print(f"{page.url}: {page.title!r}")

            # A function with JSON arguments, run in the page; its result parsed.
            links = window.evaluate("(selector) => document.querySelectorAll(selector).length", "a")
            print("links:", links)

            try:
                window.evaluate("missingFunction()")
            except foxpool.Unknown as error:  # The page's own error, as a typed exception.
                print("script error:", error.code.name, error.details)

            # window.screenshot() gives the PNG bytes; call() reaches any RPC by
            # name and returns its whole response, here with the image's size.
            shot = window.call("Screenshot")
            with open(screenshot, "wb") as out:
                out.write(shot.image)
            print(f"screenshot: {shot.width}x{shot.height} PNG in {screenshot}")
            return {"title": page.title, "links": links, "width": shot.width, "height": shot.height}


if __name__ == "__main__":
    main(*sys.argv[1:])
