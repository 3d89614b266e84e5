"""A real foxpoold for Python integration tests, and a page server.

Foxpoold starts the binary on free loopback ports with its own temporary
profile root, waits for idle windows, and on stop checks that it exited
cleanly and left no profile behind.
"""
import ctypes
import http.server
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc


def die_with_parent():
    # The server (and so its Firefox windows) dies if the test is killed.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def wait_until(condition, timeout, what):
    """Polls `condition` every 50 ms until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Foxpoold:
    def __init__(self, binary, pool_size=1, flags=(), wait_for_windows=True,
                 credentials=None, metadata=None):
        """Starts foxpoold; unless told not to, waits until `pool_size`
        windows are idle. `spawned_at` is when the process was started
        (time.monotonic()). `credentials` (grpc.ChannelCredentials) make
        the test's channel TLS; `metadata` goes with status() (a token)."""
        self.tmp = tempfile.TemporaryDirectory(prefix="foxpool-test-")
        self.log_path = os.path.join(self.tmp.name, "foxpoold.log")
        self.profiles = os.path.join(self.tmp.name, "profiles")
        port_file = os.path.join(self.tmp.name, "ports")
        self.spawned_at = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                 f"--port_file={port_file}", f"--profile_root={self.profiles}",
                 f"--pool_size={pool_size}", "--drain_timeout=10s",
                 # No seed profile's Firefox beside the pool's unless a test
                 # turns it on (flags given later win).
                 "--seed_profiles=false", *flags],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

        def ports_written():
            if not os.path.exists(port_file):
                return None
            with open(port_file) as ports:
                return ports.read().split()

        ports = wait_until(ports_written, 30, "foxpoold's port file")
        self.address = f"127.0.0.1:{ports[0]}"
        self.metrics_port = int(ports[1])
        self.metadata = metadata
        self.channel = (grpc.secure_channel(self.address, credentials) if credentials
                        else grpc.insecure_channel(self.address))
        self.stub = rpc.BrowserPoolStub(self.channel)
        if wait_for_windows:
            wait_until(lambda: self.status().idle >= pool_size, 90, f"{pool_size} idle windows")

    def status(self):
        return self.stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=10,
                                       metadata=self.metadata)

    def healthz(self):
        """(HTTP status, body) of /healthz on the metrics port."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz",
                                        timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def counters(self, family):
        """{reason: value} of the counter `family` (labelled by reason) in /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as reply:
            text = reply.read().decode()
        by_reason = {}
        for line in text.splitlines():
            if line.startswith(family + "{"):
                series, value = line.rsplit(" ", 1)
                by_reason[series.split('reason="')[1].split('"')[0]] = float(value)
        return by_reason

    def hub_refusals(self):
        """{reason: count} of foxpool_hub_connections_refused_total."""
        return self.counters("foxpool_hub_connections_refused_total")

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def stop(self):
        """SIGTERM; returns the exit code. Removes the temporary directory."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        leftovers = os.listdir(self.profiles) if os.path.isdir(self.profiles) else []
        self.tmp.cleanup()
        assert leftovers == [], f"profiles left behind: {leftovers}"
        return code


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps quiet: no access log, and no traceback
    when the browser hangs up first (a refused WebSocket, a cancelled load)."""

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def serve(handler, server_class=http.server.ThreadingHTTPServer, daemon_threads=False):
    """Runs a `server_class` with `handler` on 127.0.0.1 (a port the OS
    picks), from a daemon thread; stop it with stop_serving."""
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = daemon_threads
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_serving(server):
    server.shutdown()
    server.server_close()


def free_port():
    """A loopback port nobody listens on (the OS's pick, let go at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Pages:
    """Serves fixed pages on 127.0.0.1: {path: (content_type, bytes)}."""

    def __init__(self, pages):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", page[0])
                self.send_header("Content-Length", str(len(page[1])))
                self.end_headers()
                self.wfile.write(page[1])

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        stop_serving(self.server)


class CommandTestCase(unittest.TestCase):
    """Assertions shared by the command tests."""

    def assert_rpc_error(self, code, call, *fragments):
        """`call()` fails with `code` and a message holding every fragment;
        returns the message."""
        with self.assertRaises(grpc.RpcError) as raised:
            call()
        details = raised.exception.details()
        self.assertEqual(raised.exception.code(), code, details)
        for fragment in fragments:
            self.assertIn(fragment, details)
        return details
