#!/usr/bin/python3
"""The navigation policy (issue 9) with a real foxpoold and real Firefox:
with --block_private_networks=true a page served from an allowed loopback
port (--allow_hosts) tries every way to reach a "victim" server on another
loopback port (fetch, XHR, image, frame, script, WebSocket, beacon, a
redirect, a top-level navigation; 127.0.0.1, localhost, [::1], numeric
forms, a host name that resolves to loopback), the cloud metadata address
and the window's own hub port: every attempt fails in the page, the extension reports each as a
Session event, and the victim sees no request at all. Navigate, OpenTab and
SetProxy to such destinations answer PERMISSION_DENIED, data: URLs
INVALID_ARGUMENT. A second server without the block (and with data:
allowed) lets the same page reach the victim: the test can fail.

Usage: navigation_policy_test.py FOXPOOLD_BINARY (PYTHONPATH must reach the
generated stubs).
"""
import http.server
import json
import queue
import socket
import sys
import threading
import unittest
import urllib.parse

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import CommandTestCase, Foxpoold, QuietHandler, free_port, serve, stop_serving, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
METADATA = "http://169.254.169.254/latest/meta-data/"


def loopback_name():
    """A host name (not localhost) that resolves to a loopback address only
    through DNS (/etc/hosts): what only the extension can check. None when
    this machine has none."""
    candidates = [socket.gethostname()]
    try:
        with open("/etc/hosts") as hosts:
            for line in hosts:
                fields = line.split("#")[0].split()
                if fields and fields[0].startswith("127."):
                    candidates += fields[1:]
    except OSError:
        pass
    for name in candidates:
        if name == "localhost" or name.endswith(".localhost") or "." in name and name[-1].isdigit():
            continue
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if addresses and all(a.startswith("127.") or a == "::1" for a in addresses):
            return name
    return None


class Victim:
    """An HTTP server on 127.0.0.1:V (and [::1]:V when this machine has
    IPv6 loopback) that records every request it gets."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        victim = self

        class Handler(QuietHandler):
            def record(self):
                with victim.lock:
                    victim.requests.append((self.command, self.path))
                body = b"<title>victim</title>secret"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = record

        self.servers = [serve(Handler, daemon_threads=True)]
        self.port = self.servers[0].server_address[1]

        class V6Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6

        try:
            self.servers.append(serve(Handler, server_class=lambda _, h: V6Server(("::1", self.port), h),
                                      daemon_threads=True))
            self.has_v6 = True
        except OSError:
            self.has_v6 = False

    def seen(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        for server in self.servers:
            stop_serving(server)


ATTACK_PAGE = """<!DOCTYPE html><html><head><title>attack</title></head><body><script>
const V = {victim};
const NAME = {name};
const P = location.origin;
const HUB = new URLSearchParams(location.search).get("hub");
const SECONDS = 8;
function settle(start) {{
  return new Promise((resolve) => {{
    const timer = setTimeout(() => resolve("timeout"), SECONDS * 1000);
    start((outcome) => {{ clearTimeout(timer); resolve(outcome); }});
  }});
}}
const viaFetch = (url) => settle((done) => fetch(url, {{mode: "no-cors"}}).then(() => done("reached"), () => done("failed")));
const viaXhr = (url) => settle((done) => {{
  const xhr = new XMLHttpRequest();
  xhr.open("GET", url);
  xhr.onload = () => done("reached");
  xhr.onerror = () => done("failed");
  xhr.send();
}});
const viaElement = (tag, url) => settle((done) => {{
  const element = document.createElement(tag);
  element.onload = () => done("reached");
  element.onerror = () => done("failed");
  element.src = url;
  document.body.append(element);
}});
const viaSocket = (url) => settle((done) => {{
  const socket = new WebSocket(url);
  socket.onopen = () => done("reached");
  socket.onerror = () => done("failed");
}});
const viaBeacon = (url) => settle((done) => done(navigator.sendBeacon(url, "x") ? "queued" : "failed"));
const attempts = {{
  fetch: () => viaFetch(`http://127.0.0.1:${{V}}/fetch`),
  xhr: () => viaXhr(`http://127.0.0.1:${{V}}/xhr`),
  img: () => viaElement("img", `http://127.0.0.1:${{V}}/img`),
  script: () => viaElement("script", `http://127.0.0.1:${{V}}/script`),
  iframe: () => viaElement("iframe", `http://127.0.0.1:${{V}}/iframe`),
  websocket: () => viaSocket(`ws://127.0.0.1:${{V}}/websocket`),
  beacon: () => viaBeacon(`http://127.0.0.1:${{V}}/beacon`),
  localhost: () => viaFetch(`http://localhost:${{V}}/localhost`),
  sub_localhost: () => viaFetch(`http://a.localhost:${{V}}/sub_localhost`),
  ipv6: () => viaFetch(`http://[::1]:${{V}}/ipv6`),
  mapped: () => viaFetch(`http://[::ffff:127.0.0.1]:${{V}}/mapped`),
  decimal: () => viaFetch(`http://2130706433:${{V}}/decimal`),
  hex: () => viaFetch(`http://0x7f.1:${{V}}/hex`),
  metadata: () => viaFetch("{metadata}"),
  redirect: () => viaFetch(`${{P}}/redirect?to=${{encodeURIComponent(`http://127.0.0.1:${{V}}/redirected`)}}`),
}};
if (NAME) attempts.name = () => viaFetch(`http://${{NAME}}:${{V}}/name`);
// The window's own hub: only its extension may talk to it.
if (HUB) attempts.hub = () => viaSocket(`ws://127.0.0.1:${{HUB}}/`);
(async () => {{
  const results = {{}};
  await Promise.all(Object.entries(attempts).map(async ([name, run]) => {{ results[name] = await run(); }}));
  document.body.dataset.results = JSON.stringify(results);
}})();
</script></body></html>"""


class PageServer:
    """The test's own pages on 127.0.0.1:P: /attack (see ATTACK_PAGE),
    /page, /redirect?to=URL (302)."""

    def __init__(self, victim_port, name):
        attack = ATTACK_PAGE.format(victim=victim_port, name=json.dumps(name), metadata=METADATA).encode()

        class Handler(QuietHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", urllib.parse.parse_qs(query)["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = attack if path == "/attack" else b"<!DOCTYPE html><title>page</title>page"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = serve(Handler, daemon_threads=True)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def close(self):
        stop_serving(self.server)


class EventLease:
    """A lease held by a Session stream that asked for console events; the
    unary RPCs drive it by its id while a thread gathers the events."""

    def __init__(self, stub):
        self.outgoing = queue.Queue()
        self.outgoing.put(pb.SessionRequest(acquire=pb.AcquireRequest(
            labels={"test": "navigation_policy"}, events=[pb.SessionEvent.KIND_CONSOLE])))
        self.responses = stub.Session(iter(self.outgoing.get, None), timeout=600)
        self.lease_id = next(self.responses).acquired.lease_id
        self.lock = threading.Lock()
        self.events = []
        threading.Thread(target=self._gather, daemon=True).start()

    def _gather(self):
        try:
            for response in self.responses:
                if response.HasField("event"):
                    with self.lock:
                        self.events.append(response.event.text)
        except grpc.RpcError:
            pass

    def texts(self):
        with self.lock:
            return list(self.events)

    def close(self):
        self.outgoing.put(None)
        self.responses.cancel()


class PolicyTestCase(CommandTestCase):
    FLAGS = ()

    @classmethod
    def setUpClass(cls):
        cls.victim = Victim()
        cls.name = loopback_name()
        cls.pages = PageServer(cls.victim.port, cls.name)
        cls.hub = free_port()
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1, flags=[
            *(flag.format(pages=cls.pages.port) for flag in cls.FLAGS), f"--hub_port={cls.hub}",
            "--log_level=warn"])
        cls.stub = cls.foxpoold.stub

    @classmethod
    def tearDownClass(cls):
        code = cls.foxpoold.stop()
        cls.pages.close()
        cls.victim.close()
        assert code == 0, f"foxpoold exited with {code}"

    def setUp(self):
        self.lease = EventLease(self.stub)
        self.victim.requests.clear()

    def tearDown(self):
        self.lease.close()

    def call(self, rpc, request_type, **fields):
        return getattr(self.stub, rpc)(request_type(lease_id=self.lease.lease_id, **fields), timeout=60)

    def navigate(self, url):
        return self.call("Navigate", pb.NavigateRequest, url=url)

    def evaluate(self, expression):
        return json.loads(self.call("Evaluate", pb.EvaluateRequest, expression=expression).result_json)

    def blocked(self):
        return self.foxpoold.counters("foxpool_requests_blocked_total")

    def run_attack(self, hub=None):
        """Loads the attack page (which also tries the hub's port, if
        given) and returns its per-attempt outcomes."""
        self.navigate(f"{self.pages.base}/attack" + (f"?hub={hub}" if hub else ""))
        text = wait_until(lambda: self.evaluate("document.body.dataset.results ?? null"), 60,
                          "the attack page's results")
        return json.loads(text)


class BlockingTest(PolicyTestCase):
    FLAGS = ("--block_private_networks=true", "--allow_hosts=127.0.0.1:{pages}")

    def test_every_page_request_to_a_private_destination_is_refused(self):
        results = self.run_attack(self.hub)
        for attempt, outcome in results.items():
            # A beacon is only queued, and a frame fires no event when its
            # load is cancelled: whether they went out, the victim tells.
            expected = {"beacon": ("queued",), "iframe": ("timeout", "failed")}.get(attempt, ("failed",))
            self.assertIn(outcome, expected, f"{attempt}: {results}")
        self.assertIn("metadata", results)
        if self.name is not None:
            self.assertIn("name", results)
        # Give a request that slipped through time to arrive: a later page
        # load from the same window has come and gone.
        self.navigate(f"{self.pages.base}/page")
        self.assertEqual(self.victim.seen(), [])

        # Each attempt was reported as a Session event naming its URL.
        paths = [{"metadata": "/latest/meta-data/", "redirect": "/redirected",
                  "hub": f"ws://127.0.0.1:{self.hub}/"}.get(a, f"/{a}") for a in results]
        blocked = lambda: [t for t in self.lease.texts() if t.startswith("foxpool blocked")]
        wait_until(lambda: all(any(p in t for t in blocked()) for p in paths), 30,
                   f"events for every attempt ({paths})")
        joined = "\n".join(blocked())
        for fragment in (f"127.0.0.1:{self.victim.port}/fetch", "169.254.169.254", "(websocket) to ws://",
                         "(xmlhttprequest)", "(beacon)", "(sub_frame)", "(image)", "(script)"):
            self.assertIn(fragment, joined)
        self.assertIn("link-local (cloud metadata)", joined)
        # And counted for Prometheus (the extension reports its totals to the hub).
        wait_until(lambda: self.blocked()["private_network"] >= len(results), 30,
                   f"foxpool_requests_blocked_total to count {len(results)} attempts")

    def test_top_level_navigation_by_the_page_is_refused(self):
        self.navigate(f"{self.pages.base}/page")
        self.evaluate(f"location.href = 'http://127.0.0.1:{self.victim.port}/navigated'; 1")
        wait_until(lambda: any("/navigated" in t for t in self.lease.texts()), 30,
                   "the blocked navigation's event")
        self.assertEqual(self.victim.seen(), [])
        # The window still answers (its hub connection is unaffected).
        self.assertEqual(self.navigate(f"{self.pages.base}/page").title, "page")

    def test_navigate_to_a_private_destination_is_permission_denied(self):
        v = self.victim.port
        for url in (f"http://127.0.0.1:{v}/", METADATA, f"http://[::1]:{v}/", f"http://2130706433:{v}/",
                    f"http://localhost:{v}/"):
            self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED, lambda: self.navigate(url),
                                  "--block_private_networks")
        self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED,
                              lambda: self.call("OpenTab", pb.OpenTabRequest, url=f"http://127.0.0.1:{v}/"),
                              "--block_private_networks")
        self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED,
                              lambda: self.call("SetProxy", pb.SetProxyRequest, type=pb.PROXY_TYPE_HTTP,
                                                host="127.0.0.1", port=v),
                              "--block_private_networks")
        # Checked by the extension: a redirect's hop, a name resolved by DNS.
        redirect = f"{self.pages.base}/redirect?to=" + urllib.parse.quote(f"http://127.0.0.1:{v}/hop")
        self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED, lambda: self.navigate(redirect),
                              "127.0.0.1 is a loopback address", "--block_private_networks")
        if self.name is not None:
            self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED,
                                  lambda: self.navigate(f"http://{self.name}:{v}/"),
                                  f"{self.name} resolves to 127.", "--block_private_networks")
        self.assertEqual(self.victim.seen(), [])
        # The window is healthy: a later command works.
        self.assertEqual(self.navigate(f"{self.pages.base}/page").title, "page")

    def test_a_proxy_named_by_a_private_host_is_permission_denied(self):
        # Every request would go to the proxy: a name is resolved and checked
        # like a page's destination (addresses and localhost: by the server).
        hosts = ["proxy.invalid"] + ([self.name] if self.name is not None else [])
        for host in hosts:
            self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED,
                                  lambda: self.call("SetProxy", pb.SetProxyRequest, type=pb.PROXY_TYPE_HTTP,
                                                    host=host, port=self.victim.port),
                                  f"proxy {host}:", "--block_private_networks")
        # Nothing was set: pages still load directly.
        self.assertEqual(self.navigate(f"{self.pages.base}/page").title, "page")
        self.assertEqual(self.victim.seen(), [])

    def test_data_urls_are_invalid_by_default(self):
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                              lambda: self.navigate("data:text/html,<title>d</title>"),
                              "allowed: http, https, about:blank", "--url_schemes")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.navigate("file:///etc/passwd"),
                              "--url_schemes")


class NotBlockingTest(PolicyTestCase):
    """The same page with the block off: the victim is reached, so the
    blocking test above can fail. data: URLs allowed here."""
    FLAGS = ("--block_private_networks=false", "--url_schemes=http,https,about:blank,data:")

    def test_the_page_reaches_the_victim_without_the_block(self):
        results = self.run_attack()
        self.assertEqual(results["fetch"], "reached", results)
        self.assertEqual(results["redirect"], "reached", results)
        seen = [path for _, path in self.victim.seen()]
        self.assertIn("/fetch", seen)
        self.assertIn("/redirected", seen)
        self.assertEqual(self.navigate(f"http://127.0.0.1:{self.victim.port}/direct").title, "victim")
        self.assertEqual(self.blocked(), {"private_network": 0, "scheme": 0, "unresolved": 0})

    def test_data_urls_load_when_allowed(self):
        # Firefox lets a page load one, not an extension: from a page.
        self.navigate(f"{self.pages.base}/page")
        reply = self.navigate("data:text/html,<title>from data</title>")
        self.assertEqual(reply.title, "from data")

    def test_data_urls_load_in_a_new_tab_and_from_a_blank_one(self):
        opened = self.call("OpenTab", pb.OpenTabRequest, url="data:text/html,<title>opened</title>").tab
        self.assertEqual((opened.url, opened.title), ("data:text/html,<title>opened</title>", "opened"))
        blank = self.call("OpenTab", pb.OpenTabRequest, background=True).tab.tab_id
        reply = self.call("Navigate", pb.NavigateRequest, url="data:text/html,<title>b</title>",
                          tab_id=blank)
        self.assertEqual(reply.title, "b")
        for tab in (opened.tab_id, blank):
            self.call("CloseTab", pb.CloseTabRequest, tab_id=tab)


if __name__ == "__main__":
    unittest.main()
