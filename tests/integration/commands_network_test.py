#!/usr/bin/python3
"""Network controls of a real foxpoold with real Firefox: block rules, extra
headers, user agent, proxies (HTTP with and without credentials, SOCKS5,
SOCKS4a) and waiting for network idle, each observed on the test's own
servers; and that none of them outlives its lease.

Usage: commands_network_test.py FOXPOOLD_BINARY SOURCE_DIR (PYTHONPATH must
reach the generated stubs).
"""
import base64
import json
import socket
import socketserver
import struct
import sys
import threading
import unittest
import uuid
import zlib

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import CommandTestCase, Foxpoold, free_port, serve, stop_serving, wait_until
from foxpoold import QuietHandler as BaseQuietHandler

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."

# Hosts that never resolve: a page from one of them came through a proxy.
PROXIED_HOST = "foxpool-proxy-test.invalid"
SOCKS_HOST = "foxpool-socks-test.invalid"
USER_AGENT = "FoxpoolTest/1.0 (network controls; +ua)"
HOLD_LIMIT = 60  # seconds a held request waits for its release at most


def png(width, height):
    """A valid opaque RGB PNG of the given size."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def basic(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def html(body):
    return ("text/html; charset=utf-8", f"<!DOCTYPE html>{body}".encode())


def site_page(path, token):
    """The test site's resources; `token` (from ?t=) keeps every load uncached."""
    q = f"?t={token}"
    if path == "/page":
        return html(f'<html><head><title>page</title><link rel="stylesheet" href="/style.css{q}">'
                    f'<script src="/script.js{q}"></script></head>'
                    f'<body><p id="text">text</p><img id="img" src="/img.png{q}"></body></html>')
    if path == "/script.js":
        return ("text/javascript", b'document.documentElement.dataset.script = "ran";')
    if path == "/style.css":
        return ("text/css", (f'@font-face {{ font-family: T; src: url("/font.woff{q}"); }}'
                             "#text { font-family: T; } body { color: rgb(1, 2, 3); }").encode())
    if path == "/font.woff":
        return ("font/woff", b"not really a font")
    if path == "/img.png":
        return ("image/png", png(2, 3))
    if path == "/ua":
        # The first script of the page records what it sees; so does its frame's.
        return html("<html><head><script>document.documentElement.dataset.ua = navigator.userAgent;"
                    f'</script><title>ua</title></head><body><iframe src="/ua-frame{q}"></iframe>'
                    "</body></html>")
    if path == "/ua-frame":
        return html("<html><head><script>document.documentElement.dataset.ua = navigator.userAgent;"
                    "</script></head><body>frame</body></html>")
    if path == "/fetching":
        return html(f'<html><head><title>fetching</title><script>fetch("/hold/{token}")'
                    "</script></head><body>fetching</body></html>")
    if path == "/chain":
        return html(f'<html><head><title>chain</title><script>fetch("/hold/{token}-a")'
                    f'.then(() => fetch("/hold/{token}-b"))</script></head><body>chain</body></html>')
    return None


class QuietHandler(BaseQuietHandler):
    protocol_version = "HTTP/1.1"


class Site:
    """The test's web site on 127.0.0.1: records every request (path and
    headers); /hold/NAME answers only once the test releases NAME."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (path with query, headers)
        self.holds = {}     # name → threading.Event
        site = self

        class Handler(QuietHandler):
            def do_GET(self):
                with site.lock:
                    site.requests.append((self.path, self.headers))
                path, _, query = self.path.partition("?")
                token = query[2:] if query.startswith("t=") else ""
                if path.startswith("/hold/"):
                    site.hold(path[len("/hold/"):]).wait(HOLD_LIMIT)
                    page = ("text/plain", b"released")
                else:
                    page = site_page(path, token)
                if page is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", page[0])
                self.send_header("Content-Length", str(len(page[1])))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(page[1])

        self.server = serve(Handler, daemon_threads=True)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def hold(self, name):
        with self.lock:
            return self.holds.setdefault(name, threading.Event())

    def release_all(self):
        with self.lock:
            for event in self.holds.values():
                event.set()

    def seen(self, path, token):
        """The headers of each request for `path` with ?t=token."""
        with self.lock:
            return [headers for p, headers in self.requests if p == f"{path}?t={token}"]

    def seen_path(self, path):
        with self.lock:
            return [headers for p, headers in self.requests if p == path]

    def close(self):
        self.release_all()
        stop_serving(self.server)


class HttpProxy:
    """A forward HTTP proxy that answers every absolute-URI GET itself with a
    page naming the host it was asked for. With `credentials` ("user:pass")
    it first demands Basic proxy authentication."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (absolute URI or "CONNECT host:port", Proxy-Authorization or None)
        self.credentials = None
        proxy = self

        class Handler(QuietHandler):
            def authorized(self, what):
                authorization = self.headers.get("Proxy-Authorization")
                with proxy.lock:
                    proxy.requests.append((what, authorization))
                    wanted = proxy.credentials
                if wanted and authorization != basic(wanted):
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="foxpool-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                return True

            def do_CONNECT(self):
                # Recorded, then refused: the tests need only the request.
                if self.authorized(f"CONNECT {self.path}"):
                    self.send_error(502)

            def do_GET(self):
                if not self.authorized(self.path):
                    return
                host = self.path.split("/")[2] if self.path.startswith("http://") else "?"
                body = f"<!DOCTYPE html><title>proxied {host}</title><p>via proxy</p>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = serve(Handler, daemon_threads=True)
        self.port = self.server.server_address[1]

    def seen(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        stop_serving(self.server)


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        more = sock.recv(n - len(data))
        if not more:
            raise ConnectionError("client went away")
        data += more
    return data


class SocksProxy:
    """A SOCKS5 server (RFC 1928, with RFC 1929 username/password when
    `credentials` is set) that also speaks SOCKS4a; it records each CONNECT
    target and answers the HTTP request on the tunnel itself with a page
    naming that target."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connects = []  # see handshake4 and handshake5
        self.credentials = None
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    proxy.serve(self.request)
                except (ConnectionError, OSError):
                    pass

        self.server = serve(Handler, socketserver.ThreadingTCPServer, daemon_threads=True)
        self.port = self.server.server_address[1]

    def serve(self, sock):
        version = read_exactly(sock, 1)[0]
        target = self.handshake4(sock) if version == 4 else self.handshake5(sock)
        if target is None:
            return
        with self.lock:
            self.connects.append(target)
        request = b""
        while b"\r\n\r\n" not in request:
            more = sock.recv(4096)
            if not more:
                return
            request += more
        body = f"<!DOCTYPE html><title>socks {target[1]}</title><p>via socks</p>".encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def handshake4(self, sock):
        """SOCKS4a: the target as ("4a", host, port, user id) or ("4", ...)."""
        _, port, address = struct.unpack(">BH4s", read_exactly(sock, 7))

        def text():
            data = b""
            while not data.endswith(b"\0"):
                data += read_exactly(sock, 1)
            return data[:-1].decode()

        user = text()
        named = address[:3] == b"\0\0\0" and address[3] != 0
        host = text() if named else socket.inet_ntoa(address)
        sock.sendall(b"\x00\x5a" + b"\0" * 6)  # Granted.
        return ("4a" if named else "4", host, port, user)

    def handshake5(self, sock):
        """The target as (address type, host, port, (user, password) or None)."""
        methods = read_exactly(sock, read_exactly(sock, 1)[0])
        wanted = self.credentials
        method = 0x02 if wanted else 0x00
        if method not in methods:
            sock.sendall(b"\x05\xff")
            return None
        sock.sendall(bytes([5, method]))
        login = None
        if wanted:
            _, user_length = read_exactly(sock, 2)
            user = read_exactly(sock, user_length).decode()
            password = read_exactly(sock, read_exactly(sock, 1)[0]).decode()
            login = (user, password)
            sock.sendall(b"\x01\x00" if login == wanted else b"\x01\x01")
            if login != wanted:
                return None
        _, _, _, address_type = read_exactly(sock, 4)  # version, CONNECT, reserved
        if address_type == 3:
            host = read_exactly(sock, read_exactly(sock, 1)[0]).decode()
        elif address_type == 1:
            host = socket.inet_ntoa(read_exactly(sock, 4))
        else:
            host = socket.inet_ntop(socket.AF_INET6, read_exactly(sock, 16))
        port = struct.unpack(">H", read_exactly(sock, 2))[0]
        sock.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")  # Connected.
        return (address_type, host, port, login)

    def seen(self):
        with self.lock:
            return list(self.connects)

    def close(self):
        stop_serving(self.server)


def token():
    return uuid.uuid4().hex[:12]


class NetworkCommandsTest(CommandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site()
        cls.proxy = HttpProxy()
        cls.socks = SocksProxy()
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1)

    @classmethod
    def tearDownClass(cls):
        cls.site.release_all()
        code = cls.foxpoold.stop()
        cls.site.close()
        cls.proxy.close()
        cls.socks.close()
        assert code == 0, f"foxpoold exited with {code}"

    def setUp(self):
        self.stub = self.foxpoold.stub
        self.lease = self.acquire()
        self.proxy.credentials = None
        self.socks.credentials = None

    def tearDown(self):
        self.release(self.lease)

    # ---- helpers ----

    def acquire(self):
        return self.stub.Acquire(pb.AcquireRequest(labels={"test": self.id().split(".")[-1]}),
                                 timeout=90).lease_id

    def release(self, lease):
        self.stub.Release(pb.ReleaseRequest(lease_id=lease), timeout=60)

    def call(self, rpc, request_type, **fields):
        return getattr(self.stub, rpc)(request_type(lease_id=self.lease, **fields), timeout=60)

    def navigate(self, url):
        return self.call("Navigate", pb.NavigateRequest, url=url)

    def evaluate(self, expression):
        reply = self.call("Evaluate", pb.EvaluateRequest, expression=expression)
        return json.loads(reply.result_json)

    def block(self, patterns=(), types=()):
        self.call("SetBlockRules", pb.SetBlockRulesRequest, url_patterns=list(patterns),
                  resource_types=list(types))

    def set_proxy(self, **fields):
        self.call("SetProxy", pb.SetProxyRequest, **fields)

    def load_site_page(self):
        """Loads /page with a fresh token; returns the token."""
        t = token()
        self.navigate(f"{self.site.base}/page?t={t}")
        return t

    def image_width(self):
        # Blocked or not, the image has settled once the load event fired.
        return self.evaluate("document.getElementById('img').naturalWidth")

    # ---- block rules ----

    def test_block_images_by_type_then_clear(self):
        self.block(types=[pb.RESOURCE_TYPE_IMAGE])
        t = self.load_site_page()
        self.assertEqual(self.image_width(), 0)
        self.assertEqual(self.site.seen("/img.png", t), [])
        self.assertEqual(len(self.site.seen("/page", t)), 1)
        self.assertEqual(len(self.site.seen("/script.js", t)), 1)
        self.assertEqual(self.evaluate("document.documentElement.dataset.script"), "ran")

        self.block()
        t = self.load_site_page()
        self.assertEqual(self.image_width(), 2)
        self.assertEqual(len(self.site.seen("/img.png", t)), 1)

    def test_block_script_by_url_pattern(self):
        # Patterns match the whole URL: one without `*` around the path
        # blocks nothing else on the site.
        self.block(patterns=["script.js", "*/script.js?t=*"])
        t = self.load_site_page()
        self.assertEqual(self.site.seen("/script.js", t), [])
        self.assertIsNone(self.evaluate("document.documentElement.dataset.script ?? null"))
        self.assertEqual(self.image_width(), 2)
        self.assertEqual(len(self.site.seen("/style.css", t)), 1)

        self.block(patterns=[f"{self.site.base}/img.*"])
        t = self.load_site_page()
        self.assertEqual(self.image_width(), 0)
        self.assertEqual(self.site.seen("/img.png", t), [])
        self.assertEqual(self.evaluate("document.documentElement.dataset.script"), "ran")

    def test_block_stylesheets_and_fonts(self):
        color = "getComputedStyle(document.body).color"
        self.block(types=[pb.RESOURCE_TYPE_STYLESHEET])
        t = self.load_site_page()
        self.assertEqual(self.site.seen("/style.css", t), [])
        self.assertNotEqual(self.evaluate(color), "rgb(1, 2, 3)")
        self.assertEqual(self.image_width(), 2)

        self.block(types=[pb.RESOURCE_TYPE_FONT])
        t = self.load_site_page()
        self.assertEqual(len(self.site.seen("/style.css", t)), 1)
        self.assertEqual(self.evaluate(color), "rgb(1, 2, 3)")
        # The face fails once its load has been refused.
        status = self.evaluate("document.fonts.ready.then(() => [...document.fonts].map(f => f.status))")
        self.assertEqual(status, ["error"])
        self.assertEqual(self.site.seen("/font.woff", t), [])

        self.block()
        t = self.load_site_page()
        self.evaluate("document.fonts.ready.then(() => true)")
        wait_until(lambda: self.site.seen("/font.woff", t), 30, "the font request")

    def test_block_fetch_frames_and_websockets(self):
        probe = ("async (base, t) => {"
                 " const fetched = await fetch(`/img.png?t=${t}`).then(() => 'ok', e => e.name);"
                 " const socket = await new Promise((done) => {"
                 "  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?t=${t}`);"
                 "  ws.onerror = () => done('error'); ws.onopen = () => done('open'); });"
                 " return [fetched, socket]; }")

        def run_probe(t):
            reply = self.call("Evaluate", pb.EvaluateRequest, expression=probe,
                              args_json=json.dumps([self.site.base, t]))
            return json.loads(reply.result_json)

        self.block(types=[pb.RESOURCE_TYPE_XHR, pb.RESOURCE_TYPE_SUBFRAME, pb.RESOURCE_TYPE_WEBSOCKET])
        t = token()
        self.navigate(f"{self.site.base}/ua?t={t}")
        self.assertEqual(len(self.site.seen("/ua", t)), 1)
        self.assertEqual(self.site.seen("/ua-frame", t), [])
        self.assertEqual(run_probe(t), ["TypeError", "error"])
        self.assertEqual(self.site.seen("/img.png", t), [])
        self.assertEqual(self.site.seen("/ws", t), [])

        self.block()
        t = token()
        self.navigate(f"{self.site.base}/ua?t={t}")
        self.assertEqual(len(self.site.seen("/ua-frame", t)), 1)
        # The site answers the WebSocket handshake with 404: the socket
        # fails, but only after its request reached the server.
        self.assertEqual(run_probe(t), ["ok", "error"])
        self.assertEqual(len(self.site.seen("/img.png", t)), 1)
        self.assertEqual(len(self.site.seen("/ws", t)), 1)

    def test_block_everything_keeps_the_hub(self):
        self.block(patterns=["*"])
        t = token()
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE,
                         lambda: self.navigate(f"{self.site.base}/page?t={t}"))
        self.assertEqual(self.site.seen("/page", t), [])
        # Commands still reach the window (its hub connection is not a page's).
        self.call("GetTitle", pb.GetTitleRequest)
        self.block()
        self.load_site_page()

    def test_block_rules_reject_bad_input(self):
        self.block(types=[pb.RESOURCE_TYPE_IMAGE])
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.block(patterns=[""]))
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: self.block(types=[pb.RESOURCE_TYPE_UNSPECIFIED]))
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: self.block(patterns=["*"], types=[pb.RESOURCE_TYPE_SCRIPT, 99]))
        # A refused request left the rules as they were.
        t = self.load_site_page()
        self.assertEqual(self.image_width(), 0)
        self.assertEqual(len(self.site.seen("/script.js", t)), 1)

    # ---- headers and user agent ----

    def test_extra_headers_added_and_replaced(self):
        self.call("SetExtraHeaders", pb.SetExtraHeadersRequest,
                  headers={"X-Foxpool-Test": "one", "accept-language": "xx-YY"})
        t = self.load_site_page()
        for path in ("/page", "/img.png", "/script.js"):
            [headers] = self.site.seen(path, t)
            self.assertEqual(headers.get_all("X-Foxpool-Test"), ["one"], path)
            self.assertEqual(headers.get_all("Accept-Language"), ["xx-YY"], path)

        self.call("SetExtraHeaders", pb.SetExtraHeadersRequest, headers={"X-Foxpool-Other": "two"})
        t = self.load_site_page()
        [headers] = self.site.seen("/page", t)
        self.assertIsNone(headers.get("X-Foxpool-Test"))
        self.assertEqual(headers.get("X-Foxpool-Other"), "two")
        self.assertNotEqual(headers.get("Accept-Language"), "xx-YY")

        self.call("SetExtraHeaders", pb.SetExtraHeadersRequest)
        t = self.load_site_page()
        [headers] = self.site.seen("/page", t)
        self.assertIsNone(headers.get("X-Foxpool-Other"))

    def test_extra_headers_reject_bad_input(self):
        for headers in ({"Bad Header": "x"}, {"X-Ok": "line\r\nInjected: yes"}, {"X-Ok": "a\nb"},
                        {"": "x"}, {"X(paren)": "x"}):
            self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                             lambda: self.call("SetExtraHeaders", pb.SetExtraHeadersRequest,
                                               headers=headers))

    def ua_seen_by_scripts(self):
        return self.evaluate("[document.documentElement.dataset.ua,"
                             " frames[0].document.documentElement.dataset.ua, navigator.userAgent]")

    def test_user_agent_header_and_navigator(self):
        self.call("SetUserAgent", pb.SetUserAgentRequest, user_agent=USER_AGENT)
        t = token()
        self.navigate(f"{self.site.base}/ua?t={t}")
        [page] = self.site.seen("/ua", t)
        [frame] = self.site.seen("/ua-frame", t)
        self.assertEqual(page.get_all("User-Agent"), [USER_AGENT])
        self.assertEqual(frame.get_all("User-Agent"), [USER_AGENT])
        # The page's first inline script, in the top document and its frame.
        self.assertEqual(self.ua_seen_by_scripts(), [USER_AGENT] * 3)

        self.call("SetUserAgent", pb.SetUserAgentRequest)
        t = token()
        self.navigate(f"{self.site.base}/ua?t={t}")
        [page] = self.site.seen("/ua", t)
        self.assertIn("Firefox/", page.get("User-Agent"))
        seen = self.ua_seen_by_scripts()
        self.assertEqual(seen, [page.get("User-Agent")] * 3)

        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: self.call("SetUserAgent", pb.SetUserAgentRequest, user_agent="a\nb"))

    # ---- proxies ----

    def test_http_proxy_bypass_and_direct(self):
        self.set_proxy(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=self.proxy.port,
                       bypass=["*.bypass.invalid", "exact-bypass.invalid"])
        reply = self.navigate(f"http://{PROXIED_HOST}/page")
        self.assertEqual(reply.title, f"proxied {PROXIED_HOST}")
        self.assertIn((f"http://{PROXIED_HOST}/page", None), self.proxy.seen())

        # Bypassed hosts go direct, where .invalid does not resolve.
        for host in ("a.bypass.invalid", "exact-bypass.invalid"):
            self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(f"http://{host}/"),
                             "NS_ERROR_UNKNOWN_HOST")
            self.assertEqual([p for p, _ in self.proxy.seen() if host in p], [])

        self.set_proxy()  # DIRECT
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE,
                         lambda: self.navigate(f"http://{PROXIED_HOST}/direct"), "NS_ERROR_UNKNOWN_HOST")
        self.assertNotIn(f"http://{PROXIED_HOST}/direct", [p for p, _ in self.proxy.seen()])

    def proxy_auth_seen(self, what):
        return [auth for path, auth in self.proxy.seen() if path == what]

    def test_http_proxy_authentication(self):
        self.proxy.credentials = "fox:s3cret"
        proxy = dict(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=self.proxy.port)

        # Wrong credentials: sent, challenged, answered once, then the
        # request fails (no loop, no login prompt).
        self.set_proxy(**proxy, username="fox", password="wrong")
        url = f"http://{PROXIED_HOST}/wrong-{token()}"
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(url))
        self.assertEqual(self.proxy_auth_seen(url), [basic("fox:wrong")] * 2)

        # Right ones go with the request itself.
        self.set_proxy(**proxy, username="fox", password="s3cret")
        url = f"http://{PROXIED_HOST}/auth-{token()}"
        self.assertEqual(self.navigate(url).title, f"proxied {PROXIED_HOST}")
        self.assertEqual(self.proxy_auth_seen(url), [basic("fox:s3cret")])

        # An https: page's tunnel: the proxy's challenge is answered.
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(f"https://{PROXIED_HOST}/"))
        self.assertEqual(self.proxy_auth_seen(f"CONNECT {PROXIED_HOST}:443")[-1], basic("fox:s3cret"))

        # Without credentials none are sent (not even Firefox's cached
        # ones), and the challenge fails the request.
        self.set_proxy(**proxy)
        url = f"http://{PROXIED_HOST}/none-{token()}"
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(url))
        self.assertEqual(self.proxy_auth_seen(url), [None])

    def test_tunnel_credentials_do_not_outlive_the_lease(self):
        # Firefox's HTTP auth cache keeps the identity answered to a CONNECT
        # challenge and no extension API clears it (see network_proxy.js):
        # the reset fails on purpose and the pool recycles the window.
        self.proxy.credentials = "fox:s3cret"
        proxy = dict(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=self.proxy.port)
        self.set_proxy(**proxy, username="fox", password="s3cret")
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(f"https://{PROXIED_HOST}/"))
        self.release(self.lease)
        self.lease = self.acquire()
        self.set_proxy(**proxy)
        before = len(self.proxy_auth_seen(f"CONNECT {PROXIED_HOST}:443"))
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(f"https://{PROXIED_HOST}/"))
        self.assertEqual(self.proxy_auth_seen(f"CONNECT {PROXIED_HOST}:443")[before:], [None])

    def test_socks5_proxy(self):
        self.set_proxy(type=pb.PROXY_TYPE_SOCKS5, host="127.0.0.1", port=self.socks.port)
        reply = self.navigate(f"http://{SOCKS_HOST}/")
        self.assertEqual(reply.title, f"socks {SOCKS_HOST}")
        # The proxy resolved the name: the CONNECT carried it as a domain.
        self.assertIn((3, SOCKS_HOST, 80, None), self.socks.seen())

        self.socks.credentials = ("fox", "s0cks")
        self.set_proxy(type=pb.PROXY_TYPE_SOCKS5, host="127.0.0.1", port=self.socks.port,
                       username="fox", password="s0cks")
        reply = self.navigate(f"http://auth.{SOCKS_HOST}/")
        self.assertEqual(reply.title, f"socks auth.{SOCKS_HOST}")
        self.assertIn((3, f"auth.{SOCKS_HOST}", 80, ("fox", "s0cks")), self.socks.seen())

    def test_socks4_proxy(self):
        self.set_proxy(type=pb.PROXY_TYPE_SOCKS4, host="127.0.0.1", port=self.socks.port,
                       username="fox4")
        reply = self.navigate(f"http://four.{SOCKS_HOST}:8080/")
        self.assertEqual(reply.title, f"socks four.{SOCKS_HOST}")
        # SOCKS4a: the proxy got the name, not an address resolved here.
        self.assertIn(("4a", f"four.{SOCKS_HOST}", 8080, "fox4"), self.socks.seen())

    def test_dead_proxy_keeps_the_hub(self):
        port = free_port()
        self.set_proxy(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=port)
        self.assertIsInstance(self.call("GetTitle", pb.GetTitleRequest).title, str)
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE,
                         lambda: self.navigate(f"http://{PROXIED_HOST}/dead"),
                         "NS_ERROR_PROXY_CONNECTION_REFUSED")
        self.assertIsInstance(self.call("GetUrl", pb.GetUrlRequest).url, str)

    def test_proxy_rejects_bad_input(self):
        bad = [dict(type=pb.PROXY_TYPE_HTTP, host="", port=8080),
               dict(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=0),
               dict(type=pb.PROXY_TYPE_SOCKS5, host="127.0.0.1", port=70000),
               dict(type=pb.PROXY_TYPE_HTTPS, host="127.0.0.1", port=-1),
               dict(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=8080, bypass=[""])]
        for fields in bad:
            self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.set_proxy(**fields))

    # ---- network idle ----

    def wait_idle(self, idle_ms, timeout_ms=None):
        request = pb.WaitForNetworkIdleRequest(lease_id=self.lease)
        request.idle_time.FromMilliseconds(idle_ms)
        if timeout_ms:
            request.timeout.FromMilliseconds(timeout_ms)
        return self.stub.WaitForNetworkIdle(request, timeout=60)

    def test_wait_for_network_idle_waits_for_held_requests(self):
        # The page fetches /hold/NAME-a, and once that ends, /hold/NAME-b.
        name = token()
        self.navigate(f"{self.site.base}/chain?t={name}")
        wait_until(lambda: self.site.seen_path(f"/hold/{name}-a"), 30, "the page's first fetch")
        outcome = {}

        def wait():
            try:
                outcome["reply"] = self.wait_idle(500)
            except grpc.RpcError as e:
                outcome["error"] = e

        waiter = threading.Thread(target=wait)
        waiter.start()
        # The first request ends; the second starts at once and is held.
        self.site.hold(f"{name}-a").set()
        wait_until(lambda: self.site.seen_path(f"/hold/{name}-b"), 30, "the page's second fetch")
        self.assertTrue(waiter.is_alive())

        def release():
            outcome["done before release"] = not waiter.is_alive()
            self.site.hold(f"{name}-b").set()

        # The server holds the second request for about a second more.
        timer = threading.Timer(1.0, release)
        timer.start()
        waiter.join(60)
        timer.join()
        self.assertNotIn("error", outcome)
        self.assertFalse(outcome["done before release"])
        self.assertGreaterEqual(outcome["reply"].waited.ToMilliseconds(), 500)

        # Quiet now: the next wait needs only the idle time.
        self.assertGreaterEqual(self.wait_idle(100).waited.ToMilliseconds(), 100)

    def test_wait_for_network_idle_times_out(self):
        name = token()
        self.navigate(f"{self.site.base}/fetching?t={name}")
        wait_until(lambda: self.site.seen_path(f"/hold/{name}"), 30, "the page's fetch")
        try:
            self.assert_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: self.wait_idle(200, 1500),
                             "1 request(s) still in flight", f"/hold/{name}")
        finally:
            self.site.hold(name).set()
        self.wait_idle(100)

    def test_wait_for_network_idle_rejects_bad_input(self):
        request = pb.WaitForNetworkIdleRequest(lease_id=self.lease, tab_id=987654)
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND,
                         lambda: self.stub.WaitForNetworkIdle(request, timeout=60), "987654")
        request = pb.WaitForNetworkIdleRequest(lease_id=self.lease)
        request.idle_time.FromMilliseconds(-5)
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: self.stub.WaitForNetworkIdle(request, timeout=60))

    # ---- leases ----

    def test_next_lease_is_clean(self):
        self.block(types=[pb.RESOURCE_TYPE_IMAGE], patterns=["*/script.js*"])
        self.call("SetExtraHeaders", pb.SetExtraHeadersRequest, headers={"X-Foxpool-Leak": "1"})
        self.call("SetUserAgent", pb.SetUserAgentRequest, user_agent=USER_AGENT)
        self.set_proxy(type=pb.PROXY_TYPE_HTTP, host="127.0.0.1", port=self.proxy.port)
        self.assertEqual(self.navigate(f"http://{PROXIED_HOST}/leased").title,
                         f"proxied {PROXIED_HOST}")
        self.release(self.lease)
        self.lease = self.acquire()

        t = self.load_site_page()
        self.assertEqual(self.image_width(), 2)
        self.assertEqual(self.evaluate("document.documentElement.dataset.script"), "ran")
        [headers] = self.site.seen("/page", t)
        self.assertIsNone(headers.get("X-Foxpool-Leak"))
        self.assertIn("Firefox/", headers.get("User-Agent"))
        self.assertNotEqual(headers.get("User-Agent"), USER_AGENT)
        t = token()
        self.navigate(f"{self.site.base}/ua?t={t}")
        self.assertEqual(self.ua_seen_by_scripts(), [self.site.seen("/ua", t)[0].get("User-Agent")] * 3)
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE,
                         lambda: self.navigate(f"http://{PROXIED_HOST}/after"), "NS_ERROR_UNKNOWN_HOST")
        self.assertNotIn(f"http://{PROXIED_HOST}/after", [p for p, _ in self.proxy.seen()])


if __name__ == "__main__":
    unittest.main()
