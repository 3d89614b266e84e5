#!/usr/bin/python3
"""Static checks of the container image, compose and Kubernetes files.

Run:  /usr/bin/python3 tests/deploy/check_orchestration.py SOURCE_DIR \
          [--build-dir=DIR --foxpoold=PATH [--foxpool=PATH]] [unittest args]

SOURCE_DIR is the root of the foxpool source tree. With the build directory
and the binaries (ctest passes them), the Dockerfile is also checked against
the build: the paths it copies the binaries from, and the runtime packages it
installs (exactly those holding the shared libraries the binaries are linked
against). `--write-prometheusrule` regenerates deploy/k8s/prometheusrule.yaml
from deploy/prometheus/alerts.yml and exits.

What is checked (no Docker and no cluster needed; promtool and PyYAML are):
  * deploy/Dockerfile: a Debian 12 build stage that installs through
    deploy/install-deps.sh and builds foxpoold and foxpool; a
    debian:bookworm-slim runtime with Firefox, fonts, CA certificates, tini
    and exactly the library packages the binaries need; a numeric non-root
    USER owning HOME, WORKDIR, the profile root and the state dir; tini as
    PID 1 in exec form; only flags foxpoold knows; EXPOSE = the ports the
    flags listen on; STOPSIGNAL SIGTERM; HEALTHCHECK through `foxpool health`
    on the gRPC port; a .dockerignore at the context's root that keeps out
    build trees but nothing the build reads;
  * every YAML file under deploy/ parses;
  * deploy/compose.yaml: foxpool built from deploy/Dockerfile with the
    repository as context, every other image an official one with a pinned
    version, ports = EXPOSE, every file it mounts exists, the Prometheus
    config it mounts passes `promtool check config` and its rules
    `promtool check rules`, its scrape target is the foxpool service's metrics
    port, Grafana's datasource reaches the Prometheus service and its
    dashboard provider reads the mounted dashboard; shm_size for Firefox,
    stop_grace_period above the drain, every host port bound to loopback;
  * deploy/k8s/: Deployment (same image, known flags, ports, startup,
    readiness and liveness probes on the server's HTTP /healthz on the
    metrics port (they must work with TLS on the gRPC port), the token file
    in a read-only mount of the Secret foxpool-tokens, /dev/shm as a memory
    emptyDir, non-root as the image's uid, a writable volume under every
    path written with a read-only root, memory sized from 250 MiB a window,
    terminationGracePeriodSeconds above preStop + drain + 5 s), a ClusterIP
    Service, PodDisruptionBudget, HPA on metrics the adapter rules define
    from series the server exports (their PromQL checked by promtool),
    ServiceMonitor on the metrics port with the job name the alert rules
    expect, and the PrometheusRule equal to deploy/prometheus/alerts.yml;
  * deploy/k8s/tls and deploy/k8s/mtls: kustomize Components whose JSON
    patches apply to the Deployment, add only flags foxpoold knows, and name
    files inside the Secret foxpool-tls they mount.
"""

import fnmatch
import glob
import os
import posixpath
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import yaml  # Debian package python3-yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_deploy  # noqa: E402  (EXPORTED, the metrics the server exports)
import dockerfile  # noqa: E402

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = None
BINARIES = {}  # image basename (foxpoold, foxpool) -> path of the built binary

DOCKERFILE = "deploy/Dockerfile"
DOCKERIGNORE = ".dockerignore"
COMPOSE = "deploy/compose.yaml"
K8S_DIR = "deploy/k8s"
# Kustomize Components, in the order an overlay lists them (mtls needs tls).
K8S_COMPONENTS = ("deploy/k8s/tls", "deploy/k8s/mtls")
TOKENS_SECRET = ("foxpool-tokens", "tokens")  # (Secret, key) of --auth_token_file
TLS_SECRET = "foxpool-tls"
TLS_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})  # a kubernetes.io/tls Secret's
ALERTS = "deploy/prometheus/alerts.yml"
PROMETHEUSRULE = "deploy/k8s/prometheusrule.yaml"

# Packages every debian:bookworm-slim has (the C and C++ runtimes).
BASE_IMAGE_PACKAGES = frozenset({"libc6", "libstdc++6", "libgcc-s1"})
RUNTIME_PACKAGES = frozenset({"firefox-esr", "fonts-dejavu-core", "ca-certificates", "tini"})
# Images from elsewhere must be one of these, with a version tag.
OFFICIAL_IMAGES = frozenset({"prom/prometheus", "grafana/grafana", "grafana/grafana-oss"})
# foxpoold's bound on a stop after the drain (README, "Stopping").
SHUTDOWN_AFTER_DRAIN_S = 5
# The least a window costs (PSS; bench/RESULTS.md).
WINDOW_MIB = 250
# foxpoold itself and Firefox's shared start-up beside the windows.
SERVER_MIB = 100
# foxpoold's defaults for the flags the sizing needs.
DEFAULTS = {"drain_timeout": "1m", "pool_size": "2", "max_windows": "0", "memory_threshold": "0.75"}


def path(rel):
    return os.path.join(SOURCE_DIR, rel)


def read(rel):
    with open(path(rel), encoding="utf-8") as f:
        return f.read()


def load_yaml_file(file):
    with open(file, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_docs(rel):
    with open(path(rel), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def promtool():
    return os.environ.get("PROMTOOL") or shutil.which("promtool") or "/usr/bin/promtool"


def run_promtool(*args, cwd=None):
    tool = promtool()
    if not os.path.exists(tool) and shutil.which(tool) is None:
        raise AssertionError(f"promtool not found ({tool}); install prometheus or set PROMTOOL")
    proc = subprocess.run([tool, *args], cwd=cwd or SOURCE_DIR, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    return proc.returncode, proc.stdout


def known_flags():
    """Every flag foxpoold defines (ABSL_FLAG in its sources)."""
    return check_deploy.source_matches(SOURCE_DIR, r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,",
                                       "server", "firefox", "pool")


def seconds(text):
    """A duration as foxpoold, Docker or compose write it ('60s', '1m', '75s')."""
    return dockerfile.duration_seconds(text)


def mebibytes(quantity):
    """A Kubernetes or compose memory quantity in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", str(quantity).strip())
    if not match:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    number, unit = float(match.group(1)), match.group(2)
    factor = {"": 1 / 2**20, "b": 1 / 2**20, "Ki": 1 / 1024, "k": 1000 / 2**20,
              "kb": 1000 / 2**20, "Mi": 1, "M": 1e6 / 2**20, "m": 1, "mb": 1, "Gi": 1024,
              "G": 1e9 / 2**20, "g": 1024, "gb": 1024}
    if unit not in factor:
        raise ValueError(f"unknown unit in {quantity!r}")
    return number * factor[unit]


def host_port(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


def image_name_tag(image):
    """('repo/name', 'tag') of an image reference (no registry host here)."""
    name, _, digest = image.partition("@")
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = name, ""
    return repo, tag


def matches_labels(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def json_patch(doc, ops):
    """doc after the RFC 6902 add/replace ops kustomize applies (enough for ours)."""
    for op in ops:
        if op["op"] not in ("add", "replace"):
            raise AssertionError(f"unsupported op {op['op']}")
        *parents, last = [p.replace("~1", "/").replace("~0", "~")
                          for p in op["path"].split("/")[1:]]
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            if last == "-":
                node.append(op["value"])
            elif op["op"] == "add":
                node.insert(int(last), op["value"])
            else:
                node[int(last)] = op["value"]
        else:
            if op["op"] == "replace" and last not in node:
                raise AssertionError(f"replace of a missing {op['path']}")
            node[last] = op["value"]
    return doc


def secret_file(pod_spec, container, file):
    """(Secret name, key, its volumeMount) of the Secret file a container reads, or None."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/")
        if not file.startswith(root + "/") or "subPath" in mount:
            continue
        secret = volumes[mount["name"]].get("secret")
        if secret is None:
            continue
        inside = file[len(root) + 1:]
        items = {i["path"]: i["key"] for i in secret.get("items", [])}
        key = items.get(inside) if "items" in secret else inside
        if key is not None:
            return secret["secretName"], key, mount
    return None


class Image:
    """What the Dockerfile's runtime stage says, parsed once."""

    def __init__(self):
        self.stages = dockerfile.parse(read(DOCKERFILE))
        self.build = self.stages[0]
        self.runtime = self.stages[-1]
        self.entrypoint = dockerfile.exec_form(self.runtime.last("ENTRYPOINT").args)
        self.cmd = dockerfile.exec_form(self.runtime.last("CMD").args)
        self.env = dockerfile.env(self.runtime)
        self.user = self.runtime.last("USER").args
        self.workdir = self.runtime.last("WORKDIR").args
        self.exposed = dockerfile.exposed_ports(self.runtime)
        self.copies = dockerfile.copies_from(self.runtime)
        self.entry_flags = dockerfile.flag_values(self.entrypoint or [])

    def flags(self, args=None):
        """Effective foxpoold flags with `args` in place of CMD (a later flag wins)."""
        return dockerfile.flag_values((self.entrypoint or []) + list(self.cmd if args is None
                                                                     else args))

    def grpc_port(self):
        return host_port(self.entry_flags["grpc_address"])[1]

    def metrics_port(self):
        return host_port(self.entry_flags["metrics_address"])[1]

    def uid(self):
        return int(self.user.split(":")[0])


def flag(flags, name):
    return flags.get(name, DEFAULTS.get(name))


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = Image()

    def test_stages(self):
        self.assertEqual(len(self.image.stages), 2, "a build stage and a runtime stage")
        self.assertEqual(self.image.build.image, "debian:bookworm")
        self.assertEqual(self.image.build.name, "build")
        self.assertEqual(self.image.runtime.image, "debian:bookworm-slim")

    def test_build_stage_installs_and_builds(self):
        commands = dockerfile.run_commands(self.image.build)
        self.assertIn(["deploy/install-deps.sh"], commands,
                      "the build stage must install through deploy/install-deps.sh, the "
                      "project's one list of build dependencies")
        copied = [i.args.split() for i in self.image.build.all("COPY")]
        self.assertIn(["deploy/install-deps.sh", "deploy/install-deps.sh"], copied)
        self.assertIn(["cmake", "-S", ".", "-B", "build", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                      commands)
        builds = [c for c in commands if c[:2] == ["cmake", "--build"]]
        self.assertEqual(len(builds), 1, commands)
        targets = builds[0][builds[0].index("--target") + 1:]
        self.assertEqual(set(targets), {"foxpoold", "foxpool"})

    def test_copies_the_built_binaries(self):
        build_dir = posixpath.join(self.image.build.last("WORKDIR").args, "build")
        sources = {posixpath.basename(dest): (stage, src)
                   for dest, (stage, src) in self.image.copies.items()}
        self.assertEqual(set(sources), {"foxpoold", "foxpool"})
        for dest, (stage, src) in self.image.copies.items():
            self.assertEqual(stage, "build")
            self.assertTrue(dest.startswith("/usr/local/bin/"), dest)
            self.assertTrue(src.startswith(build_dir + "/"), src)
        strips = [c for c in dockerfile.run_commands(self.image.build) if c[0] == "strip"]
        for stage, src in sources.values():
            self.assertTrue(any(posixpath.relpath(src, self.image.build.last("WORKDIR").args)
                                in c for c in strips), f"{src} is copied but not stripped")
        if BUILD_DIR is None:
            self.skipTest("no --build-dir: the copied paths are not compared with the build")
        for name, binary in BINARIES.items():
            with self.subTest(binary=name):
                want = os.path.relpath(binary, BUILD_DIR)
                self.assertEqual(posixpath.relpath(sources[name][1], build_dir), want,
                                 f"the Dockerfile copies {name} from where the build does not "
                                 f"put it")
        missing = {"foxpoold", "foxpool"} - set(BINARIES)
        if missing:
            self.skipTest(f"not built here, so not compared: {sorted(missing)}")

    def test_runtime_packages(self):
        packages = dockerfile.apt_packages(self.image.runtime)
        self.assertEqual(len(packages), len(set(packages)), packages)
        self.assertEqual(sorted(RUNTIME_PACKAGES - set(packages)), [])
        if not BINARIES:
            self.skipTest("no --foxpoold: the library packages are not compared with the build")
        sonames = set()
        for name, binary in BINARIES.items():
            out = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                                 text=True).stdout
            sonames.update(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        self.assertIn("libc.so.6", sonames)
        # dpkg -S answers "package:arch: /path/libname" for each.
        out = subprocess.run(["dpkg", "-S", *(f"*/{s}" for s in sorted(sonames))],
                             capture_output=True, text=True).stdout
        owners = {}
        multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
        for line in out.splitlines():
            package, _, file = line.partition(": ")
            if f"/{multiarch}/" not in file:
                continue  # another architecture's copy (lib32, i386)
            owners.setdefault(posixpath.basename(file.strip()), set()).add(
                package.split(":")[0].split(",")[0].strip())
        self.assertEqual(sorted(sonames - set(owners)), [], "no Debian package holds these")
        needed = set().union(*(owners[s] for s in sonames))
        libraries = {p for p in packages if p not in RUNTIME_PACKAGES}
        self.assertEqual(sorted(libraries), sorted(needed - BASE_IMAGE_PACKAGES),
                         f"the runtime stage must install exactly the packages of the shared "
                         f"libraries {sorted(BINARIES)} are linked against")
        if "foxpool" not in BINARIES:
            self.skipTest("the foxpool CLI is not built here: only foxpoold's libraries compared")

    def test_non_root_user(self):
        self.assertRegex(self.image.user, r"^\d+:\d+$", "USER must be numeric uid:gid, so "
                         "Kubernetes' runAsNonRoot can verify it")
        self.assertNotEqual(self.image.uid(), 0)
        users = dockerfile.users(self.image.runtime)
        self.assertIn(self.image.uid(), users.values(), "USER is not a user the image adds")
        name = next(n for n, uid in users.items() if uid == self.image.uid())
        owned = dockerfile.owned_dirs(self.image.runtime)
        flags = self.image.flags()
        for what, directory in (("HOME", self.image.env.get("HOME")),
                                ("WORKDIR", self.image.workdir),
                                ("--profile_root", flags.get("profile_root")),
                                ("--state_dir", flags.get("state_dir"))):
            with self.subTest(what=what):
                self.assertTrue(directory, f"{what} is not set")
                self.assertEqual(owned.get(directory), name,
                                 f"{what} {directory} is not created for {name}")

    def test_entrypoint(self):
        entry = self.image.entrypoint
        self.assertIsNotNone(entry, "ENTRYPOINT must be in exec form (a shell would be PID 1)")
        self.assertIsNotNone(self.image.cmd, "CMD must be in exec form")
        self.assertEqual(entry[:2], ["/usr/bin/tini", "--"], "tini must be PID 1")
        self.assertIn(entry[2], self.image.copies, "ENTRYPOINT runs a binary the image has not")
        self.assertEqual(posixpath.basename(entry[2]), "foxpoold")
        known = known_flags()
        self.assertIn("drain_timeout", known)
        for word in entry[3:] + self.image.cmd:
            self.assertRegex(word, r"^--\w+=", f"not a --flag=value: {word}")
            self.assertIn(word[2:].split("=")[0], known, f"foxpoold has no flag {word}")
        flags = self.image.flags()
        for name in ("grpc_address", "metrics_address", "profile_root", "state_dir"):
            self.assertIn(name, self.image.entry_flags,
                          f"--{name} belongs in ENTRYPOINT, so that replacing CMD keeps it")
        self.assertEqual(host_port(flags["grpc_address"])[0], "0.0.0.0")
        self.assertEqual(host_port(flags["metrics_address"])[0], "0.0.0.0")
        self.assertTrue(1 <= int(flag(flags, "pool_size")) <= int(flag(flags, "max_windows")))

    def test_exposed_ports_are_served(self):
        self.assertEqual(sorted(self.image.exposed),
                         sorted([self.image.grpc_port(), self.image.metrics_port()]))

    def test_stopsignal(self):
        self.assertEqual(self.image.runtime.last("STOPSIGNAL").args, "SIGTERM")

    def test_healthcheck(self):
        options, argv = dockerfile.healthcheck(self.image.runtime)
        self.assertIn(argv[0], self.image.copies)
        self.assertEqual(posixpath.basename(argv[0]), "foxpool")
        self.assertEqual(argv[1], "health")
        self.assertEqual(argv[2:], [f"--address=127.0.0.1:{self.image.grpc_port()}"])
        interval, timeout = seconds(options["interval"]), seconds(options["timeout"])
        self.assertLess(timeout, interval)
        # The first window is ready in seconds, a slow machine's in well under a minute.
        self.assertGreaterEqual(seconds(options["start-period"]), 30)
        self.assertGreaterEqual(int(options["retries"]), 1)

    def test_dockerignore(self):
        self.assertTrue(os.path.exists(path(DOCKERIGNORE)),
                        "the context is the repository root: .dockerignore must be there")
        patterns = [line.strip() for line in read(DOCKERIGNORE).splitlines()
                    if line.strip() and not line.startswith("#")]

        def ignored(rel):
            parts = rel.split("/")
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            verdict = False
            for pattern in patterns:
                negate = pattern.startswith("!")
                pat = pattern[1:] if negate else pattern
                pat = pat.replace("**/", "*").strip("/")
                if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
                    verdict = not negate
            return verdict

        for rel in (".git", "build", "build-deploy", "bench/peer/node_modules",
                    "server/__pycache__/x.pyc"):
            self.assertTrue(ignored(rel), f"{rel} would be sent to the daemon")
        needed = ["CMakeLists.txt", "deploy/install-deps.sh"]
        needed += re.findall(r"^add_subdirectory\((\w+)\)", read("CMakeLists.txt"), re.M)
        needed += [posixpath.relpath(f, SOURCE_DIR) for f in glob.glob(path("*/CMakeLists.txt"))]
        needed += [posixpath.relpath(f, SOURCE_DIR) for f in glob.glob(path("*/*/CMakeLists.txt"))
                   if "/build" not in f and "node_modules" not in f]
        for rel in needed:
            if rel.startswith("build"):
                continue
            self.assertFalse(ignored(rel), f".dockerignore leaves out {rel}, which the build reads")


class YamlTest(unittest.TestCase):
    def test_every_yaml_under_deploy_parses(self):
        files = sorted(glob.glob(path("deploy/**/*.yml"), recursive=True) +
                       glob.glob(path("deploy/**/*.yaml"), recursive=True))
        self.assertGreaterEqual(len(files), 10, files)
        for file in files:
            with self.subTest(file=os.path.relpath(file, SOURCE_DIR)):
                with open(file, encoding="utf-8") as f:
                    docs = [d for d in yaml.safe_load_all(f) if d is not None]
                self.assertTrue(docs, "empty")
                for doc in docs:
                    self.assertIsInstance(doc, dict)
                    for key, value in (doc.get("data") or {}).items():
                        if doc.get("kind") == "ConfigMap" and key.endswith((".yaml", ".yml")):
                            self.assertIsInstance(yaml.safe_load(value), dict, key)


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = Image()
        cls.compose = load_yaml_docs(COMPOSE)[0]
        cls.services = cls.compose["services"]
        cls.base = os.path.dirname(path(COMPOSE))

    def host(self, rel):
        return os.path.normpath(os.path.join(self.base, rel))

    def mounts(self, service):
        """[(host path or None for a named volume, container path)]."""
        out = []
        for entry in self.services[service].get("volumes", []):
            source, target = entry.split(":")[:2]
            if source.startswith((".", "/")):
                out.append((self.host(source), target))
            else:
                self.assertIn(source, self.compose.get("volumes") or {},
                              f"{service}: volume {source} is not declared")
                out.append((None, target))
        return out

    def to_host(self, service, container_path):
        """The host file compose mounts at container_path (a file or a dir mount)."""
        best = None
        for source, target in self.mounts(service):
            if source and (container_path == target or container_path.startswith(target + "/")):
                if best is None or len(target) > len(best[1]):
                    best = (source, target)
        self.assertIsNotNone(best, f"{service}: nothing mounted at {container_path}")
        return os.path.normpath(best[0] + container_path[len(best[1]):])

    def test_services(self):
        self.assertEqual(set(self.services), {"foxpool", "prometheus", "grafana"})

    def test_foxpool_is_built_from_the_repository(self):
        build = self.services["foxpool"]["build"]
        self.assertEqual(self.host(build["context"]), os.path.normpath(SOURCE_DIR))
        self.assertEqual(os.path.normpath(os.path.join(self.host(build["context"]),
                                                       build["dockerfile"])),
                         os.path.normpath(path(DOCKERFILE)))
        repo, tag = image_name_tag(self.services["foxpool"]["image"])
        self.assertEqual(repo, "foxpool")
        self.assertTrue(tag and tag != "latest")

    def test_other_images_are_official_and_pinned(self):
        for name, service in self.services.items():
            if "build" in service:
                continue
            with self.subTest(service=name):
                repo, tag = image_name_tag(service["image"])
                self.assertIn(repo, OFFICIAL_IMAGES)
                self.assertRegex(tag, r"^v?\d+\.\d+\.\d+", "pin a version")

    def test_foxpool_flags_ports_and_stop(self):
        service = self.services["foxpool"]
        known = known_flags()
        for word in service.get("command", []):
            self.assertIn(word[2:].split("=")[0], known, f"foxpoold has no flag {word}")
        flags = self.image.flags(service.get("command"))
        drain = seconds(flag(flags, "drain_timeout"))
        self.assertGreater(seconds(service["stop_grace_period"]), drain + SHUTDOWN_AFTER_DRAIN_S,
                           "stop_grace_period must outlast the drain")
        self.assertGreaterEqual(mebibytes(service["shm_size"]), 256, "shm_size for Firefox")
        published = set()
        for port in service["ports"]:
            published.add(int(str(port).split(":")[-1]))
        self.assertEqual(published, set(self.image.exposed))
        targets = [t for _, t in self.mounts("foxpool")]
        self.assertIn(flags["state_dir"], targets, "persistent profiles need a volume")

    def test_ports_bound_to_loopback(self):
        # Tokens are optional here: nothing is published beyond this machine.
        for name, service in self.services.items():
            for port in service.get("ports", []):
                with self.subTest(service=name, port=port):
                    self.assertTrue(str(port).startswith("127.0.0.1:"),
                                    "bind published ports to 127.0.0.1")

    def test_mounted_files_exist(self):
        for name in self.services:
            for source, target in self.mounts(name):
                if source is not None:
                    with self.subTest(service=name, target=target):
                        self.assertTrue(os.path.exists(source), f"{source} does not exist")

    def test_prometheus_config_and_rules(self):
        service = self.services["prometheus"]
        config_path = "/etc/prometheus/prometheus.yml"  # the image's --config.file
        for word in service.get("command", []):
            if word.startswith("--config.file="):
                config_path = word.split("=", 1)[1]
        config = self.to_host("prometheus", config_path)
        code, out = run_promtool("check", "config", config)
        self.assertEqual(code, 0, f"promtool check config {config}:\n{out}")
        cfg = load_yaml_file(config)
        rule_files = cfg.get("rule_files") or []
        self.assertTrue(rule_files, "the compose Prometheus loads no alert rules")
        for rule in rule_files:
            inside = posixpath.join(posixpath.dirname(config_path), rule)
            host_rules = self.to_host("prometheus", inside)
            code, out = run_promtool("check", "rules", host_rules)
            self.assertEqual(code, 0, f"promtool check rules {host_rules}:\n{out}")
        self.assertIn(os.path.normpath(path(ALERTS)),
                      [os.path.normpath(self.to_host("prometheus", posixpath.join(
                          posixpath.dirname(config_path), r))) for r in rule_files])
        targets = [t for job in cfg["scrape_configs"] for sc in job.get("static_configs", [])
                   for t in sc.get("targets", [])]
        self.assertIn(f"foxpool:{self.image.metrics_port()}", targets)
        for target in targets:
            self.assertIn(target.split(":")[0], self.services, f"{target}: no such service")

    def test_grafana_provisioning(self):
        datasources = self.to_host("grafana", "/etc/grafana/provisioning/datasources")
        urls = []
        for file in glob.glob(os.path.join(datasources, "*.yml")):
            urls += [d["url"] for d in load_yaml_file(file)["datasources"]]
        self.assertIn("http://prometheus:9090", urls)
        dashboards = self.to_host("grafana", "/etc/grafana/provisioning/dashboards")
        provider_paths = []
        for file in glob.glob(os.path.join(dashboards, "*.yml")):
            provider_paths += [p["options"]["path"] for p in load_yaml_file(file)["providers"]]
        dashboard_targets = [t for s, t in self.mounts("grafana")
                             if s and s.endswith(".json")]
        self.assertTrue(dashboard_targets, "no dashboard mounted")
        for target in dashboard_targets:
            self.assertIn(posixpath.dirname(target), provider_paths,
                          f"no dashboard provider reads {target}")
        self.assertIn(os.path.normpath(path("deploy/grafana/foxpool-dashboard.json")),
                      [s for s, _ in self.mounts("grafana") if s])


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = Image()
        cls.objects = {}
        for file in sorted(glob.glob(path(f"{K8S_DIR}/*.yaml"))):
            for doc in load_yaml_docs(os.path.relpath(file, SOURCE_DIR)):
                if "kind" in doc and doc["kind"] != "Kustomization":
                    cls.objects.setdefault(doc["kind"], []).append(doc)
        cls.deployment = cls.one("Deployment")
        cls.pod = cls.deployment["spec"]["template"]
        cls.container = cls.pod["spec"]["containers"][0]
        cls.service = cls.one("Service")
        cls.flags = cls.image.flags(cls.container.get("args"))
        adapter = yaml.safe_load(cls.one("ConfigMap")["data"]["config.yaml"])
        cls.adapter_rules = adapter["rules"]

    @classmethod
    def one(cls, kind):
        objects = cls.objects.get(kind, [])
        assert len(objects) == 1, f"want one {kind} in {K8S_DIR}, found {len(objects)}"
        return objects[0]

    def test_kinds(self):
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                     "ServiceMonitor", "ConfigMap", "PrometheusRule"):
            with self.subTest(kind=kind):
                self.one(kind)

    def test_kustomization_lists_existing_files(self):
        kustomization = load_yaml_docs(f"{K8S_DIR}/kustomization.yaml")[0]
        for resource in kustomization["resources"]:
            self.assertTrue(os.path.exists(path(f"{K8S_DIR}/{resource}")), resource)

    def test_images(self):
        compose = load_yaml_docs(COMPOSE)[0]
        built = compose["services"]["foxpool"]["image"]
        for kind, objects in self.objects.items():
            for obj in objects:
                spec = obj.get("spec", {}).get("template", {}).get("spec", {})
                for c in spec.get("containers", []) + spec.get("initContainers", []):
                    self.assertEqual(c["image"], built, f"{kind} {c['name']}: not the image "
                                     f"compose builds from deploy/Dockerfile")

    def test_flags_known(self):
        known = known_flags()
        for word in self.container.get("args", []):
            self.assertIn(word[2:].split("=")[0], known, f"foxpoold has no flag {word}")
        self.assertNotIn("command", self.container, "keep the image's ENTRYPOINT (tini)")

    def test_termination_grace_outlasts_the_drain(self):
        grace = self.pod["spec"]["terminationGracePeriodSeconds"]
        pre_stop = 0
        hook = self.container.get("lifecycle", {}).get("preStop", {})
        if "exec" in hook:
            command = hook["exec"]["command"]
            self.assertEqual(posixpath.basename(command[0]), "sleep", command)
            pre_stop = float(command[1])
        elif "sleep" in hook:
            pre_stop = float(hook["sleep"]["seconds"])
        drain = seconds(flag(self.flags, "drain_timeout"))
        self.assertGreater(grace, pre_stop + drain + SHUTDOWN_AFTER_DRAIN_S,
                           f"terminationGracePeriodSeconds {grace} <= preStop {pre_stop} + "
                           f"drain {drain} + {SHUTDOWN_AFTER_DRAIN_S}")

    def test_ports_and_probes(self):
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(ports, {"grpc": self.image.grpc_port(),
                                 "metrics": self.image.metrics_port()})
        self.assertEqual(sorted(ports.values()), sorted(self.image.exposed))
        self.assertEqual(host_port(self.flags["grpc_address"])[1], ports["grpc"])
        self.assertEqual(host_port(self.flags["metrics_address"])[1], ports["metrics"])
        served = check_deploy.source_matches(SOURCE_DIR, r'\{"(/[\w./]*)",', "server")
        self.assertIn("/healthz", served, "foxpoold serves no /healthz")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            with self.subTest(probe=probe):
                self.assertNotIn("grpc", self.container[probe],
                                 "the kubelet's gRPC probes cannot speak TLS")
                http = self.container[probe].get("httpGet")
                self.assertIsNotNone(http, f"{probe} must be an HTTP probe")
                port = http["port"]
                self.assertEqual(ports.get(port, port), ports["metrics"],
                                 f"{probe} must ask the metrics port")
                self.assertEqual(http["path"], "/healthz")
                self.assertEqual(http.get("scheme", "HTTP"), "HTTP")

    def test_tokens_from_a_secret(self):
        token_file = self.flags.get("auth_token_file")
        self.assertTrue(token_file, "the Deployment must require bearer tokens")
        found = secret_file(self.pod["spec"], self.container, token_file)
        self.assertIsNotNone(found, f"--auth_token_file={token_file} is not in a Secret's mount")
        name, key, mount = found
        self.assertEqual((name, key), TOKENS_SECRET)
        self.assertTrue(mount.get("readOnly"), "mount the tokens read-only")
        volume = next(v for v in self.pod["spec"]["volumes"] if v["name"] == mount["name"])
        mode = volume["secret"].get("defaultMode", 0o644)
        self.assertEqual(mode & 0o007, 0, "foxpoold warns of a token file every user can read")

    def test_tls_components(self):
        known = known_flags()
        deployment = yaml.safe_load(yaml.safe_dump(self.deployment))
        for component in K8S_COMPONENTS:
            with self.subTest(component=component):
                kustomization = load_yaml_docs(f"{component}/kustomization.yaml")[0]
                self.assertEqual(kustomization["apiVersion"], "kustomize.config.k8s.io/v1alpha1")
                self.assertEqual(kustomization["kind"], "Component")
                self.assertTrue(kustomization["patches"])
                before = list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])
                for patch in kustomization["patches"]:
                    self.assertEqual(patch["target"], {"kind": "Deployment",
                                                       "name": deployment["metadata"]["name"]})
                    json_patch(deployment, yaml.safe_load(patch["patch"]))
                pod = deployment["spec"]["template"]["spec"]
                container = pod["containers"][0]
                added = container["args"][len(before):]
                self.assertEqual(container["args"][:len(before)], before)
                self.assertTrue(added, "the component adds no flag")
                for word in added:
                    name, _, value = word[2:].partition("=")
                    self.assertIn(name, known, f"foxpoold has no flag {word}")
                    found = secret_file(pod, container, value)
                    self.assertIsNotNone(found, f"{word}: not a file of a mounted Secret")
                    self.assertEqual(found[0], TLS_SECRET, word)
                    self.assertIn(found[1], TLS_KEYS, word)
                    self.assertTrue(found[2].get("readOnly"), word)
        flags = self.image.flags(container["args"])
        self.assertEqual({"tls_cert", "tls_key", "client_ca"} - set(flags), set())
        self.assertEqual(container["readinessProbe"], self.container["readinessProbe"])

    def test_shared_memory(self):
        mounts = {m["mountPath"]: m["name"] for m in self.container["volumeMounts"]}
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        self.assertIn("/dev/shm", mounts)
        shm = volumes[mounts["/dev/shm"]]["emptyDir"]
        self.assertEqual(shm.get("medium"), "Memory")
        self.assertLess(mebibytes(shm["sizeLimit"]),
                        mebibytes(self.container["resources"]["limits"]["memory"]))

    def test_security_context(self):
        pod = self.pod["spec"]["securityContext"]
        self.assertTrue(pod["runAsNonRoot"])
        self.assertEqual(pod["runAsUser"], self.image.uid())
        container = self.container["securityContext"]
        self.assertFalse(container["allowPrivilegeEscalation"])
        self.assertEqual(container["capabilities"]["drop"], ["ALL"])
        if container.get("readOnlyRootFilesystem"):
            mounted = [m["mountPath"] for m in self.container["volumeMounts"]]
            for what, directory in (("HOME", self.image.env["HOME"]), ("/tmp", "/tmp"),
                                    ("--profile_root", self.flags["profile_root"]),
                                    ("--state_dir", self.flags["state_dir"])):
                with self.subTest(what=what):
                    self.assertTrue(any(directory == m or directory.startswith(m + "/")
                                        for m in mounted),
                                    f"{what} {directory} is on the read-only root filesystem")

    def test_memory_sized_from_windows(self):
        resources = self.container["resources"]
        request = mebibytes(resources["requests"]["memory"])
        limit = mebibytes(resources["limits"]["memory"])
        pool_size = int(flag(self.flags, "pool_size"))
        max_windows = max(pool_size, int(flag(self.flags, "max_windows")))
        threshold = float(flag(self.flags, "memory_threshold"))
        self.assertGreaterEqual(request, pool_size * WINDOW_MIB + SERVER_MIB,
                                f"request {request} MiB < {pool_size} windows x {WINDOW_MIB} "
                                f"+ {SERVER_MIB}")
        self.assertGreaterEqual(limit * threshold, max_windows * WINDOW_MIB + SERVER_MIB,
                                f"the memory guard ({threshold} of {limit} MiB) would stop the "
                                f"pool below {max_windows} windows x {WINDOW_MIB} + {SERVER_MIB} "
                                f"MiB")
        self.assertLessEqual(request, limit)

    def test_service(self):
        labels = self.pod["metadata"]["labels"]
        self.assertTrue(matches_labels(self.service["spec"]["selector"], labels))
        container_ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        for port in self.service["spec"]["ports"]:
            with self.subTest(port=port["name"]):
                target = port["targetPort"]
                number = container_ports[target] if isinstance(target, str) else target
                self.assertIn(number, container_ports.values())
                self.assertEqual(port["port"], number)
        grpc = next(p for p in self.service["spec"]["ports"] if p["name"] == "grpc")
        self.assertEqual(grpc.get("appProtocol"), "tcp",
                         "the gRPC port must be balanced per connection (leases live on one pod)")
        self.assertNotEqual(self.service["spec"].get("clusterIP"), "None")
        self.assertEqual(self.service["spec"].get("type", "ClusterIP"), "ClusterIP",
                         "the metrics port (the status page shows lease labels) must stay "
                         "inside the cluster")

    def test_pod_disruption_budget(self):
        pdb = self.one("PodDisruptionBudget")
        self.assertTrue(matches_labels(pdb["spec"]["selector"]["matchLabels"],
                                       self.pod["metadata"]["labels"]))
        self.assertTrue("maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"])
        hpa = self.one("HorizontalPodAutoscaler")
        self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2,
                                "with one replica the budget blocks every node drain")

    def adapter_metric_names(self):
        return {rule["name"]["as"] for rule in self.adapter_rules}

    def test_hpa_uses_adapter_metrics(self):
        hpa = self.one("HorizontalPodAutoscaler")
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((target["kind"], target["name"]),
                         ("Deployment", self.deployment["metadata"]["name"]))
        names = []
        for metric in hpa["spec"]["metrics"]:
            self.assertEqual(metric["type"], "Pods")
            names.append(metric["pods"]["metric"]["name"])
        self.assertIn("foxpool_acquire_queue_depth", names, "scale on the queue depth")
        for name in names:
            self.assertIn(name, self.adapter_metric_names(),
                          f"the HPA's {name} is not a metric the adapter rules serve")
        self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])

    def substituted(self, rule):
        series = re.match(r"\s*([a-zA-Z_:][\w:]*)", rule["seriesQuery"]).group(1)
        return (rule["metricsQuery"].replace("<<.Series>>", series)
                .replace("<<.LabelMatchers>>", 'namespace="foxpool",pod=~"foxpool-.*"')
                .replace("<<.GroupBy>>", "pod"))

    def test_adapter_rules_use_exported_metrics(self):
        self.assertGreaterEqual(len(self.adapter_rules), 1)
        for rule in self.adapter_rules:
            with self.subTest(rule=rule["name"]["as"]):
                self.assertEqual(rule["resources"]["overrides"]["pod"], {"resource": "pod"})
                self.assertEqual(rule["resources"]["overrides"]["namespace"],
                                 {"resource": "namespace"})
                names = check_deploy.metric_names(rule["seriesQuery"] + "\n" +
                                                  self.substituted(rule))
                self.assertTrue(names)
                self.assertEqual(check_deploy.unknown_metrics(names), [],
                                 "adapter rule uses metrics the server does not export")
                self.assertTrue(re.match(rule["name"]["matches"],
                                         re.match(r"\s*(\w+)", rule["seriesQuery"]).group(1)))

    def test_adapter_queries_are_valid_promql(self):
        rules = {"groups": [{"name": "adapter", "rules": [
            {"record": f"foxpool_adapter:check_{i}", "expr": self.substituted(rule)}
            for i, rule in enumerate(self.adapter_rules)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="adapter-") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            code, out = run_promtool("check", "rules", f.name)
        self.assertEqual(code, 0, f"promtool on the adapter's queries:\n{out}")

    def test_service_monitor(self):
        monitor = self.one("ServiceMonitor")
        self.assertTrue(matches_labels(monitor["spec"]["selector"]["matchLabels"],
                                       self.service["metadata"]["labels"]))
        ports = {p["name"]: p["port"] for p in self.service["spec"]["ports"]}
        endpoints = monitor["spec"]["endpoints"]
        self.assertEqual(len(endpoints), 1)
        self.assertEqual(ports[endpoints[0]["port"]], self.image.metrics_port())
        self.assertEqual(endpoints[0].get("path", "/metrics"), "/metrics")
        # The job label is the Service's name unless jobLabel says otherwise;
        # the FoxpoolDown alert selects it.
        self.assertNotIn("jobLabel", monitor["spec"])
        jobs = set(re.findall(r'up\{job="([^"]+)"\}', read(ALERTS)))
        self.assertEqual(jobs, {self.service["metadata"]["name"]})

    def test_prometheus_rule_matches_alerts(self):
        rule = self.one("PrometheusRule")
        self.assertEqual(rule["spec"]["groups"], yaml.safe_load(read(ALERTS))["groups"],
                         "deploy/k8s/prometheusrule.yaml differs from deploy/prometheus/"
                         "alerts.yml; regenerate it: /usr/bin/python3 "
                         "tests/deploy/check_orchestration.py --write-prometheusrule")


def write_prometheusrule():
    """Writes deploy/k8s/prometheusrule.yaml from deploy/prometheus/alerts.yml."""

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    doc = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
           "metadata": {"name": "foxpool", "labels": {"app.kubernetes.io/name": "foxpool"}},
           "spec": {"groups": yaml.safe_load(read(ALERTS))["groups"]}}
    header = ("# deploy/prometheus/alerts.yml as a Prometheus Operator PrometheusRule.\n"
              "# Generated: tests/deploy/check_orchestration.py checks it equals alerts.yml;\n"
              "# after changing alerts.yml regenerate it with\n"
              "#   /usr/bin/python3 tests/deploy/check_orchestration.py --write-prometheusrule\n")
    with open(path(PROMETHEUSRULE), "w", encoding="utf-8") as f:
        f.write(header + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=100,
                                   allow_unicode=True))


if __name__ == "__main__":
    argv = [sys.argv[0]]
    write = False
    for arg in sys.argv[1:]:
        if arg.startswith("--build-dir="):
            BUILD_DIR = os.path.abspath(arg.split("=", 1)[1])
        elif arg.startswith("--foxpoold="):
            BINARIES["foxpoold"] = os.path.abspath(arg.split("=", 1)[1])
        elif arg.startswith("--foxpool="):
            BINARIES["foxpool"] = os.path.abspath(arg.split("=", 1)[1])
        elif arg == "--write-prometheusrule":
            write = True
        elif not arg.startswith("-") and len(argv) == 1 and os.path.isdir(arg):
            SOURCE_DIR = os.path.abspath(arg)
        else:
            argv.append(arg)
    if write:
        write_prometheusrule()
        sys.exit(0)
    for name, binary in BINARIES.items():
        if not os.path.exists(binary):
            sys.exit(f"--{name}={binary}: no such file")
    unittest.main(argv=argv)
