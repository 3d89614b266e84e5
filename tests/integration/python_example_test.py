#!/usr/bin/python3
"""Runs the README's Python example against the real foxpoold.

Usage: python_example_test.py FOXPOOLD_BINARY (PYTHONPATH must reach the
generated stubs and clients/python).
"""
import ctypes
import http.server
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

import example
from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
PAGE = b"<!doctype html><title>Example page</title><a href=/a>a</a><a href=/b>b</a>"


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


def die_with_parent():
    # The server (and so its Firefox windows) dies if this test is killed.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ServerCase(unittest.TestCase):
    """Starts a real foxpoold with one window, and a page server."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.tmp.name, "port")
        self.server = subprocess.Popen(
            [FOXPOOLD, "--grpc_address=127.0.0.1:0", f"--port_file={port_file}",
             f"--profile_root={self.tmp.name}/profiles", "--pool_size=1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            self.assertLess(time.monotonic(), deadline, "foxpoold did not start")
            time.sleep(0.05)
        self.address = "127.0.0.1:" + open(port_file).read().strip()
        with grpc.insecure_channel(self.address) as channel:
            stub = rpc.BrowserPoolStub(channel)
            while stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=5).idle < 1:
                self.assertLess(time.monotonic(), deadline, "no window became idle")
                time.sleep(0.05)
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def tearDown(self):
        self.http.shutdown()
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(timeout=60), 0)
        self.assertEqual(os.listdir(f"{self.tmp.name}/profiles"), [])
        self.tmp.cleanup()


class PythonExampleTest(ServerCase):
    def test_example_drives_a_window(self):
        url = f"http://127.0.0.1:{self.http.server_address[1]}/"
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
