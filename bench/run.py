#!/usr/bin/python3
"""foxpool's benchmark suite: runs every measurement of issue 7 on this
machine and writes bench/RESULTS.md and bench/results.png.

Started by `bench/run` (which installs what is missing and builds first).
Each stage starts its own foxpoold (or browsers, for the peer) and appends
result rows (JSON Lines, see bench/report.py) to one directory; the report
is made from all of them at the end.

  raw        the extension's round trip straight through the hub
  basic      warm Acquire/Release, command round trips, whole tasks, reset
  loop       closed-loop throughput with L windows, command gate off and auto;
             also the cold fill and memory of the largest pool
  pools      first window and fill of pools of 1 and 8, seed profiles on and
             off; their memory
  peer       puppeteer-core on the same Firefox (bench/peer/peer.mjs)
  prefs      each lean preference group reverted to Firefox's default
  template   a window started on a copy of an initialised template profile
             against one on a fresh profile (what foxpool does)
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
sys.path[:0] = [os.path.join(BUILD, "python"), os.path.join(ROOT, "tests", "integration")]

from foxpoold import Foxpoold  # noqa: E402

FOXPOOLD = os.path.join(BUILD, "server", "foxpoold")
LOADGEN = os.path.join(BUILD, "bench", "foxpool_loadgen")
RAW = os.path.join(BUILD, "bench", "foxpool_raw_extension")
WRITE_PROFILE = os.path.join(BUILD, "bench", "foxpool_write_profile")
STAGES = ["raw", "basic", "loop", "pools", "peer", "prefs", "template"]
# The server's own defaults, which the tests' Foxpoold turns off.
SERVER_DEFAULTS = ["--seed_profiles=true"]
# Windows just started are still settling (their first commands are slow,
# their memory still growing): wait this long before measuring them.
SETTLE_S = 20

# Lean preference groups and Firefox's own defaults for them, reverted one
# group at a time (firefox/profile.cc has the lean values). Telemetry,
# updates and background networking are not measured: with no internet
# here, reverting them would only measure failing connections.
PREF_GROUPS = {
    "content processes: 1 (Firefox: 8)": {"dom.ipc.processCount": 8},
    "site isolation (Fission) off": {"fission.autostart": True,
                                     "fission.webContentIsolationStrategy": 1},
    "no prelaunched content process": {"dom.ipc.processPrelaunch.enabled": True},
    "no disk cache": {"browser.cache.disk.enable": True, "browser.cache.disk_cache_ssl": True},
    "extensions in the parent process": {"extensions.webextensions.remote": True},
    "networking in the parent process": {"network.process.enabled": True},
    "media decoding in-process": {"media.rdd-process.enabled": True,
                                  "media.utility-process.enabled": True},
    "no fork server": {"dom.ipc.forkserver.enable": True},
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Rows:
    """Appends result rows to one file of the results directory."""

    def __init__(self, directory, name):
        self.path = os.path.join(directory, f"{name}.jsonl")

    def write(self, section, name, tool="foxpool", **fields):
        with open(self.path, "a") as out:
            out.write(json.dumps({"tool": tool, "section": section, "name": name, **fields}) + "\n")


def metrics(server):
    """The server's /metrics as {sample name with labels: value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def histogram(samples, name):
    """(count, sum, [(upper bound, cumulative count)]) of a histogram."""
    buckets = []
    for key, value in samples.items():
        match = re.match(rf'^{name}_bucket\{{le="([^"]+)"\}}$', key)
        if match:
            buckets.append((float(match.group(1)), value))
    return samples.get(f"{name}_count", 0), samples.get(f"{name}_sum", 0), sorted(buckets)


def bucket_quantile(buckets, count, q):
    """Prometheus' histogram_quantile: linear within the bucket."""
    rank, lower, below = q * count, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower
            share = (rank - below) / (cumulative - below) if cumulative > below else 1
            return lower + (upper - lower) * share
        lower, below = upper, cumulative
    return lower


def memory_mib(server, windows):
    """PSS of one window (the mean) and the server's RSS, as the server
    itself measures them (PSS summed over each Firefox's process group, every
    --memory_sample_interval: after SETTLE_S the sample is fresh)."""
    samples = metrics(server)
    return (samples["foxpool_windows_memory_pss_bytes"] / windows / 2**20,
            samples["foxpool_server_resident_memory_bytes"] / 2**20)


def start_timed(pool_size, flags=()):
    """Starts foxpoold and times, from the process start, its first idle
    window and its full pool. Returns (server, first_s, fill_s)."""
    server = Foxpoold(FOXPOOLD, pool_size, [*SERVER_DEFAULTS, *flags], wait_for_windows=False)
    first = fill = None
    deadline = time.monotonic() + 60 + 5 * pool_size
    while fill is None:
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"a pool of {pool_size} did not fill; log: {server.log_path}")
        ready = server.status().idle
        now = time.monotonic() - server.spawned_at
        if ready >= 1 and first is None:
            first = now
        if ready >= pool_size:
            fill = now
        time.sleep(0.02)
    return server, first, fill


def record_start_and_memory(rows, pool_size, server, first, fill, config=None):
    config = {"config": config} if config else {}
    rows.write("cold_start", "first window", windows=pool_size, seconds=first, **config)
    rows.write("cold_start", "fill", windows=pool_size, seconds=fill, per_s=pool_size / fill,
               **config)
    time.sleep(SETTLE_S)
    pss, rss = memory_mib(server, pool_size)
    rows.write("memory", "idle window", windows=pool_size, pss_mib_per_window=pss,
               server_rss_mib=rss, **config)
    log(f"pool of {pool_size} {config}: first window {first:.2f} s, full {fill:.2f} s, "
        f"PSS per window {pss:.0f} MiB")


def loadgen(server, out, *flags):
    subprocess.run([LOADGEN, f"--address={server.address}", f"--out={out}", *flags], check=True)


def stage_raw(rows, args):
    subprocess.run([RAW, f"--samples={args.samples}", f"--out={rows.path}"], check=True)


def stage_basic(rows, args):
    server = Foxpoold(FOXPOOLD, 2, SERVER_DEFAULTS)
    try:
        time.sleep(SETTLE_S)
        loadgen(server, rows.path, f"--samples={args.samples}", f"--tasks={args.tasks}",
                "--sections=lease,roundtrip,per_task")
        # Every task released its window with a reset: the server timed them.
        count, total, buckets = histogram(metrics(server), "foxpool_window_reset_seconds")
        if count:
            rows.write("reset", "reset between leases", n=int(count), mean_ms=1000 * total / count,
                       estimate=True, **{f"p{q}_ms": 1000 * bucket_quantile(buckets, count, q / 100)
                                         for q in (50, 90, 99)})
    finally:
        server.stop()


def stage_loop(rows, args):
    largest = max(args.windows)
    for limit in ("off", "auto"):
        server, first, fill = start_timed(largest, [f"--command_limit={limit}"])
        try:
            if limit == "off":
                record_start_and_memory(rows, largest, server, first, fill)
            else:
                time.sleep(SETTLE_S)
            loadgen(server, rows.path, "--sections=closed_loop",
                    f"--windows={','.join(map(str, args.windows))}",
                    f"--run_time={args.run_time}s", f"--config=command_limit={limit}")
        finally:
            server.stop()


def stage_pools(rows, args):
    for size in args.pools:
        for seed in ("true", "false"):
            server, first, fill = start_timed(size, [f"--seed_profiles={seed}"])
            try:
                record_start_and_memory(rows, size, server, first, fill,
                                        {} if seed == "true" else {"seed_profiles": "off"})
            finally:
                server.stop()


def stage_peer(rows, args):
    subprocess.run(["node", os.path.join(HERE, "peer", "peer.mjs"), f"--samples={args.samples}",
                    f"--windows={','.join(map(str, args.windows))}", f"--run-time-s={args.run_time}",
                    f"--tasks={args.tasks}", f"--out={rows.path}"], check=True)


def pref_line(name, value):
    return f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"


def stage_prefs(rows, args):
    groups = {"all lean prefs": {}, **PREF_GROUPS}
    for group, prefs in groups.items():
        with tempfile.NamedTemporaryFile("w", suffix=".js", prefix="foxpool-prefs-") as file:
            file.write("".join(pref_line(name, value) for name, value in prefs.items()))
            file.flush()
            # Without a seed: every window starts on a profile of its own.
            server, _, _ = start_timed(2, ["--seed_profiles=false",
                                           *([f"--firefox_prefs={file.name}"] if prefs else [])])
            try:
                time.sleep(SETTLE_S)
                count, total, _ = histogram(metrics(server), "foxpool_window_start_seconds")
                pss, _ = memory_mib(server, 2)
                rows.write("pref", group, pss_mib_per_window=pss, start_seconds=total / count,
                           prefs=prefs)
                log(f"prefs '{group}': PSS {pss:.0f} MiB, start {total / count:.2f} s")
            finally:
                server.stop()


class TemplateLaunches:
    """Starts Firefox on profiles written by foxpool (bench/write_profile.cc)
    and times each from spawn until its extension opens the hub connection:
    the part of a window's start a template profile could shorten (the hello
    and first reset after it are the same either way). A listening socket
    stands in for the hub; the URL path tells the launches apart."""

    def __init__(self, directory):
        self.directory = directory
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]
        self.count = 0

    def _new_path(self):
        self.count += 1
        return os.path.join(self.directory, f"p{self.count}")

    def write(self):
        """A fresh profile, as a window's."""
        path = self._new_path()
        subprocess.run([WRITE_PROFILE, f"--dir={path}", "--hub=ws://127.0.0.1:1/"], check=True)
        return path

    def copy(self, template, keep=None):
        """A copy of `template` (only the entries in `keep`, if given) with
        its extension's proxy file pointed at the copy."""
        path = self._new_path()
        os.mkdir(path)
        entries = [os.path.join(template, entry) for entry in keep or os.listdir(template)
                   if entry not in ("lock", ".parentlock")]
        subprocess.run(["cp", "-a", *filter(os.path.lexists, entries), path], check=True)
        with open(os.path.join(path, "extensions", "foxpool@foxpool.dev"), "w") as proxy:
            proxy.write(os.path.join(path, "foxpool-extension"))
        return path

    def launch(self, path, quit_after=None):
        """Seconds until this profile's extension connected. Then the
        browser is killed and the profile removed; or, with `quit_after`
        (seconds, 0 for at once), stopped then (SIGTERM: Firefox dies at once,
        so what it wrote by then is kept) and the profile kept."""
        tag = f"t{self.count}"
        config_path = os.path.join(path, "foxpool-extension", "config.json")
        with open(config_path) as config:
            config_json = json.load(config)
        config_json["hub"] = f"ws://127.0.0.1:{self.port}/{tag}/"
        with open(config_path, "w") as config:
            json.dump(config_json, config)
        started = time.monotonic()
        browser = subprocess.Popen(
            ["firefox-esr", "--headless", "--no-remote", "--profile", path, "about:blank"],
            env={**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1",
                 "MOZ_DISABLE_AUTO_SAFE_MODE": "1", "XDG_CACHE_HOME": os.path.join(path, "cache")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                connection, _ = self.listener.accept()
                with connection:
                    request = connection.recv(4096).split(b"\r\n")[0].decode(errors="replace")
                if f"/{tag}/" in request:
                    break
            seconds = time.monotonic() - started
            if quit_after is not None:
                time.sleep(quit_after)
        finally:
            try:
                os.killpg(browser.pid, signal.SIGTERM if quit_after is not None else signal.SIGKILL)
                browser.wait(timeout=30)
                os.killpg(browser.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            browser.wait()
        if quit_after is None:
            shutil.rmtree(path)
        return seconds


def stage_template(rows, args):
    """Fresh profiles (--seed_profiles=false) against copies of template
    profiles that one Firefox start initialised, launched in turn so that
    the machine's drift touches every variant alike. The seed's entries
    (firefox/profile.h kSeedEntries) are what foxpool copies; the template
    quit at once shows that the start-up caches, written a few seconds after
    the start, are what pays."""
    seed = ["extensions", "foxpool-extension", "user.js", "compatibility.ini", "prefs.js",
            "extensions.json", "addonStartup.json.lz4", "times.json", "startupCache"]
    with tempfile.TemporaryDirectory(prefix="foxpool-bench-template-") as directory:
        launches = TemplateLaunches(directory)
        at_once, settled = launches.write(), launches.write()
        launches.launch(at_once, quit_after=0)
        launches.launch(settled, quit_after=SETTLE_S)
        variants = {
            "fresh profile (--seed_profiles=false)": (None, None),
            "seed entries of a settled template (foxpool)": (settled, seed),
            "a whole settled template": (settled, None),
            "a whole template quit at once": (at_once, None),
        }
        times = {name: [] for name in variants}
        made_ms = {name: [] for name in variants}
        for _ in range(args.template_launches):
            for name, (template, keep) in variants.items():
                made = time.monotonic()
                path = launches.copy(template, keep) if template else launches.write()
                made_ms[name].append(1000 * (time.monotonic() - made))
                times[name].append(launches.launch(path))
        sizes = {template: sum(os.path.getsize(os.path.join(d, f)) for d, _, files
                               in os.walk(template) for f in files) / 2**20
                 for template in (at_once, settled)}
    for name, seconds in times.items():
        ms = sorted(1000 * s for s in seconds)
        template = variants[name][0]
        rows.write("template", name, n=len(ms), p50_ms=statistics.median(ms), min_ms=ms[0],
                   max_ms=ms[-1], made_ms=statistics.median(made_ms[name]),
                   template_mib=sizes.get(template))
        log(f"template '{name}': extension connected after {statistics.median(ms):.0f} ms (p50)")

def machine(args, previous):
    """The machine, and every command whose rows are in the results
    (`previous`: the description a run of other stages left)."""
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                      if line.startswith("model name")), platform.machine())
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    with open("/etc/os-release") as release:
        os_name = dict(line.rstrip().split("=", 1) for line in release if "=" in line)
    firefox = subprocess.run(["firefox-esr", "--version"], capture_output=True, text=True)
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(total_kib / 2**20, 1),
        "os": os_name.get("PRETTY_NAME", "").strip('"'), "firefox": firefox.stdout.strip(),
        "date": datetime.date.today().isoformat(),
        "commands": [*previous.get("commands", []), " ".join(["sudo bash bench/run", *sys.argv[1:]])],
        "windows": ", ".join(map(str, args.windows)),
    }


def default_windows():
    """1..32, and 48 when memory allows (about 0.4 GiB a window, twice over:
    the peer's browsers are measured in a separate stage)."""
    with open("/proc/meminfo") as meminfo:
        available_kib = next(int(line.split()[1]) for line in meminfo
                             if line.startswith("MemAvailable:"))
    windows = [1, 2, 4, 8, 16, 32]
    if available_kib / 2**20 > 48 * 0.4 + 2:
        windows.append(48)
    return windows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"comma-separated, of {','.join(STAGES)}")
    parser.add_argument("--windows", type=lambda s: [int(w) for w in s.split(",")],
                        default=None, help="closed-loop sizes (default 1..32, 48 if memory allows)")
    parser.add_argument("--pools", type=lambda s: [int(w) for w in s.split(",")], default=[1, 8])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--run-time", type=int, default=10, help="seconds per closed-loop run")
    parser.add_argument("--template-launches", type=int, default=15,
                        help="launches of each variant in the template stage")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: windows 1,2,4, 50 samples, 3 s runs")
    parser.add_argument("--results", default=os.path.join(BUILD, "bench-results"))
    parser.add_argument("--report", default=HERE, help="where RESULTS.md and results.png go")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.pools, args.samples, args.tasks, args.run_time = [1, 2, 4], [1], 50, 8, 3
        args.template_launches = 3
    args.windows = args.windows or default_windows()
    stages = args.stages.split(",")
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")

    os.makedirs(args.results, exist_ok=True)
    for stage in stages:
        rows = Rows(args.results, stage)
        if os.path.exists(rows.path):
            os.remove(rows.path)  # A stage run again replaces its rows.
        log(f"stage {stage}")
        globals()[f"stage_{stage}"](rows, args)

    machine_file = os.path.join(args.results, "machine.json")
    previous = {}
    if set(stages) != set(STAGES) and os.path.exists(machine_file):
        with open(machine_file) as file:
            previous = json.load(file)
    with open(machine_file, "w") as out:
        json.dump(machine(args, previous), out)
    subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--rows", args.results,
                    "--machine", machine_file, "--notes", os.path.join(HERE, "NOTES.md"),
                    "--out", os.path.join(args.report, "RESULTS.md"),
                    "--plot", os.path.join(args.report, "results.png")], check=True)
    log(f"wrote {os.path.join(args.report, 'RESULTS.md')}")


if __name__ == "__main__":
    main()
