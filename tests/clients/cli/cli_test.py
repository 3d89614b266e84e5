#!/usr/bin/python3
"""The `foxpool` command-line client against a real foxpoold (two windows)
and pages served on 127.0.0.1: batch results, retries, screenshots,
progress and interrupts, and the one-shot commands.

Usage: cli_test.py FOXPOOL_BINARY FOXPOOLD_BINARY
(PYTHONPATH must reach the generated stubs and tests/integration/foxpoold.py).
"""
import http.server
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import zlib

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, free_port, serve, stop_serving, wait_until

FOXPOOL = sys.argv.pop(1) if len(sys.argv) > 2 else "build-cli/clients/cli/foxpool"
FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"

EVAL = '({h1: document.querySelector("h1").textContent, items: document.querySelectorAll("li").length})'


class PageServer:
    """Page N (/page/N) has the title "Page N", a heading and N list items;
    ?delay=MS answers after that long. /hang answers once release() is called."""

    def __init__(self):
        self.released = threading.Event()
        released = self.released

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                delay = urllib.parse.parse_qs(query).get("delay")
                if delay:
                    time.sleep(int(delay[0]) / 1000)
                if path == "/hang":
                    released.wait(120)
                    body = b"<!doctype html><title>Late</title><h1>late</h1>"
                elif path.startswith("/page/"):
                    n = int(path[len("/page/"):])
                    items = "".join(f"<li>{i}</li>" for i in range(n))
                    body = (f"<!doctype html><title>Page {n}</title><h1>Heading {n}</h1>"
                            f"<ul>{items}</ul>").encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = serve(Handler, daemon_threads=True)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, n, delay_ms=0):
        return f"{self.base}/page/{n}" + (f"?delay={delay_ms}" if delay_ms else "")

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        stop_serving(self.server)


def check_png(test, path):
    """`path` is a whole PNG: every chunk's CRC holds and its pixels
    decompress to width x height. Returns (width, height)."""
    with open(path, "rb") as file:
        data = file.read()
    test.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", path)
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        test.assertEqual(zlib.crc32(kind + body), crc, f"{path}: {kind} chunk CRC")
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        pos += 12 + length
    test.assertEqual(chunks[0], b"IHDR")
    test.assertEqual(chunks[-1], b"IEND")
    test.assertEqual(depth, 8)
    channels = {2: 3, 6: 4}[color]
    test.assertGreater(width, 100)
    test.assertGreater(height, 100)
    test.assertEqual(len(zlib.decompress(idat)), height * (1 + width * channels))
    return width, height


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pages = PageServer()
        cls.server = Foxpoold(FOXPOOLD, pool_size=2)

    @classmethod
    def tearDownClass(cls):
        cls.pages.close()
        assert cls.server.stop() == 0

    def setUp(self):
        # Each test starts with both windows idle (a test before may have
        # left one loading a page it gave up on).
        wait_until(lambda: self.server.status().idle == 2, 120, "two idle windows")
        self.tmp = tempfile.TemporaryDirectory(prefix="foxpool-cli-test-")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def command(self, *args):
        return [FOXPOOL, f"--address={self.server.address}", *args]

    def run_cli(self, *args, stdin=None, timeout=180):
        return subprocess.run(self.command(*args), input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def write_list(self, lines):
        path = self.path("urls.txt")
        with open(path, "w") as file:
            file.write("\n".join(lines) + "\n")
        return path

    def leases(self):
        return list(self.server.stub.ListLeases(pb.ListLeasesRequest(), timeout=10).leases)

    def assert_every_lease_released(self):
        self.assertEqual(self.leases(), [])

    def leases_ended(self):
        url = f"http://127.0.0.1:{self.server.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("foxpool_leases_ended_total"))

    def read_results(self, path):
        with open(path) as file:
            text = file.read()
        self.assertTrue(text == "" or text.endswith("\n"), "a line was cut short")
        return [json.loads(line) for line in text.splitlines()]

    # ------------------------------------------------------------- batch ---

    def test_batch_writes_a_result_line_per_url_reusing_two_windows(self):
        pages = {self.pages.page(n): n for n in range(1, 9)}
        refused = f"http://127.0.0.1:{free_port()}/"
        refused_scheme = "file:///etc/hostname"
        urls = list(pages) + [refused, refused_scheme]
        listed = ["# the test's pages", ""] + urls[:5] + ["  ", "# more"] + urls[5:]
        shots = self.path("shots")
        results = self.path("results.jsonl")
        ended_before = self.leases_ended()

        done = self.run_cli("batch", self.write_list(listed), "--concurrency", "2",
                            "--eval", EVAL, "--screenshot-dir", shots, "--output", results,
                            "--progress_interval=100ms")

        self.assertEqual(done.returncode, 1, done.stderr)  # Some failed.
        lines = self.read_results(results)
        self.assertEqual(sorted(line["url"] for line in lines), sorted(urls))
        by_url = {line["url"]: line for line in lines}
        widths = set()
        for url, n in pages.items():
            line = by_url[url]
            self.assertTrue(line["ok"], line)
            self.assertEqual(line["final_url"], url)
            self.assertEqual(line["title"], f"Page {n}")
            self.assertEqual(line["result"], {"h1": f"Heading {n}", "items": n})
            self.assertIsNone(line["error"])
            self.assertEqual(line["attempts"], 1)
            self.assertGreaterEqual(line["ms"], 0)
            self.assertEqual(os.path.dirname(line["screenshot"]), shots)
            widths.add(check_png(self, line["screenshot"]))
        self.assertEqual(len(widths), 1, "every viewport screenshot has the same size")
        self.assertEqual(len(os.listdir(shots)), len(pages))

        # A page that cannot load is retried (UNAVAILABLE), a refused URL is not.
        line = by_url[refused]
        self.assertFalse(line["ok"])
        self.assertEqual(line["error"]["code"], "UNAVAILABLE")
        self.assertIn("NS_ERROR_CONNECTION_REFUSED", line["error"]["message"])
        self.assertEqual(line["attempts"], 3)
        self.assertIsNone(line["title"])
        self.assertIsNone(line["screenshot"])
        line = by_url[refused_scheme]
        self.assertFalse(line["ok"])
        self.assertEqual(line["error"]["code"], "INVALID_ARGUMENT")
        self.assertEqual(line["attempts"], 1)

        # Plain progress lines (stderr is not a terminal), then the summary.
        progress = re.findall(r"^foxpool batch: (\d+)/10 done", done.stderr, re.M)
        self.assertGreaterEqual(len(progress), 1, done.stderr)
        self.assertEqual(progress[-1], "10")
        self.assertNotIn("\x1b[K", done.stderr)  # No bar drawn.
        self.assertRegex(done.stderr, r"foxpool batch: 10 URLs in \d+:\d\d, 8 ok, 2 failed, "
                                      r"1 retried, [\d.]+ URLs/s")

        # Two windows did all the work: one lease per worker, each released.
        self.assert_every_lease_released()
        wait_until(lambda: self.leases_ended() - ended_before >= 2, 10, "leases counted")
        self.assertEqual(self.leases_ended() - ended_before, 2)

    def test_batch_reads_stdin_writes_stdout_and_draws_a_bar_on_a_terminal(self):
        urls = [self.pages.page(n) for n in (2, 3, 4)]
        master, slave = pty.openpty()
        drawn = []

        def read_terminal():
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the last writer has gone.
                    return
                if not chunk:
                    return
                drawn.append(chunk)

        reader = threading.Thread(target=read_terminal)
        reader.start()
        try:
            with subprocess.Popen(self.command("batch", "-", "--concurrency=2"),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave,
                                  text=True) as process:
                os.close(slave)
                out, _ = process.communicate("\n".join(urls) + "\n", timeout=120)
            reader.join(30)
        finally:
            os.close(master)
        self.assertEqual(process.returncode, 0)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(sorted(line["url"] for line in lines), sorted(urls))
        self.assertTrue(all(line["ok"] for line in lines))
        self.assertEqual({line["title"] for line in lines}, {"Page 2", "Page 3", "Page 4"})
        terminal = b"".join(drawn).decode()
        self.assertIn("\r[", terminal)  # Redrawn in place...
        self.assertIn("\x1b[K", terminal)
        self.assertRegex(terminal, r"\[#+\]  3/3  100%")  # ...until full.
        self.assertIn("3 URLs in", terminal)
        self.assert_every_lease_released()

    def start_batch(self, urls, *flags):
        results = self.path("results.jsonl")
        stderr = open(self.path("stderr.txt"), "w+")
        self.addCleanup(stderr.close)
        process = subprocess.Popen(
            self.command("batch", self.write_list(urls), "--concurrency=2", "--output", results,
                         *flags), stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process, results, stderr

    def lines_in(self, path):
        if not os.path.exists(path):
            return 0
        with open(path) as file:
            return file.read().count("\n")

    def test_an_interrupted_batch_lets_urls_in_flight_finish_and_keeps_its_results(self):
        urls = [self.pages.page(n, delay_ms=400) for n in range(1, 31)]
        process, results, stderr = self.start_batch(urls)
        wait_until(lambda: self.lines_in(results) >= 2, 120, "two result lines")
        process.send_signal(signal.SIGINT)
        written_then = self.lines_in(results)
        self.assertEqual(process.wait(timeout=60), 130)

        lines = self.read_results(results)
        # No URL was started after the signal; the (at most two) in flight
        # finished. (+1: one may have ended between the signal and its effect.)
        self.assertGreaterEqual(len(lines), written_then)
        self.assertLessEqual(len(lines), written_then + 3)
        self.assertLess(len(lines), len(urls))
        self.assertEqual(len({line["url"] for line in lines}), len(lines))
        for line in lines:
            self.assertIn(line["url"], urls)
            self.assertTrue(line["ok"], line)
        stderr.seek(0)
        log = stderr.read()
        self.assertRegex(log, rf"foxpool batch: {len(lines)} URLs in .*, {len(lines)} ok, 0 failed")
        self.assertIn(f"interrupted; {len(urls) - len(lines)} of {len(urls)} URLs not done", log)
        self.assert_every_lease_released()

    def test_urls_that_do_not_finish_within_the_grace_are_cancelled(self):
        self.pages.released.clear()
        hang = f"{self.pages.base}/hang"
        urls = [self.pages.page(1), self.pages.page(2), hang, hang + "?2"]
        urls += [self.pages.page(n) for n in range(3, 9)]
        process, results, stderr = self.start_batch(urls, "--grace=1s")
        wait_until(lambda: self.lines_in(results) >= 2, 120, "the first two result lines")
        # Both workers are now waiting for pages that do not come.
        wait_until(lambda: sum(lease.commands_in_flight for lease in self.leases()) == 2, 60,
                   "two navigations in flight")
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            self.assertEqual(process.wait(timeout=60), 130)
            self.assertLess(time.monotonic() - signalled, 10)
            lines = self.read_results(results)
            self.assertEqual(len(lines), 4)
            by_url = {line["url"]: line for line in lines}
            self.assertTrue(by_url[urls[0]]["ok"] and by_url[urls[1]]["ok"])
            for url in (hang, hang + "?2"):
                self.assertFalse(by_url[url]["ok"])
                self.assertEqual(by_url[url]["error"]["code"], "CANCELLED")
                self.assertEqual(by_url[url]["attempts"], 1)
            self.assert_every_lease_released()
        finally:
            self.pages.release()  # The windows finish those loads and come back.

    # ---------------------------------------------------------- one-shots ---

    def test_status_and_health(self):
        done = self.run_cli("status")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("serving", done.stdout)
        self.assertIn("2 idle, 0 leased", done.stdout)
        self.assertIn("pool size 2", done.stdout)
        done = self.run_cli("status", "--json")
        status = json.loads(done.stdout)
        self.assertEqual((status["idle"], status["leased"], status["target_size"]), (2, 0, 2))
        self.assertFalse(status["draining"])

        for service in ([], ["--service=foxpool.v1.BrowserPool"]):
            done = self.run_cli("health", *service)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, "SERVING\n")
        done = self.run_cli("health", "--service=no.such.Service")
        self.assertEqual(done.returncode, 1)
        self.assertIn("NOT_FOUND", done.stderr)
        done = subprocess.run([FOXPOOL, "health", f"--address=127.0.0.1:{free_port()}",
                               "--timeout=5s"], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1)
        self.assertIn("cannot ask", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_eval_navigate_and_screenshot_lease_a_window_each_time(self):
        done = self.run_cli("eval", "6 * 7")
        self.assertEqual((done.returncode, done.stdout), (0, "42\n"), done.stderr)
        done = self.run_cli("eval", "[document.title, location.pathname]",
                            "--url", self.pages.page(3))
        self.assertEqual(json.loads(done.stdout), ["Page 3", "/page/3"])
        self.assert_every_lease_released()

        done = self.run_cli("eval", "(() => { throw new Error('boom') })()")
        self.assertEqual(done.returncode, 1)
        self.assertIn("UNKNOWN", done.stderr)
        self.assertIn("boom", done.stderr)
        self.assert_every_lease_released()

        done = self.run_cli("navigate", self.pages.page(4))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("title   Page 4", done.stdout)
        self.assertIn("status  200", done.stdout)
        done = self.run_cli("navigate", self.pages.page(4), "--json")
        page = json.loads(done.stdout)
        self.assertEqual((page["url"], page["title"], page["http_status"]),
                         (self.pages.page(4), "Page 4", 200))
        done = self.run_cli("navigate", f"http://127.0.0.1:{free_port()}/")
        self.assertEqual(done.returncode, 1)
        self.assertIn("UNAVAILABLE", done.stderr)
        self.assert_every_lease_released()

        png = self.path("page.png")
        done = self.run_cli("screenshot", self.pages.page(5), "--output", png)
        self.assertEqual(done.returncode, 0, done.stderr)
        check_png(self, png)
        self.assert_every_lease_released()

    def test_an_interrupted_one_shot_still_releases_its_window(self):
        self.pages.released.clear()
        process = subprocess.Popen(self.command("navigate", f"{self.pages.base}/hang"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: [lease.commands_in_flight for lease in self.leases()] == [1], 60,
                       "the navigation in flight")
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
            self.assertEqual(process.returncode, 130)
            self.assertIn("foxpool navigate: interrupted", err)
            self.assert_every_lease_released()
        finally:
            if process.poll() is None:
                process.kill()
            self.pages.release()

    def test_acquire_then_commands_on_that_lease_then_release(self):
        done = self.run_cli("acquire", "--idle_timeout=2m")
        self.assertEqual(done.returncode, 0, done.stderr)
        lease = done.stdout.splitlines()[0]
        self.assertRegex(lease, r"^[0-9a-f]{32}$")
        self.assertIn("2m", done.stderr)
        held = self.leases()
        self.assertEqual(len(held), 1)
        self.assertEqual(held[0].lease_id_prefix, lease[:8])
        self.assertEqual(held[0].labels["command"], "acquire")
        self.assertEqual(held[0].idle_timeout.seconds, 120)

        done = self.run_cli("navigate", self.pages.page(6), f"--lease={lease}")
        self.assertEqual(done.returncode, 0, done.stderr)
        done = self.run_cli("eval", "document.title", "--lease", lease)
        self.assertEqual(done.stdout, '"Page 6"\n')  # The same window, kept.
        self.assertEqual(len(self.leases()), 1)

        done = self.run_cli("release", lease)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_every_lease_released()
        done = self.run_cli("eval", "1", "--lease", lease)
        self.assertEqual(done.returncode, 1)

        done = self.run_cli("acquire", "--json")
        acquired = json.loads(done.stdout)
        self.assertGreater(acquired["idle_timeout_ms"], 0)
        self.assertEqual(self.run_cli("release", acquired["lease_id"]).returncode, 0)
        self.assert_every_lease_released()

    def test_usage_errors_exit_2(self):
        for args, says in (
                ([], "no command"),
                (["fly"], 'unknown command "fly"'),
                (["navigate"], "missing arguments; usage: foxpool navigate URL"),
                (["release", "a", "b"], "too many arguments"),
                (["screenshot", self.pages.page(1)], "--output"),
                (["status", "--colour"], "unknown flag --colour"),
                (["status", "--timeout=30"], "--timeout"),
                (["batch", "urls.txt", "--retries=-1"], "--retries"),
                (["batch", "urls.txt", "--progress=fancy"], "--progress"),
                (["batch", self.path("missing.txt")], "missing.txt")):
            done = self.run_cli(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(says, done.stderr, args)
        done = self.run_cli("--help")
        self.assertEqual(done.returncode, 0)
        self.assertIn("foxpool batch LIST", done.stdout)
        self.assertIn("--concurrency", done.stdout)
        self.assert_every_lease_released()


if __name__ == "__main__":
    unittest.main()
