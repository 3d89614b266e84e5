#!/usr/bin/python3
"""Round trips of the everyday window commands against a running foxpoold,
sequential, from one client, on a page this script serves on 127.0.0.1.

    PYTHONPATH=build/python:tests/integration /usr/bin/python3 bench/command_latency.py [ADDRESS] [N]

Leases one window, loads the page, then runs each command N times (after 5
warm-up calls) and prints p50/p90/p99 in milliseconds. A Python synchronous
client adds about 0.3 ms to each call; issue 7's suite will measure from C++.
"""
import sys
import time

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc
from foxpoold import Pages
from quick_latency import percentiles

PAGE = (b"<!doctype html><title>bench</title><input id=q>"
        b"<button id=b onclick='this.textContent=Date.now()'>go</button>" + b"<p>text</p>" * 200)


def main(address="127.0.0.1:50051", n="50"):
    n = int(n)
    pages = Pages({"/": ("text/html", PAGE)})
    url = pages.base + "/"
    with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        pool = rpc.BrowserPoolStub(channel)
        lease = pool.Acquire(pb.AcquireRequest(labels={"job": "bench"}), timeout=60).lease_id
        css = lambda value: pb.ElementTarget(locator=pb.Locator(value=value))
        commands = [
            ("GetTitle", lambda: pool.GetTitle(pb.GetTitleRequest(lease_id=lease))),
            ("Evaluate 1+1", lambda: pool.Evaluate(pb.EvaluateRequest(lease_id=lease, expression="1+1"))),
            ("FindElement css", lambda: pool.FindElement(pb.FindElementRequest(
                lease_id=lease, locator=pb.Locator(value="#b")))),
            ("FindElement text", lambda: pool.FindElement(pb.FindElementRequest(
                lease_id=lease, locator=pb.Locator(value="go", strategy=pb.LOCATOR_STRATEGY_TEXT)))),
            ("Click", lambda: pool.Click(pb.ClickRequest(lease_id=lease, element=css("#b")))),
            ("TypeText 10 chars", lambda: pool.TypeText(pb.TypeTextRequest(
                lease_id=lease, element=css("#q"), text="abcdefghij", clear=True))),
            ("GetCookies", lambda: pool.GetCookies(pb.GetCookiesRequest(lease_id=lease))),
            ("Screenshot PNG viewport", lambda: pool.Screenshot(pb.ScreenshotRequest(lease_id=lease))),
            ("Screenshot JPEG full page", lambda: pool.Screenshot(pb.ScreenshotRequest(
                lease_id=lease, format=pb.IMAGE_FORMAT_JPEG, full_page=True))),
            ("Navigate (local page)", lambda: pool.Navigate(pb.NavigateRequest(lease_id=lease, url=url))),
        ]
        try:
            pool.Navigate(pb.NavigateRequest(lease_id=lease, url=url), timeout=30)
            for name, command in commands:
                for _ in range(5):
                    command()
                samples = []
                for _ in range(n):
                    started = time.perf_counter()
                    command()
                    samples.append((time.perf_counter() - started) * 1e3)
                print(f"{name:28} {percentiles(samples)}")
        finally:
            pool.Release(pb.ReleaseRequest(lease_id=lease))
            pages.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
