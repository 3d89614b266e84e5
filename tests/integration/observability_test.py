#!/usr/bin/python3
"""Metrics, the status page and logs of a real foxpoold with real Firefox.

Usage: observability_test.py FOXPOOLD_BINARY SOURCE_DIR (PYTHONPATH must
reach the generated stubs). Needs promtool and prometheus (Debian package
prometheus) and PIL (python3-pil).
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

import grpc
from PIL import Image

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, die_with_parent, free_port, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "deploy"))
from check_deploy import EXPORTED  # noqa: E402  (the names deploy/ relies on)

# The status page's colours for leased and idle windows (server/status_page.cc),
# and the size of a window's box on it (the legend adds a few such pixels).
LEASED = (0x15, 0x65, 0xC0)
IDLE = (0x2E, 0x7D, 0x32)
BOX = 64 * 40


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
        return reply.status, reply.headers.get("Content-Type"), reply.read().decode()


def samples(text):
    """{series: value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def acquire(foxpoold, **labels):
    return foxpoold.stub.Acquire(pb.AcquireRequest(labels=labels), timeout=60)


def release(foxpoold, lease):
    foxpoold.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10)


def pixels_near(image, colour, tolerance=4):
    return sum(count for count, rgb in image.getcolors(image.width * image.height)
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, colour)))


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.foxpoold = Foxpoold(FOXPOOLD, pool_size=2)

    def tearDown(self):
        self.assertEqual(self.foxpoold.stop(), 0)

    def scrape(self):
        status, content_type, text = http_get(self.foxpoold.metrics_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        return text

    def test_a_live_scrape_passes_promtool_and_counts_what_happened(self):
        lease = acquire(self.foxpoold)
        self.foxpoold.stub.Evaluate(pb.EvaluateRequest(lease_id=lease.lease_id,
                                                       expression="1 + 1"), timeout=30)
        with self.assertRaises(grpc.RpcError) as missing:
            self.foxpoold.stub.GetTitle(pb.GetTitleRequest(lease_id="0" * 32), timeout=10)
        self.assertEqual(missing.exception.code(), grpc.StatusCode.NOT_FOUND)
        held = acquire(self.foxpoold)  # The second window: none is idle now.
        with self.assertRaises(grpc.RpcError) as refused:
            self.foxpoold.stub.Acquire(
                pb.AcquireRequest(max_wait={"nanos": 1000000}, fail_fast=True), timeout=30)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        text = self.scrape()
        checked = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                                 capture_output=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

        now = samples(text)
        self.assertEqual(now['foxpool_windows{state="leased"}'], 2)
        self.assertEqual(now['foxpool_windows{state="idle"}'], 0)
        self.assertEqual(now["foxpool_windows_started_total"], 2)
        self.assertEqual(now["foxpool_acquire_wait_seconds_count"], 2)
        self.assertEqual(now['foxpool_acquire_rejected_total{reason="wait_too_long"}'], 1)
        self.assertEqual(now['foxpool_commands_total{code="OK"}'], 1)
        self.assertEqual(now['foxpool_commands_total{code="NOT_FOUND"}'], 1)
        self.assertEqual(now['foxpool_command_duration_seconds_count{code="OK",method="evaluate"}'],
                         1)
        self.assertEqual(now["foxpool_pool_max_windows"], 2)
        self.assertGreater(now["foxpool_window_start_seconds_sum"], 0.1)

        # Memory: each window's whole process group, sampled every 5 s.
        text = wait_until(lambda: (lambda t: t if 'window="w2"' in t else None)(self.scrape()),
                          15, "per-window memory series")
        now = samples(text)
        per_window = [v for k, v in now.items() if k.startswith("foxpool_window_memory_pss_bytes")]
        self.assertEqual(len(per_window), 2)
        for pss in per_window:
            self.assertGreater(pss, 50 << 20)  # A Firefox is never this small.
        self.assertAlmostEqual(now["foxpool_windows_memory_pss_bytes"], sum(per_window))
        self.assertGreater(now["foxpool_server_resident_memory_bytes"], 1 << 20)
        self.assertGreater(now["foxpool_system_memory_used_ratio"], 0)

        release(self.foxpoold, lease)
        release(self.foxpoold, held)
        wait_until(lambda: self.foxpoold.status().idle == 2, 30, "both windows idle again")
        now = samples(self.scrape())
        self.assertEqual(now['foxpool_leases_ended_total{reason="released"}'], 2)
        self.assertEqual(now["foxpool_window_reset_seconds_count"], 2)
        self.assertEqual(now["foxpool_lease_duration_seconds_count"], 2)

        # Every metric the dashboard and the alert rules use is exported.
        self.assertEqual(EXPORTED - families(self.scrape()), set())

    def test_the_status_page_renders_pool_and_leases_in_firefox(self):
        holder = acquire(self.foxpoold, team="<script>alert(1)</script>", job="crawl")
        viewer = acquire(self.foxpoold)
        status_url = f"http://127.0.0.1:{self.foxpoold.metrics_port}/status"

        # The JSON view first: the same facts the page shows.
        _, content_type, body = http_get(self.foxpoold.metrics_port, "/status.json")
        self.assertEqual(content_type, "application/json")
        status = json.loads(body)
        self.assertEqual(status["pool"]["leased"], 2)
        leases = {lease["window"]: lease for lease in status["leases"]}
        self.assertEqual(leases[holder.window_id]["labels"]["job"], "crawl")
        self.assertEqual(leases[holder.window_id]["lease"], holder.lease_id[:8])
        self.assertNotIn(holder.lease_id, body)  # Lease ids are credentials.

        def look():
            self.foxpoold.stub.Navigate(pb.NavigateRequest(lease_id=viewer.lease_id,
                                                           url=status_url), timeout=30)
            shot = self.foxpoold.stub.Screenshot(pb.ScreenshotRequest(lease_id=viewer.lease_id),
                                                 timeout=30)
            return Image.open(io.BytesIO(shot.image)).convert("RGB")

        # Both windows leased: two blue boxes, no green one.
        image = look()
        self.assertGreater(pixels_near(image, LEASED), 2 * 0.9 * BOX)
        self.assertLess(pixels_near(image, IDLE), 0.5 * BOX)
        title = self.foxpoold.stub.GetTitle(pb.GetTitleRequest(lease_id=viewer.lease_id),
                                            timeout=10).title
        self.assertEqual(title, "foxpool status")
        # The label was shown as text, not run as a script.
        found = self.foxpoold.stub.Evaluate(pb.EvaluateRequest(
            lease_id=viewer.lease_id,
            expression="[document.querySelectorAll('script').length,"
                       " document.querySelector('#leases').textContent.includes('job=crawl'),"
                       " document.querySelector('#leases').textContent.includes('<script>')]"),
            timeout=10)
        self.assertEqual(json.loads(found.result_json), [0, True, True])

        # The holder lets go: one box turns green.
        release(self.foxpoold, holder)
        wait_until(lambda: self.foxpoold.status().idle == 1, 30, "the released window idle")
        image = look()
        self.assertGreater(pixels_near(image, IDLE), 0.9 * BOX)
        self.assertGreater(pixels_near(image, LEASED), 0.9 * BOX)
        self.assertLess(pixels_near(image, LEASED), 1.5 * BOX)
        release(self.foxpoold, viewer)

    def test_the_endpoint_refuses_what_it_does_not_serve(self):
        port = self.foxpoold.metrics_port
        with self.assertRaises(urllib.error.HTTPError) as missing:
            http_get(port, "/nothing")
        self.assertEqual(missing.exception.code, 404)
        post = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", data=b"x")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(post, timeout=10)
        self.assertEqual(refused.exception.code, 405)


class PrometheusServerTest(unittest.TestCase):
    """A real Prometheus scrapes foxpool every second and evaluates deploy/'s rules."""

    def setUp(self):
        self.foxpoold = Foxpoold(FOXPOOLD, pool_size=2)
        self.tmp = tempfile.TemporaryDirectory(prefix="foxpool-prometheus-")
        config = os.path.join(self.tmp.name, "prometheus.yml")
        rules = os.path.abspath(os.path.join(SOURCE_DIR, "deploy", "prometheus", "alerts.yml"))
        with open(config, "w") as out:
            out.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
  - job_name: foxpool
    static_configs:
      - targets: ["127.0.0.1:{self.foxpoold.metrics_port}"]
""")
        self.port = free_port()  # For Prometheus's own API.
        self.log = open(os.path.join(self.tmp.name, "prometheus.log"), "wb")
        self.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={self.tmp.name}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        wait_until(self.ready, 60, "Prometheus ready")

    def tearDown(self):
        self.prometheus.terminate()
        self.prometheus.wait(timeout=30)
        self.log.close()
        self.tmp.cleanup()
        self.assertEqual(self.foxpoold.stop(), 0)

    def ready(self):
        try:
            return http_get(self.port, "/-/ready")[0] == 200
        except OSError:
            self.assertIsNone(self.prometheus.poll(), "Prometheus exited")
            return False

    def api(self, path, **params):
        query = urllib.parse.urlencode(params)
        body = json.loads(http_get(self.port, f"/api/v1/{path}?{query}")[2])
        self.assertEqual(body["status"], "success", body)
        return body["data"]

    def value(self, query):
        result = self.api("query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    def alert_state(self, name):
        for alert in self.api("alerts")["alerts"]:
            if alert["labels"]["alertname"] == name:
                return alert["state"]
        return None

    def test_prometheus_sees_leases_and_the_queue_move(self):
        # The rules in deploy/ load and evaluate against the real series.
        wait_until(lambda: self.value('up{job="foxpool"}') == 1, 30, "a first scrape")
        groups = self.api("rules")["groups"]
        self.assertEqual({rule["health"] for group in groups for rule in group["rules"]}, {"ok"})
        self.assertEqual(self.value('foxpool_windows{state="leased"}'), 0)

        held = [acquire(self.foxpoold), acquire(self.foxpoold)]
        waited = []

        def waiter():
            waited.append(self.foxpoold.stub.Acquire(pb.AcquireRequest(), timeout=120))

        waiters = [threading.Thread(target=waiter) for _ in range(3)]
        for thread in waiters:
            thread.start()
        wait_until(lambda: self.value("foxpool_acquire_queue_depth") == 3, 30,
                   "Prometheus to see 3 callers queued")
        self.assertEqual(self.value('foxpool_windows{state="leased"}'), 2)
        self.assertGreater(self.value("foxpool_acquire_oldest_wait_seconds"), 0)
        wait_until(lambda: self.alert_state("FoxpoolPoolExhausted") == "pending", 30,
                   "FoxpoolPoolExhausted pending while no window is idle")

        for lease in held:
            release(self.foxpoold, lease)
        # Two waiters get the windows; the third waits for one of them.
        wait_until(lambda: len(waited) == 2, 60, "two waiters served")
        release(self.foxpoold, waited[0])
        wait_until(lambda: len(waited) == 3, 60, "the third waiter served")
        for lease in waited[1:]:
            release(self.foxpoold, lease)
        for thread in waiters:
            thread.join(timeout=30)
        wait_until(lambda: self.value('foxpool_windows{state="idle"}') == 2, 60,
                   "Prometheus to see both windows idle again")
        self.assertEqual(self.value("foxpool_acquire_queue_depth"), 0)
        self.assertEqual(self.value("foxpool_acquire_wait_seconds_count"), 5)
        self.assertGreaterEqual(self.value(
            "histogram_quantile(0.99, foxpool_acquire_wait_seconds_bucket)"), 0.0005)
        wait_until(lambda: self.alert_state("FoxpoolPoolExhausted") is None, 30,
                   "FoxpoolPoolExhausted to clear")


class LogsTest(unittest.TestCase):
    def test_json_logs_tie_each_lease_line_to_lease_window_and_session(self):
        foxpoold = Foxpoold(FOXPOOLD, pool_size=1,
                            flags=["--log_format=json", "--observability=complete"])
        try:
            secrets = []
            for root, _, files in os.walk(foxpoold.profiles):
                if "config.json" in files:
                    with open(os.path.join(root, "config.json")) as config:
                        secrets.append(json.load(config)["secret"])
            self.assertEqual(len(secrets), 1)
            lease = acquire(foxpoold)
            foxpoold.stub.Evaluate(pb.EvaluateRequest(lease_id=lease.lease_id,
                                                      expression="6 * 7"), timeout=30)
            release(foxpoold, lease)
            wait_until(lambda: foxpoold.status().idle == 1, 30, "the window idle again")
            log = foxpoold.log()
        finally:
            self.assertEqual(foxpoold.stop(), 0)
        lines = [json.loads(line) for line in log.splitlines() if line.strip()]
        for line in lines:
            self.assertTrue({"ts", "level", "msg"} <= line.keys(), line)
        about_lease = [line for line in lines if "lease" in line]
        messages = [line["msg"] for line in about_lease]
        self.assertTrue(any(m.startswith("lease granted") for m in messages), messages)
        self.assertTrue(any(m.startswith("command evaluate ok") for m in messages), messages)
        self.assertTrue(any(m.startswith("lease ended (released)") for m in messages), messages)
        for line in about_lease:
            self.assertEqual(line["lease"], lease.lease_id[:8])
            self.assertEqual(line["window"], lease.window_id)
            self.assertRegex(line["session"], r"^[0-9a-f]{16,}$")
        self.assertNotIn(lease.lease_id, log)
        self.assertNotIn(secrets[0], log)

    def test_basic_observability_keeps_to_pool_level_series_and_logs(self):
        foxpoold = Foxpoold(FOXPOOLD, pool_size=1, flags=["--observability=basic"])
        try:
            lease = acquire(foxpoold)
            foxpoold.stub.Evaluate(pb.EvaluateRequest(lease_id=lease.lease_id,
                                                      expression="1"), timeout=30)
            release(foxpoold, lease)
            text = http_get(foxpoold.metrics_port, "/metrics")[2]
            log = foxpoold.log()
        finally:
            self.assertEqual(foxpoold.stop(), 0)
        self.assertIn("foxpool_commands_total", text)
        self.assertIn("foxpool_windows_memory_pss_bytes", text)
        self.assertNotIn("foxpool_command_duration_seconds", text)
        self.assertNotIn("foxpool_window_memory_pss_bytes", text)
        self.assertNotIn("lease granted", log)
        self.assertIn("window w1 ready", log)


if __name__ == "__main__":
    unittest.main()
