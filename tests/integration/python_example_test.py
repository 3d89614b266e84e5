#!/usr/bin/python3
"""Runs the README's Python example against the real foxpoold.

Usage: python_example_test.py FOXPOOLD_BINARY (PYTHONPATH must reach the
generated stubs and clients/python).
"""
import os
import queue
import signal
import sys
import unittest

import grpc

import example
from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc
from foxpoold import Foxpoold, Pages

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
PAGE = b"<!doctype html><title>Example page</title><a href=/a>a</a><a href=/b>b</a>"


class ServerCase(unittest.TestCase):
    """Starts a real foxpoold with one window, and a page server."""

    def setUp(self):
        self.foxpoold = Foxpoold(FOXPOOLD, pool_size=1)
        self.server = self.foxpoold.process
        self.address = self.foxpoold.address
        self.pages = Pages({"/": ("text/html", PAGE)})
        self.tmp = self.foxpoold.tmp

    def tearDown(self):
        self.pages.close()
        self.assertEqual(self.foxpoold.stop(), 0)


class PythonExampleTest(ServerCase):
    def test_example_drives_a_window(self):
        url = self.pages.base + "/"
        shot = os.path.join(self.tmp.name, "page.png")
        result = example.main(self.address, url, shot)
        self.assertEqual(result["title"], "Example page")
        self.assertEqual(result["links"], 2)
        with open(shot, "rb") as png:
            self.assertEqual(png.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(result["width"], 0)


    # Reflection and health are checked with raw protobuf bytes: Debian ships
    # neither the reflection nor the health stubs for Python.
    def test_reflection_lists_the_service(self):
        with grpc.insecure_channel(self.address) as channel:
            call = channel.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
            # ServerReflectionRequest{list_services: ""} is field 7, empty.
            reply = next(call(iter([b"\x3a\x00"]), timeout=10))
        self.assertIn(b"foxpool.v1.BrowserPool", reply)
        self.assertIn(b"grpc.health.v1.Health", reply)

    def test_health_is_serving_once_a_window_is_ready(self):
        with grpc.insecure_channel(self.address) as channel:
            check = channel.unary_unary("/grpc.health.v1.Health/Check")
            name = b"foxpool.v1.BrowserPool"
            # HealthCheckRequest{service: name}; HealthCheckResponse{status: SERVING=1}.
            reply = check(b"\x0a" + bytes([len(name)]) + name, timeout=10)
        self.assertEqual(reply, b"\x08\x01")
        # The same over plain HTTP on the metrics port, for probes without TLS.
        self.assertEqual(self.foxpoold.healthz(), (200, "SERVING\n"))


class DrainHealthTest(ServerCase):
    """SIGTERM turns health NOT_SERVING at once while a stream lease runs on."""

    def test_health_turns_not_serving_when_a_drain_starts(self):
        outgoing = queue.Queue()
        outgoing.put(pb.SessionRequest(acquire=pb.AcquireRequest()))
        with grpc.insecure_channel(self.address) as channel:
            stream = rpc.BrowserPoolStub(channel).Session(iter(outgoing.get, None))
            self.assertTrue(next(stream).HasField("acquired"))
            check = channel.unary_unary("/grpc.health.v1.Health/Check")
            name = b"foxpool.v1.BrowserPool"
            self.server.send_signal(signal.SIGTERM)
            notice = next(stream)  # The drain notice comes first.
            self.assertEqual(notice.notice.kind, pb.SessionNotice.KIND_DRAINING)
            # HealthCheckResponse{status: NOT_SERVING=2}.
            self.assertEqual(check(b"\x0a" + bytes([len(name)]) + name, timeout=10), b"\x08\x02")
            self.assertEqual(self.foxpoold.healthz(), (503, "NOT_SERVING\n"))
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(
                id=1, evaluate=pb.EvaluateRequest(expression="1 + 1"))))
            self.assertEqual(next(stream).result.evaluate.result_json, "2")
            outgoing.put(None)  # Closing the stream releases the lease: the drain ends.
            self.assertEqual(self.server.wait(timeout=30), 0)


class DrainRpcTest(ServerCase):
    def test_drain_rpc_from_this_machine_stops_the_server(self):
        with grpc.insecure_channel(self.address) as channel:
            answer = rpc.BrowserPoolStub(channel).Drain(pb.DrainRequest(), timeout=10)
        self.assertGreater(answer.drain_timeout.seconds, 0)
        self.assertEqual(self.server.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main()
