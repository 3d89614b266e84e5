#!/usr/bin/python3
"""Runs deploy/Dockerfile's image configuration on this machine, as the image
would run, and checks what an orchestrator relies on.

Run (as root, for the user switch and the PID namespace; ctest does this):
  PYTHONPATH=build/python:tests/integration /usr/bin/python3 \
      tests/deploy/check_container.py SOURCE_DIR FOXPOOLD FOXPOOL|none [unittest args]

No Docker engine is needed. From the Dockerfile's runtime stage the test
reads USER, ENV, WORKDIR, ENTRYPOINT + CMD, EXPOSE, STOPSIGNAL and
HEALTHCHECK, and runs exactly that command line with:
  * the binaries the image copies (/usr/local/bin/foxpoold, .../foxpool)
    mapped to the build's (FOXPOOLD and FOXPOOL, from ctest's
    $<TARGET_FILE:...>), and tini from the host (Debian package tini);
  * the directories the image creates for its user (HOME, the profile root,
    the state dir) made under a temporary root, owned by the image's uid:gid;
  * the EXPOSEd ports remapped to free ones (the hosts stay as the flags say);
  * the image's uid:gid (setpriv, no supplementary groups), the image's ENV
    alone (plus PATH and HOSTNAME, as Docker sets them), WORKDIR as the cwd;
  * ENTRYPOINT's first word as PID 1 of a new PID namespace (unshare), as in
    a container. Without root (no setpriv, no unshare) it runs as the
    current user with tini as a child subreaper, and says so.
Then: the HEALTHCHECK command (run as the image's user) reports healthy; both
EXPOSEd services answer (gRPC GetPoolStatus and a lease driving a page
served here; HTTP /metrics with the series the Kubernetes autoscaler uses);
the processes run as the image's uid with PID 1 = the init; a Firefox killed
with SIGKILL leaves no zombie and no orphan behind (PID 1 reaps what is
re-parented to it); the STOPSIGNAL sent to PID 1 starts a drain during which
HEALTHCHECK reports unhealthy and a held lease still works; the whole tree
exits 0 once the lease is released, with no process, profile or temporary
file of the user left behind.

FOXPOOL may be `none` when the foxpool CLI is not built: then the HEALTHCHECK
command itself is skipped (said loudly) and the same grpc.health.v1 check is
made from Python instead.
"""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_orchestration  # noqa: E402
import dockerfile  # noqa: E402
from foxpool.v1 import browser_pool_pb2 as pb  # noqa: E402
from foxpool.v1 import browser_pool_pb2_grpc as rpc  # noqa: E402
from foxpoold import Pages, die_with_parent, free_port, wait_until  # noqa: E402

SOURCE_DIR = None
FOXPOOLD = None
FOXPOOL = None  # None: the CLI is not built

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HEALTH_SERVING = 1
# Places any user may write outside the image's own directories.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def health_status(address, service=""):
    """grpc.health.v1.Health/Check without generated stubs: the request is
    field 1 (service), the answer field 1 (status: 1 SERVING, 2 NOT_SERVING)."""
    request = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    with grpc.insecure_channel(address) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        answer = check(request, timeout=5)
    return answer[1] if answer[:1] == b"\x08" else 0


def metric_sum(text, name):
    """The sum of a metric's samples in a Prometheus text scrape."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def proc_status(pid):
    """{field: value} of /proc/PID/status, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None


def pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def owned_entries(uid):
    """Entries directly in the shared temporary directories owned by uid."""
    found = set()
    for directory in SHARED_TMP:
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        for name in names:
            try:
                if os.lstat(os.path.join(directory, name)).st_uid == uid:
                    found.add(os.path.join(directory, name))
            except FileNotFoundError:
                pass
    return found


def can_unshare():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


class ContainerTest(unittest.TestCase):
    """One run of the image's configuration, checked step by step (the tests
    run in the order of their names and share the server)."""

    @classmethod
    def setUpClass(cls):
        check_orchestration.SOURCE_DIR = SOURCE_DIR
        cls.image = image = check_orchestration.Image()
        cls.tmp = tempfile.mkdtemp(prefix="foxpool-container-")
        os.chmod(cls.tmp, 0o755)
        cls.root = os.path.join(cls.tmp, "root")  # the image's writable directories
        cls.log_path = os.path.join(cls.tmp, "container.log")

        # Who runs it.
        uid, gid = (int(x) for x in image.user.split(":"))
        cls.as_root = os.geteuid() == 0
        if cls.as_root:
            cls.uid, cls.gid = uid, gid
            # --pdeathsig: the credential change clears unshare's
            # --kill-child, so set it again; a killed test leaves nothing.
            cls.user_prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                               "--pdeathsig=SIGKILL", "--"]
        else:
            cls.uid, cls.gid = os.geteuid(), os.getegid()
            cls.user_prefix = []
            print(f"NOTE: not root: running as uid {cls.uid} instead of the image's {uid}",
                  file=sys.stderr)
        try:
            taken = pwd.getpwuid(cls.uid).pw_name
            if cls.as_root:
                print(f"NOTE: uid {cls.uid} is {taken!r} on this machine", file=sys.stderr)
        except KeyError:
            pass  # As in a fresh image's uid: only the image's /etc/passwd knows it.

        # Image paths -> paths here.
        cls.binaries = {}
        for dest in image.copies:
            name = os.path.basename(dest)
            cls.binaries[dest] = {"foxpoold": FOXPOOLD, "foxpool": FOXPOOL}.get(name)
        cls.owned = sorted(dockerfile.owned_dirs(image.runtime), key=len)
        for directory in cls.owned:
            here = cls.map_dir(directory)
            os.makedirs(here, exist_ok=True)
            os.chown(here, cls.uid, cls.gid)
            os.chmod(here, 0o750)
        # Ports.
        cls.ports = {port: free_port() for port in image.exposed}
        cls.grpc_address = f"127.0.0.1:{cls.ports[image.grpc_port()]}"
        cls.metrics_url = f"http://127.0.0.1:{cls.ports[image.metrics_port()]}/metrics"

        argv = [cls.map_word(w) for w in image.entrypoint + image.cmd]
        if not os.path.exists(argv[0]):
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError(f"{image.entrypoint[0]} (the image's PID 1) is not installed "
                                 f"here: apt-get install tini (deploy/test.sh installs it)")
        # The image listens on 0.0.0.0, so --block_private_networks (auto) is
        # on: the test's page server on loopback is the operator's exception.
        cls.pages = Pages({"/": ("text/html", b"<title>in a container</title><p>hello</p>")})
        argv.append(f"--allow_hosts=127.0.0.1:{cls.pages.server.server_address[1]}")
        cls.flags = image.flags()
        cls.env = {"PATH": DEFAULT_PATH, "HOSTNAME": "foxpool-container-test"}
        cls.env.update({k: cls.map_word(v) for k, v in image.env.items()})
        cls.cwd = cls.map_dir(image.workdir)

        cls.pid_namespace = can_unshare()
        prefix = []
        if cls.pid_namespace:
            # PID 1 of its own namespace, as in a container; killed if unshare is.
            prefix = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
        else:
            cls.env["TINI_SUBREAPER"] = "1"
            print("NOTE: no PID namespace here (needs root and unshare): tini runs as a child "
                  "subreaper instead of PID 1", file=sys.stderr)
        cls.command = prefix + cls.user_prefix + argv
        cls.tmp_before = owned_entries(cls.uid)
        cls.log = open(cls.log_path, "wb")
        cls.channel = None
        cls.process = subprocess.Popen(cls.command, env=cls.env, cwd=cls.cwd, stdout=cls.log,
                                       stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        try:
            cls.init_pid = wait_until(cls.find_init, 30, "the container's PID 1")
            cls.channel = grpc.insecure_channel(cls.grpc_address)
            cls.stub = rpc.BrowserPoolStub(cls.channel)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.pages is not None:
            cls.pages.close()
        if cls.channel is not None:
            cls.channel.close()
        if cls.process.poll() is None:
            if cls.pid_namespace and getattr(cls, "init_pid", None):
                os.kill(cls.init_pid, signal.SIGKILL)  # the namespace's PID 1: all of it goes
            cls.process.kill()
            cls.process.wait()
        cls.log.close()
        if os.environ.get("KEEP_CONTAINER_TMP"):
            print(f"kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers ------------------------------------------------------------

    @classmethod
    def map_dir(cls, image_path):
        return os.path.join(cls.root, image_path.lstrip("/"))

    @classmethod
    def map_word(cls, word):
        """A word of the image's command line or ENV, with its paths and
        ports mapped to this machine's."""
        prefix, value = "", word
        if word.startswith("--") and "=" in word:
            prefix, value = word.split("=", 1)[0] + "=", word.split("=", 1)[1]
        if value in cls.binaries:
            binary = cls.binaries[value]
            if binary is None:
                raise unittest.SkipTest(f"{value} is not built here")
            return prefix + binary
        for directory in reversed(cls.owned):
            if value == directory or value.startswith(directory + "/"):
                return prefix + cls.map_dir(value)
        host, sep, port = value.rpartition(":")
        if sep and port.isdigit() and int(port) in cls.ports and host:
            return f"{prefix}{host}:{cls.ports[int(port)]}"
        return word

    @classmethod
    def find_init(cls):
        """Host pid of the image's PID 1 (tini)."""
        if not cls.pid_namespace:
            return cls.process.pid
        for pid in all_pids():
            status = proc_status(pid)
            if status and int(status["PPid"]) == cls.process.pid:
                init = os.path.basename(cls.image.entrypoint[0])[:15]  # comm's length
                if status["NSpid"].split()[-1] == "1" and status["Name"] == init:
                    return pid
        return None

    def run_processes(self):
        """{host pid: /proc status} of every process of the run."""
        out = {}
        if self.pid_namespace:
            ns = pid_namespace(self.init_pid)
            for pid in all_pids():
                if pid_namespace(pid) == ns and pid != self.process.pid:
                    status = proc_status(pid)
                    if status:
                        out[pid] = status
            return out
        statuses = {p: proc_status(p) for p in all_pids()}
        family = {self.init_pid}
        grew = True
        while grew:
            grew = False
            for pid, status in statuses.items():
                if status and pid not in family and int(status["PPid"]) in family:
                    family.add(pid)
                    grew = True
        return {p: statuses[p] for p in family if statuses.get(p)}

    def strays(self, processes):
        """Processes re-parented to PID 1 (other than foxpoold) that no live
        Firefox accounts for. Firefox's crash helper (`crashhelper <its
        Firefox's pid>`) daemonizes by design and lives as long as its
        Firefox: those of live Firefoxes are not strays."""
        server = self.server_pid()
        by_ns_pid = {int(s["NSpid"].split()[-1]): p for p, s in processes.items()}
        mains = {p for p, s in processes.items()
                 if int(s["PPid"]) == server and s["Name"].startswith("firefox")}
        strays = {}
        for pid, status in processes.items():
            if int(status["PPid"]) != self.init_pid or pid == server or pid in mains:
                continue  # (mains: when foxpoold itself is PID 1)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except FileNotFoundError:
                continue
            if (status["Name"] == "crashhelper" and len(argv) > 1 and argv[1].isdigit()
                    and by_ns_pid.get(int(argv[1])) in mains):
                continue
            strays[pid] = (status["Name"], status["State"])
        return strays

    def server_pid(self):
        for pid, status in self.run_processes().items():
            if status["Name"] == "foxpoold":
                return pid
        return None

    def healthcheck(self):
        """Runs the image's HEALTHCHECK command as the image's user; returns
        its exit code (None: not built here)."""
        options, argv = dockerfile.healthcheck(self.image.runtime)
        try:
            command = [self.map_word(w) for w in argv]
        except unittest.SkipTest:
            return None
        timeout = dockerfile.duration_seconds(options.get("timeout", "30s"))
        try:
            done = subprocess.run(self.user_prefix + command, env=self.env, cwd=self.cwd,
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout"
        return done.returncode

    def status(self):
        return self.stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=10)

    def scrape(self):
        with urllib.request.urlopen(self.metrics_url, timeout=10) as answer:
            self.assertEqual(answer.status, 200)
            return answer.read().decode()

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def assert_running(self):
        if self.process.poll() is not None:
            self.fail(f"the container exited ({self.process.returncode}):\n{self.log_text()}")

    # --- the run ------------------------------------------------------------

    def test_1_healthcheck_turns_healthy(self):
        options, argv = dockerfile.healthcheck(self.image.runtime)
        start_period = dockerfile.duration_seconds(options.get("start-period", "0s"))
        interval = dockerfile.duration_seconds(options.get("interval", "30s"))
        retries = int(options.get("retries", "3"))
        # Docker calls it healthy at the first success; unhealthy after
        # `retries` failures past the start period.
        deadline = start_period + retries * interval

        def healthy():
            self.assert_running()
            code = self.healthcheck()
            if code is None:
                try:
                    return health_status(self.grpc_address) == HEALTH_SERVING
                except grpc.RpcError:
                    return False
            return code == 0

        wait_until(healthy, deadline, "HEALTHCHECK to report healthy")
        for service in ("", "foxpool.v1.BrowserPool"):
            self.assertEqual(health_status(self.grpc_address, service), HEALTH_SERVING)
        if self.healthcheck() is None:
            print(f"\nSKIPPED: the HEALTHCHECK command {argv} itself: the foxpool CLI is not "
                  f"built here; health was checked from Python instead", file=sys.stderr)
            self.skipTest("foxpool CLI not built: HEALTHCHECK command not run "
                          "(grpc.health.v1 checked from Python)")

    def test_2_runs_as_the_image_says(self):
        processes = wait_until(lambda: self.server_pid() and self.run_processes(), 30,
                               "foxpoold in the process tree")
        server = self.server_pid()
        init = processes[self.init_pid]
        self.assertEqual(os.path.basename(self.image.entrypoint[0]), init["Name"])
        if self.pid_namespace:
            self.assertEqual(init["NSpid"].split()[-1], "1", "the init is not PID 1")
        self.assertEqual(int(processes[server]["PPid"]), self.init_pid,
                         "foxpoold is not the init's child")
        firefoxes = [p for p, s in processes.items() if s["Name"].startswith("firefox")]
        self.assertTrue(firefoxes, "no Firefox running")
        for pid, status in processes.items():
            with self.subTest(process=status["Name"]):
                self.assertEqual(int(status["Uid"].split()[0]), self.uid)
                self.assertEqual(int(status["Gid"].split()[0]), self.gid)
                if self.as_root:
                    self.assertEqual(status["Groups"].strip(), "", "supplementary groups")
        self.assertEqual(os.readlink(f"/proc/{server}/cwd"), self.cwd)
        with open(f"/proc/{server}/environ", "rb") as f:
            environ = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        self.assertEqual(environ.get(b"HOME", b"").decode(), self.env["HOME"])

    def test_3_grpc_port_answers(self):
        pool_size = int(check_orchestration.flag(self.flags, "pool_size"))
        wait_until(lambda: self.status().idle >= pool_size, 90, f"{pool_size} idle windows")
        lease = self.stub.Acquire(pb.AcquireRequest(), timeout=30).lease_id
        try:
            page = self.stub.Navigate(pb.NavigateRequest(lease_id=lease, url=self.pages.base + "/"),
                                      timeout=30)
            self.assertEqual(page.title, "in a container")
            title = self.stub.GetTitle(pb.GetTitleRequest(lease_id=lease), timeout=30)
            self.assertEqual(title.title, "in a container")
        finally:
            self.stub.Release(pb.ReleaseRequest(lease_id=lease), timeout=30)
        # Its windows' profiles are where the image's --profile_root says.
        profile_root = self.map_word(self.flags["profile_root"])
        self.assertTrue(any(n.startswith("foxpool-") for n in os.listdir(profile_root)),
                        os.listdir(profile_root))

    def test_4_metrics_port_answers(self):
        text = self.scrape()
        self.assertIn("foxpool_build_info", text)
        max_windows = max(int(check_orchestration.flag(self.flags, "pool_size")),
                          int(check_orchestration.flag(self.flags, "max_windows")))
        self.assertEqual(metric_sum(text, "foxpool_pool_max_windows"), max_windows,
                         "the image's CMD flags did not reach the server")
        # Every series the Kubernetes autoscaler's adapter rules read is here.
        check_orchestration.KubernetesTest.setUpClass()
        rules = check_orchestration.KubernetesTest.adapter_rules
        series = {check_orchestration.check_deploy.metric_names(r["seriesQuery"]).pop()
                  for r in rules}
        names = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
                 if line and not line.startswith("#")}
        self.assertEqual(sorted(series - names), [], "the adapter's series are not exported")

    def test_5_orphans_are_reaped(self):
        """A Firefox killed from outside: its content processes are
        re-parented to PID 1 and killed by foxpoold; PID 1 must reap them."""
        pool_size = int(check_orchestration.flag(self.flags, "pool_size"))
        server = self.server_pid()

        def firefoxes():
            """The windows' Firefoxes, once they are all there and idle (and
            the seed profile's Firefox, if any, is gone)."""
            processes = self.run_processes()
            mains = {p for p, s in processes.items()
                     if int(s["PPid"]) == server and s["Name"].startswith("firefox")}
            status = self.status()
            ready = status.idle >= pool_size and len(mains) == status.idle
            return ready and (processes, mains)

        processes, mains = wait_until(firefoxes, 90, f"{pool_size} idle windows and no other "
                                      f"Firefox")
        parents = {p for p in mains if any(int(c["PPid"]) == p for c in processes.values())}
        self.assertTrue(parents, "no Firefox with content processes to kill")
        victim = sorted(parents)[0]
        children = {p for p, s in processes.items() if int(s["PPid"]) == victim}
        os.kill(victim, signal.SIGKILL)

        self.assertEqual(self.strays(processes), {}, "strays before the kill")

        def settled():
            self.assert_running()
            now = self.run_processes()
            zombies = [p for p, s in now.items() if s["State"].startswith("Z")]
            return not zombies and not self.strays(now) and not children & set(now)

        # A zombie never reaped, or an orphan never killed, stays: both fail here.
        try:
            wait_until(settled, 30, "the killed Firefox's processes to be gone")
        except AssertionError:
            now = self.run_processes()
            zombies = {p: s["Name"] for p, s in now.items() if s["State"].startswith("Z")}
            raise AssertionError(f"left after killing Firefox {victim}: zombies {zombies}, "
                                 f"strays {self.strays(now)}, its children still there "
                                 f"{sorted(children & set(now))}") from None
        wait_until(lambda: metric_sum(self.scrape(), "foxpool_windows_crashed_total") >= 1, 30,
                   "foxpoold to count the killed window")
        wait_until(lambda: self.status().idle >= pool_size, 90, "the window replaced")

    def test_6_stopsignal_drains_then_exits_clean(self):
        stop = self.image.runtime.last("STOPSIGNAL").args
        lease = self.stub.Acquire(pb.AcquireRequest(), timeout=30).lease_id
        self.stub.Navigate(pb.NavigateRequest(lease_id=lease, url=self.pages.base + "/"),
                           timeout=30)
        # Docker and the kubelet signal the container's PID 1.
        os.kill(self.init_pid, getattr(signal, stop))
        signalled = time.monotonic()

        def unhealthy():
            self.assert_running()
            code = self.healthcheck()
            if code is None:
                return health_status(self.grpc_address) != HEALTH_SERVING
            return code != 0

        wait_until(unhealthy, 10, "HEALTHCHECK to report unhealthy during the drain")
        self.assertNotEqual(health_status(self.grpc_address), HEALTH_SERVING)
        # The held lease keeps working; nobody gets a new one.
        self.assertEqual(self.stub.GetTitle(pb.GetTitleRequest(lease_id=lease), timeout=30).title,
                         "in a container")
        with self.assertRaises(grpc.RpcError) as refused:
            self.stub.Acquire(pb.AcquireRequest(), timeout=10)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(metric_sum(self.scrape(), "foxpool_draining"), 1)
        self.assertIsNone(self.process.poll(), "stopped before the lease was released")
        self.stub.Release(pb.ReleaseRequest(lease_id=lease), timeout=30)
        released = time.monotonic()
        drain = dockerfile.duration_seconds(check_orchestration.flag(self.flags, "drain_timeout"))
        code = self.process.wait(timeout=drain + check_orchestration.SHUTDOWN_AFTER_DRAIN_S + 30)
        took = time.monotonic() - released
        log = self.log_text()
        self.assertEqual(code, 0, f"exit code {code}:\n{log}")
        self.assertLess(took, check_orchestration.SHUTDOWN_AFTER_DRAIN_S + 5,
                        f"{took:.1f} s from the last release to the exit")
        self.assertLess(time.monotonic() - signalled, drain + check_orchestration.SHUTDOWN_AFTER_DRAIN_S)
        self.assertIn("foxpoold stopped", log)
        self.assertNotIn("abandoned", log)

        # Nothing left behind: no process of the user, no window profile, no
        # temporary file of the user outside the image's directories.
        if self.as_root:
            leftovers = [p for p in all_pids()
                         if (s := proc_status(p)) and int(s["Uid"].split()[0]) == self.uid]
            self.assertEqual(leftovers, [], "processes of the image's user left running")
        profile_root = self.map_word(self.flags["profile_root"])
        self.assertEqual(os.listdir(profile_root), [], "window profiles left behind")
        self.assertEqual(sorted(owned_entries(self.uid) - self.tmp_before), [],
                         "temporary files left in the shared temporary directories")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    SOURCE_DIR = os.path.abspath(sys.argv.pop(1))
    FOXPOOLD = os.path.abspath(sys.argv.pop(1))
    cli = sys.argv.pop(1)
    FOXPOOL = None if cli in ("", "none") else os.path.abspath(cli)
    if FOXPOOL is None:
        print("NOTE: the foxpool CLI is not built: the HEALTHCHECK command itself is skipped",
              file=sys.stderr)
    unittest.main(argv=sys.argv, failfast=True)
