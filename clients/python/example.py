#!/usr/bin/python3
"""Lease a warm Firefox window from foxpool, drive it, give it back.

Uses only Debian's python3-grpcio and the stubs the build generates:

    PYTHONPATH=build/python /usr/bin/python3 clients/python/example.py \
        [ADDRESS] [URL] [SCREENSHOT.png]
"""
import json
import sys

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc


def main(address="127.0.0.1:50051", url="https://example.com/", screenshot="page.png"):
    with grpc.insecure_channel(address) as channel:
        pool = rpc.BrowserPoolStub(channel)
        # Waits (up to 60 s) in the server's queue if every window is leased.
        lease = pool.Acquire(pb.AcquireRequest(labels={"job": "example"}), timeout=60)
        try:
            page = pool.Navigate(pb.NavigateRequest(lease_id=lease.lease_id, url=url))
            print(f"{page.url}: {page.title!r}")

            # A function with JSON arguments, run in the page; its result as JSON.
            links = pool.Evaluate(pb.EvaluateRequest(
                lease_id=lease.lease_id,
                expression="(selector) => document.querySelectorAll(selector).length",
                args_json=json.dumps(["a"])))
            print("links:", json.loads(links.result_json))

            try:
                pool.Evaluate(pb.EvaluateRequest(lease_id=lease.lease_id,
                                                 expression="missingFunction()"))
            except grpc.RpcError as error:  # The page's own error, as a gRPC status.
                print("script error:", error.code().name, error.details())

            shot = pool.Screenshot(pb.ScreenshotRequest(lease_id=lease.lease_id))
            with open(screenshot, "wb") as out:
                out.write(shot.image)
            print(f"screenshot: {shot.width}x{shot.height} PNG in {screenshot}")
            return {"title": page.title, "links": json.loads(links.result_json),
                    "width": shot.width, "height": shot.height}
        finally:
            # Reset (the default mode): the next caller gets a clean window.
            pool.Release(pb.ReleaseRequest(lease_id=lease.lease_id))


if __name__ == "__main__":
    main(*sys.argv[1:])
