#!/usr/bin/python3
"""Checks the Prometheus and Grafana files under deploy/.

Run:  /usr/bin/python3 tests/deploy/check_deploy.py SOURCE_DIR [unittest args]

SOURCE_DIR is the root of the foxpool source tree (it defaults to the tree this
file lives in). Anything after it is passed on to unittest (e.g. -v, or the
name of one test).

What is checked:
  * promtool check rules deploy/prometheus/alerts.yml and
    promtool check config deploy/prometheus/prometheus.yml exit 0;
  * promtool test rules tests/deploy/alerts_test.yml passes (the alerts fire
    when they should and stay quiet when they should not);
  * deploy/grafana/foxpool-dashboard.json is valid JSON with uid and title,
    unique panel ids, a gridPos for every panel (24 wide, no overlaps), the
    ${datasource} datasource and an instance=~"$instance" filter on every query,
    and an expr in every target;
  * every foxpool_* metric named in the dashboard and in the alert rules is one
    the server exports (EXPORTED below), and EXPORTED names exactly the
    families server/*.cc registers (.Name("foxpool_...")).

Only the standard library is required. PyYAML (Debian: python3-yaml) is used
when available for the extra structural checks of the YAML files; without it
those checks are skipped and promtool alone validates the YAML.

The module can be imported (e.g. by the integration test, for EXPORTED); the
tests only run under __main__.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

try:
    import yaml  # Debian package python3-yaml
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

# Every metric family the foxpool server exports on /metrics (histograms by
# their base name, without _bucket/_count/_sum). The integration test checks
# this list against a live scrape of a running server, so the dashboard and
# alert rules checked here only use metrics that really exist.
EXPORTED = frozenset({
    "foxpool_windows",
    "foxpool_pool_min_windows",
    "foxpool_pool_max_windows",
    "foxpool_acquire_queue_depth",
    "foxpool_acquire_queue_limit",
    "foxpool_acquire_oldest_wait_seconds",
    "foxpool_acquire_expected_wait_seconds",
    "foxpool_acquire_rejected_total",
    "foxpool_acquire_wait_seconds",
    "foxpool_lease_duration_seconds",
    "foxpool_leases_ended_total",
    "foxpool_leases_expired_total",
    "foxpool_commands_total",
    "foxpool_command_duration_seconds",
    "foxpool_commands_in_flight",
    "foxpool_command_limit",
    "foxpool_commands_queued",
    "foxpool_window_start_seconds",
    "foxpool_window_reset_seconds",
    "foxpool_windows_started_total",
    "foxpool_windows_crashed_total",
    "foxpool_windows_recycled_total",
    "foxpool_window_memory_pss_bytes",
    "foxpool_windows_memory_pss_bytes",
    "foxpool_server_resident_memory_bytes",
    "foxpool_system_memory_used_bytes",
    "foxpool_system_memory_limit_bytes",
    "foxpool_system_memory_used_ratio",
    "foxpool_memory_threshold_ratio",
    "foxpool_memory_pressure",
    "foxpool_draining",
    "foxpool_drain_deadline_timestamp_seconds",
    "foxpool_build_info",
    "foxpool_start_time_seconds",
    "foxpool_hub_connections_refused_total",
    "foxpool_windows_retiring",
    "foxpool_pool_desired_windows",
    "foxpool_window_start_failures_consecutive",
    "foxpool_profile_restores_total",
    "foxpool_auth_failures_total",
    "foxpool_requests_blocked_total",
})

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

ALERTS = "deploy/prometheus/alerts.yml"
PROMETHEUS_CONFIG = "deploy/prometheus/prometheus.yml"
ALERTS_TEST = "tests/deploy/alerts_test.yml"
DASHBOARD = "deploy/grafana/foxpool-dashboard.json"
GRAFANA_DATASOURCE = "deploy/grafana/provisioning/datasources/prometheus.yml"
GRAFANA_DASHBOARDS = "deploy/grafana/provisioning/dashboards/foxpool.yml"

# Alerts that must exist in alerts.yml.
EXPECTED_ALERTS = frozenset({
    "FoxpoolPoolExhausted",
    "FoxpoolQueueWaitHigh",
    "FoxpoolQueueOldestWaiterHigh",
    "FoxpoolRejectingAcquires",
    "FoxpoolWindowCrashLoop",
    "FoxpoolNoWindowReady",
    "FoxpoolMemoryPressure",
    "FoxpoolDown",
})

METRIC_RE = re.compile(r"\bfoxpool_[a-z0-9_]+")

GRID_WIDTH = 24

# Set from argv under __main__; importers may set it themselves.
SOURCE_DIR = os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def metric_names(text):
    """The foxpool_* names that occur in text."""
    return set(METRIC_RE.findall(text))


def base_name(name):
    """name without a histogram suffix when that gives an exported family."""
    if name in EXPORTED:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in EXPORTED:
            return name[: -len(suffix)]
    return name


def unknown_metrics(names):
    """The names in names that are not exported metrics (nor their histogram series)."""
    return sorted(n for n in names if base_name(n) not in EXPORTED)


def iter_panels(panels):
    """Every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def path(rel):
    return os.path.join(SOURCE_DIR, rel)


def source_matches(root, pattern, *directories):
    """The set of what regex `pattern` (one group) matches in the .cc files
    of `directories` under the source tree `root`."""
    found = set()
    for directory in directories:
        for file in glob.glob(os.path.join(root, directory, "*.cc")):
            with open(file, encoding="utf-8") as f:
                found.update(re.findall(pattern, f.read()))
    return found


def read(rel):
    with open(path(rel), encoding="utf-8") as f:
        return f.read()


def promtool():
    return os.environ.get("PROMTOOL") or shutil.which("promtool") or "/usr/bin/promtool"


def run_promtool(*args):
    """Runs promtool in SOURCE_DIR; returns (exit code, combined output)."""
    tool = promtool()
    if not os.path.exists(tool) and shutil.which(tool) is None:
        raise AssertionError(f"promtool not found ({tool}); install prometheus or set PROMTOOL")
    proc = subprocess.run([tool, *args], cwd=SOURCE_DIR, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    return proc.returncode, proc.stdout


def strip_yaml_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


class ExportedTest(unittest.TestCase):
    def test_exported_is_what_the_server_registers(self):
        registered = source_matches(SOURCE_DIR, r'\.Name\("(foxpool_\w+)"\)', "server")
        self.assertGreater(len(registered), 10, "no metric families found in server/*.cc")
        self.assertEqual(sorted(registered - EXPORTED), [], "registered, missing from EXPORTED")
        self.assertEqual(sorted(EXPORTED - registered), [], "in EXPORTED, registered nowhere")


class PromtoolTest(unittest.TestCase):
    def check(self, *args):
        code, out = run_promtool(*args)
        self.assertEqual(code, 0, f"promtool {' '.join(args)} exited {code}:\n{out}")

    def test_check_rules(self):
        self.check("check", "rules", ALERTS)

    def test_check_config(self):
        self.check("check", "config", PROMETHEUS_CONFIG)

    def test_rule_unit_tests(self):
        self.check("test", "rules", ALERTS_TEST)


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read(DASHBOARD)
        cls.dashboard = json.loads(cls.text)  # a JSON error fails every test here
        cls.panels = list(iter_panels(cls.dashboard.get("panels", [])))
        cls.query_panels = [p for p in cls.panels if p.get("type") != "row"]

    def test_uid_and_title(self):
        self.assertTrue(self.dashboard.get("uid"), "dashboard has no uid")
        self.assertTrue(self.dashboard.get("title"), "dashboard has no title")
        self.assertEqual(self.dashboard["uid"], "foxpool")

    def test_has_panels(self):
        self.assertTrue(self.query_panels, "dashboard has no panels")

    def test_panel_ids_unique(self):
        ids = [p.get("id") for p in self.panels]
        self.assertNotIn(None, ids, "a panel has no id")
        dups = sorted({i for i in ids if ids.count(i) > 1})
        self.assertEqual(dups, [], f"duplicate panel ids: {dups}")

    def test_every_target_has_expr(self):
        for p in self.query_panels:
            targets = p.get("targets") or []
            self.assertTrue(targets, f"panel {p.get('id')} {p.get('title')!r} has no targets")
            for t in targets:
                self.assertTrue((t.get("expr") or "").strip(),
                                f"panel {p.get('id')} {p.get('title')!r} target "
                                f"{t.get('refId')} has no expr")

    def test_datasource_and_instance_filter(self):
        want = {"type": "prometheus", "uid": "${datasource}"}
        for p in self.query_panels:
            title = f"panel {p.get('id')} {p.get('title')!r}"
            self.assertEqual(p.get("datasource"), want, f"{title}: datasource")
            for t in p.get("targets") or []:
                self.assertIn(t.get("datasource", want), [want], f"{title}: target datasource")
                self.assertIn('instance=~"$instance"', t.get("expr", ""),
                              f"{title}: expr lacks the instance filter: {t.get('expr')}")

    def test_templating(self):
        variables = {v.get("name"): v for v in self.dashboard.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        self.assertIsNotNone(ds, "no datasource variable")
        self.assertEqual(ds.get("type"), "datasource")
        self.assertEqual(ds.get("query"), "prometheus")
        inst = variables.get("instance")
        self.assertIsNotNone(inst, "no instance variable")
        query = inst.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        self.assertEqual(query, "label_values(foxpool_build_info, instance)")
        self.assertTrue(inst.get("multi"), "instance variable is not multi-value")
        self.assertTrue(inst.get("includeAll"), "instance variable has no All option")

    def test_grid_positions(self):
        taken = {}
        for p in self.panels:
            title = f"panel {p.get('id')} {p.get('title')!r}"
            g = p.get("gridPos")
            self.assertIsInstance(g, dict, f"{title} has no gridPos")
            x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
            for k, v in zip("xywh", (x, y, w, h)):
                self.assertIsInstance(v, int, f"{title}: gridPos.{k} = {v!r}")
            self.assertTrue(w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= GRID_WIDTH,
                            f"{title}: gridPos {g} outside the {GRID_WIDTH}-wide grid")
            for cx in range(x, x + w):
                for cy in range(y, y + h):
                    other = taken.setdefault((cx, cy), title)
                    self.assertEqual(other, title, f"{title} overlaps {other} at x={cx} y={cy}")

    def test_metrics_exported(self):
        names = metric_names(self.text)
        self.assertGreater(len(names), 10, f"suspiciously few foxpool metrics found: {names}")
        self.assertEqual(unknown_metrics(names), [],
                         "dashboard uses metrics the server does not export")


class AlertRulesTest(unittest.TestCase):
    def test_metrics_exported(self):
        text = read(ALERTS)
        if yaml is not None:
            parts = []
            for group in yaml.safe_load(text)["groups"]:
                for rule in group["rules"]:
                    parts.append(str(rule.get("expr", "")))
                    parts.extend(str(v) for v in (rule.get("annotations") or {}).values())
            text = "\n".join(parts)
        else:
            text = strip_yaml_comments(text)
        names = metric_names(text)
        self.assertGreater(len(names), 5, f"suspiciously few foxpool metrics found: {names}")
        self.assertEqual(unknown_metrics(names), [],
                         "alert rules use metrics the server does not export")

    @unittest.skipIf(yaml is None, "PyYAML (python3-yaml) not installed; promtool checks the YAML")
    def test_rule_structure(self):
        groups = yaml.safe_load(read(ALERTS))["groups"]
        self.assertIn("foxpool", [g["name"] for g in groups])
        seen = set()
        for group in groups:
            for rule in group["rules"]:
                name = rule.get("alert")
                self.assertTrue(name, f"rule without alert name: {rule}")
                seen.add(name)
                self.assertIn("for", rule, f"{name}: no for:")
                self.assertIn((rule.get("labels") or {}).get("severity"), ("warning", "critical"),
                              f"{name}: severity must be warning or critical")
                ann = rule.get("annotations") or {}
                self.assertTrue(ann.get("summary"), f"{name}: no summary")
                self.assertTrue(ann.get("description"), f"{name}: no description")
        self.assertEqual(sorted(EXPECTED_ALERTS - seen), [], "missing alerts")

    @unittest.skipIf(yaml is None, "PyYAML (python3-yaml) not installed; promtool checks the YAML")
    def test_alert_unit_tests_cover_rules(self):
        cfg = yaml.safe_load(read(ALERTS_TEST))
        rule_files = [os.path.normpath(os.path.join(os.path.dirname(path(ALERTS_TEST)), f))
                      for f in cfg.get("rule_files", [])]
        self.assertIn(os.path.normpath(path(ALERTS)), rule_files)
        tested = {t["alertname"] for test in cfg["tests"] for t in test.get("alert_rule_test", [])}
        for name in ("FoxpoolPoolExhausted", "FoxpoolWindowCrashLoop", "FoxpoolMemoryPressure"):
            self.assertIn(name, tested, f"{name} has no promtool unit test")


@unittest.skipIf(yaml is None, "PyYAML (python3-yaml) not installed; promtool checks the YAML")
class ProvisioningTest(unittest.TestCase):
    def test_prometheus_scrapes_foxpool(self):
        cfg = yaml.safe_load(read(PROMETHEUS_CONFIG))
        self.assertEqual(cfg.get("rule_files"), ["alerts.yml"])
        jobs = {j["job_name"]: j for j in cfg.get("scrape_configs", [])}
        self.assertIn("foxpool", jobs)
        targets = [t for sc in jobs["foxpool"].get("static_configs", []) for t in sc.get("targets", [])]
        self.assertIn("foxpool:9464", targets)

    def test_grafana_datasource(self):
        cfg = yaml.safe_load(read(GRAFANA_DATASOURCE))
        ds = {d["name"]: d for d in cfg.get("datasources", [])}
        self.assertIn("Prometheus", ds)
        self.assertEqual(ds["Prometheus"].get("uid"), "prometheus")
        self.assertEqual(ds["Prometheus"].get("type"), "prometheus")
        self.assertEqual(ds["Prometheus"].get("url"), "http://prometheus:9090")
        self.assertTrue(ds["Prometheus"].get("isDefault"))

    def test_grafana_dashboard_provider(self):
        cfg = yaml.safe_load(read(GRAFANA_DASHBOARDS))
        paths = [p.get("options", {}).get("path") for p in cfg.get("providers", [])
                 if p.get("type") == "file"]
        self.assertIn("/var/lib/grafana/dashboards", paths)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        SOURCE_DIR = os.path.abspath(sys.argv.pop(1))
    if not os.path.isdir(SOURCE_DIR):
        sys.exit(f"not a directory: {SOURCE_DIR}")
    unittest.main(argv=sys.argv)
