#!/usr/bin/python3
"""Script, storage, page events and dialogs, on a real foxpoold and Firefox.

Evaluate in frames, preload scripts (also under a strict CSP, and undone by
the reset between leases), cookies against the test's own HTTP server,
localStorage / sessionStorage, and the Session stream's page events
(console, uncaught errors, navigations, dialogs under each dialog policy).

Usage: commands_script_storage_test.py FOXPOOLD_BINARY SOURCE_DIR
(PYTHONPATH must reach the generated stubs and foxpoold.py).
"""
import http.server
import json
import queue
import sys
import threading
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, free_port, serve, stop_serving, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."

HTML = "text/html; charset=utf-8"
JS = "text/javascript"
STRICT_CSP = ("Content-Security-Policy", "script-src 'self'")

# A page that records, from its own first script, what a preload script
# left behind; `window.__preloaded` counts the preload's runs.
RECORD = "document.title = 'preloaded=' + window.__preloaded;"
PRELOAD = "window.__preloaded = (window.__preloaded || 0) + 1;"

PAGES = {
    "/frames": (HTML, b"<!doctype html><title>frames</title><script>var who = 'top';</script>"
                      b"<iframe name='child' src='/child'></iframe>", []),
    "/sandboxed": (HTML, b"<!doctype html><title>sandboxed</title>"
                         b"<iframe name='boxed' sandbox='allow-scripts' src='/child'></iframe>", []),
    "/child": (HTML, b"<!doctype html><title>child</title><script>var who = 'child';</script>", []),
    "/preload": (HTML, f"<!doctype html><title>-</title><script>{RECORD}</script>"
                       "<iframe name='inner' src='/preload-child'></iframe>".encode(), []),
    "/preload-child": (HTML, f"<!doctype html><title>-</title><script>{RECORD}</script>".encode(), []),
    "/preload-csp": (HTML, b"<!doctype html><title>-</title><script src='/record.js'></script>",
                     [STRICT_CSP]),
    "/preload-meta-csp": (HTML, b"<!doctype html><meta http-equiv='Content-Security-Policy' "
                               b"content=\"script-src 'self'\"><title>-</title><script src='/record.js'></script>",
                          []),
    "/preload-nonce-csp": (HTML, f"<!doctype html><title>-</title><script nonce='n0nce'>{RECORD}</script>".encode(),
                           [("Content-Security-Policy", "default-src 'none'; script-src 'nonce-n0nce' 'strict-dynamic'")]),
    "/record.js": (JS, RECORD.encode(), []),
    "/set-cookies": (HTML, b"<!doctype html><title>cookies</title>",
                     [("Set-Cookie", "plain=p1; Path=/"),
                      ("Set-Cookie", "guarded=g1; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600")]),
    "/echo": (HTML, b"<!doctype html><title>echo</title>", []),
    "/events": (HTML, b"""<!doctype html><title>events</title><body><p id=answers></p><script>
console.log("hello %s", "world", {n: 1});
console.warn("careful", 42);
console.error(new RangeError("out of range"));
console.info("x".repeat(20000));
document.getElementById("answers").textContent =
    JSON.stringify([confirm("sure?"), prompt("name?", "nobody")]);
setTimeout(() => { throw new TypeError("boom"); }, 0);
Promise.reject(new Error("rejected"));
</script>""", []),
}


class PageServer:
    """Serves PAGES on 127.0.0.1 (with their extra headers) and records the
    Cookie header of each request: {path: [cookie header or None]}."""

    def __init__(self):
        self.cookies = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                server.cookies.setdefault(path, []).append(self.headers.get("Cookie"))
                page = PAGES.get(path)
                if page is None:
                    self.send_error(404)
                    return
                content_type, body, headers = page
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        stop_serving(self.server)


class Session:
    """A Session stream: commands by id, events collected as they come."""

    def __init__(self, stub, acquire):
        self.outgoing = queue.Queue()
        self.outgoing.put(pb.SessionRequest(acquire=acquire))
        self.responses = stub.Session(iter(self.outgoing.get, None), timeout=300)
        first = next(self.responses)
        assert first.HasField("acquired"), first
        self.lease_id = first.acquired.lease_id
        self.events = []
        self.results = {}
        self.next_id = 0
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        try:
            for response in self.responses:
                with self.changed:
                    if response.HasField("event"):
                        self.events.append(response.event)
                    elif response.HasField("result"):
                        self.results[response.result.id] = response.result
                    self.changed.notify_all()
        except grpc.RpcError:
            pass  # The stream ended (closed by close()).

    def _wait(self, condition, timeout, what):
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            return condition()

    def command(self, timeout=60, **command):
        self.next_id += 1
        command_id = self.next_id
        self.outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=command_id, **command)))
        return self._wait(lambda: self.results.get(command_id), timeout, f"result of {command}")

    def ok(self, **command):
        result = self.command(**command)
        assert result.code == 0, f"{command} failed: {result.code} {result.message}"
        return result

    def evaluate(self, expression):
        result = self.ok(evaluate=pb.EvaluateRequest(expression=expression))
        return json.loads(result.evaluate.result_json)

    def wait_event(self, predicate, what, timeout=30):
        return self._wait(lambda: next((e for e in self.events if predicate(e)), None), timeout, what)

    def close(self):
        self.outgoing.put(None)
        self.reader.join(timeout=60)


class ScriptStorageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pages = PageServer()
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1)
        cls.stub = cls.foxpoold.stub

    @classmethod
    def tearDownClass(cls):
        code = cls.foxpoold.stop()
        cls.pages.close()
        assert code == 0, f"foxpoold exited with {code}"

    def setUp(self):
        self.lease = self.acquire()

    def tearDown(self):
        if self.lease is not None:
            self.release(self.lease)

    def acquire(self, **options):
        return self.stub.Acquire(pb.AcquireRequest(**options), timeout=120).lease_id

    def release(self, lease):
        self.stub.Release(pb.ReleaseRequest(lease_id=lease), timeout=60)
        # The window's reset runs after Release answers; wait for it.
        wait_until(lambda: self.foxpoold.status().idle >= 1, 60, "the window back in the pool")

    def url(self, path):
        return self.pages.base + path

    def navigate(self, path):
        return self.stub.Navigate(pb.NavigateRequest(lease_id=self.lease, url=self.url(path)), timeout=60)

    def evaluate(self, expression, **fields):
        reply = self.stub.Evaluate(pb.EvaluateRequest(lease_id=self.lease, expression=expression, **fields),
                                   timeout=60)
        return json.loads(reply.result_json)

    def title(self):
        return self.stub.GetTitle(pb.GetTitleRequest(lease_id=self.lease), timeout=30).title

    def assert_code(self, code, call, *args, contains=None):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, timeout=60)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        if contains is not None:
            self.assertIn(contains, raised.exception.details())
        return raised.exception.details()

    # ------------------------------------------------------------ evaluate

    def test_evaluate_in_a_frame_sees_the_frames_globals(self):
        self.navigate("/frames")
        wait_until(lambda: self.evaluate("window.frames.length && window.frames[0].document.readyState")
                   == "complete", 30, "the child frame to load")
        self.assertEqual(self.evaluate("who"), "top")
        child = pb.Target(frame=pb.FrameSelector(name="child"))
        self.assertEqual(self.evaluate("who", target=child), "child")
        self.assertEqual(self.evaluate("(a, b) => [who, a + b]", target=child, args_json="[2, 3]"),
                         ["child", 5])
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="1",
                                            target=pb.Target(frame=pb.FrameSelector(name="nope"))),
                         contains="nope")

    def test_evaluate_errors(self):
        self.navigate("/frames")
        details = self.assert_code(
            grpc.StatusCode.UNKNOWN, self.stub.Evaluate,
            pb.EvaluateRequest(lease_id=self.lease,
                               expression="function explode() { throw new TypeError('bad thing'); }\nexplode()"))
        self.assertIn("TypeError: bad thing", details)
        self.assertIn("explode@", details)  # The stack, with the throwing function.
        # A SyntaxError the script throws while running is the script's error.
        self.assert_code(grpc.StatusCode.UNKNOWN, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="JSON.parse('{')"),
                         contains="SyntaxError")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="let = = 1"),
                         contains="SyntaxError")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="({body: document.body})"),
                         contains="DOM node")
        self.assert_code(grpc.StatusCode.DEADLINE_EXCEEDED, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="new Promise(() => {})",
                                            timeout=duration_pb2.Duration(seconds=1)))
        self.assert_code(grpc.StatusCode.RESOURCE_EXHAUSTED, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="'x'.repeat(17 << 20)"))
        # A page whose Content-Security-Policy forbids eval.
        self.navigate("/preload-csp")
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Evaluate,
                         pb.EvaluateRequest(lease_id=self.lease, expression="1"),
                         contains="Content-Security-Policy")
        self.navigate("/frames")
        self.assertEqual(self.evaluate("async () => { await null; return {ok: [1, 'two']}; }"),
                         {"ok": [1, "two"]})
        self.assertIsNone(self.evaluate("undefined"))

    # ----------------------------------------------------- preload scripts

    def add_preload(self, source=PRELOAD, **fields):
        return self.stub.AddPreloadScript(pb.AddPreloadScriptRequest(lease_id=self.lease, source=source, **fields),
                                          timeout=30).script_id

    def frame_title(self, name):
        return self.evaluate("document.title", target=pb.Target(frame=pb.FrameSelector(name=name)))

    def test_preload_script_runs_before_the_pages_scripts(self):
        script_id = self.add_preload()
        self.navigate("/preload")
        # The page's first inline script saw it, in the top document and in
        # the frame, and it ran once in each.
        self.assertEqual(self.title(), "preloaded=1")
        wait_until(lambda: self.frame_title("inner") == "preloaded=1", 30, "the frame's record")
        # Under a Content-Security-Policy that forbids inline scripts: in a
        # header, in a <meta> element, with nonces and 'strict-dynamic'.
        for path in ("/preload-csp", "/preload-meta-csp", "/preload-nonce-csp"):
            self.navigate(path)
            self.assertEqual(self.title(), "preloaded=1", path)

        self.stub.RemovePreloadScript(pb.RemovePreloadScriptRequest(lease_id=self.lease, script_id=script_id),
                                      timeout=30)
        self.navigate("/preload")
        self.assertEqual(self.title(), "preloaded=undefined")
        self.navigate("/preload-csp")
        self.assertEqual(self.title(), "preloaded=undefined")
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.RemovePreloadScript,
                         pb.RemovePreloadScriptRequest(lease_id=self.lease, script_id=script_id))

    def test_preload_scripts_run_in_the_order_added(self):
        self.add_preload("window.__order = ['first'];")
        self.add_preload("window.__order.push('second');")
        self.navigate("/preload")
        self.assertEqual(self.evaluate("window.__order"), ["first", "second"])

    def test_preload_script_top_frame_only(self):
        self.add_preload(top_frame_only=True)
        self.navigate("/preload")
        self.assertEqual(self.title(), "preloaded=1")
        wait_until(lambda: self.frame_title("inner") == "preloaded=undefined", 30, "the frame's record")

    def test_preload_script_and_dialog_policy_end_with_the_lease(self):
        self.add_preload()
        self.stub.SetDialogPolicy(pb.SetDialogPolicyRequest(
            lease_id=self.lease, policy=pb.DialogPolicy(action=pb.DIALOG_ACTION_ACCEPT)), timeout=30)
        self.navigate("/preload")
        self.assertEqual(self.title(), "preloaded=1")
        self.assertTrue(self.evaluate("confirm('ok?')"))
        # The pool has one window: the next lease gets the same one, reset.
        self.release(self.lease)
        self.lease = self.acquire()
        self.navigate("/preload")
        self.assertEqual(self.title(), "preloaded=undefined")
        self.assertFalse(self.evaluate("confirm('ok?')"))

    # ------------------------------------------------------------- cookies

    def cookies(self, **fields):
        reply = self.stub.GetCookies(pb.GetCookiesRequest(lease_id=self.lease, **fields), timeout=30)
        return {c.name: c for c in reply.cookies}

    def test_cookies_set_by_the_server(self):
        self.navigate("/set-cookies")
        cookies = self.cookies()
        self.assertEqual(set(cookies), {"plain", "guarded"})
        plain, guarded = cookies["plain"], cookies["guarded"]
        self.assertEqual((plain.value, plain.domain, plain.path), ("p1", "127.0.0.1", "/"))
        self.assertEqual(plain.expires, 0)  # A session cookie.
        self.assertFalse(plain.http_only)
        self.assertEqual(guarded.value, "g1")
        self.assertTrue(guarded.http_only)
        self.assertEqual(guarded.same_site, pb.SAME_SITE_STRICT)
        self.assertAlmostEqual(guarded.expires, time.time() + 3600, delta=120)
        # By name, for an explicit URL, and in the whole window.
        self.assertEqual(set(self.cookies(name="guarded", url=self.url("/elsewhere"))), {"guarded"})
        self.assertEqual(set(self.cookies(all=True)), {"plain", "guarded"})

    def test_set_cookie_reaches_the_server_and_delete_removes_it(self):
        self.navigate("/echo")
        stored = self.stub.SetCookie(pb.SetCookieRequest(
            lease_id=self.lease,
            cookie=pb.Cookie(name="token", value="abc123", path="/", same_site=pb.SAME_SITE_LAX,
                             expires=time.time() + 600)), timeout=30).cookie
        self.assertEqual((stored.name, stored.value, stored.domain), ("token", "abc123", "127.0.0.1"))
        self.assertEqual(stored.same_site, pb.SAME_SITE_LAX)
        self.assertGreater(stored.expires, time.time())
        self.navigate("/echo")
        self.assertEqual(self.pages.cookies["/echo"][-1], "token=abc123")
        self.assertEqual(self.evaluate("document.cookie"), "token=abc123")

        reply = self.stub.DeleteCookies(pb.DeleteCookiesRequest(lease_id=self.lease, name="token"), timeout=30)
        self.assertEqual(reply.deleted, 1)
        self.assertEqual(self.cookies(), {})
        self.navigate("/echo")
        self.assertIsNone(self.pages.cookies["/echo"][-1])

    def test_invalid_cookies(self):
        self.navigate("/echo")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.SetCookie,
                         pb.SetCookieRequest(lease_id=self.lease, cookie=pb.Cookie(value="nameless")))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.SetCookie,
                         pb.SetCookieRequest(lease_id=self.lease,
                                             cookie=pb.Cookie(name="x", value="1", domain="example.com")))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.SetCookie,
                         pb.SetCookieRequest(lease_id=self.lease,
                                             cookie=pb.Cookie(name="x", value="1", same_site=pb.SAME_SITE_NONE)),
                         contains="secure")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.SetCookie,
                         pb.SetCookieRequest(lease_id=self.lease,
                                             cookie=pb.Cookie(name="x", value="1", expires=time.time() - 60)),
                         contains="in the past")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.GetCookies,
                         pb.GetCookiesRequest(lease_id=self.lease, url="ftp://127.0.0.1/"))
        self.assertEqual(self.cookies(), {})

    def test_cookies_of_a_tab_without_a_page(self):
        # A fresh lease's tab shows about:blank.
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.GetCookies,
                         pb.GetCookiesRequest(lease_id=self.lease), contains="no web page")

    # ------------------------------------------------------------- storage

    def test_local_and_session_storage(self):
        self.navigate("/frames")
        for kind, area in ((pb.STORAGE_KIND_LOCAL_UNSPECIFIED, "localStorage"),
                           (pb.STORAGE_KIND_SESSION, "sessionStorage")):
            with self.subTest(area=area):
                self.stub.SetStorage(pb.SetStorageRequest(lease_id=self.lease, kind=kind,
                                                          items={"a": "1", "b": "two"}), timeout=30)
                self.assertEqual(self.evaluate(f"[{area}.getItem('a'), {area}.getItem('b')]"), ["1", "two"])
                self.evaluate(f"{area}.setItem('c', 'from page')")
                got = self.stub.GetStorage(pb.GetStorageRequest(lease_id=self.lease, kind=kind), timeout=30)
                self.assertEqual(dict(got.items), {"a": "1", "b": "two", "c": "from page"})
                self.assertEqual(got.origin, self.pages.base)
                got = self.stub.GetStorage(pb.GetStorageRequest(lease_id=self.lease, kind=kind,
                                                                keys=["b", "missing"]), timeout=30)
                self.assertEqual(dict(got.items), {"b": "two"})
                self.stub.ClearStorage(pb.ClearStorageRequest(lease_id=self.lease, kind=kind, keys=["a"]),
                                       timeout=30)
                self.assertEqual(self.evaluate(f"Object.keys({area}).sort()"), ["b", "c"])
                self.stub.ClearStorage(pb.ClearStorageRequest(lease_id=self.lease, kind=kind), timeout=30)
                self.assertEqual(self.evaluate(f"{area}.length"), 0)
        # The other storage was not touched by the session storage calls.
        self.assertEqual(self.evaluate("localStorage.length"), 0)

    def test_storage_of_a_frame(self):
        self.navigate("/frames")
        child = pb.Target(frame=pb.FrameSelector(name="child"))
        wait_until(lambda: self.evaluate("document.readyState", target=child) == "complete", 30, "the child")
        self.stub.SetStorage(pb.SetStorageRequest(lease_id=self.lease, target=child, items={"k": "v"}),
                             timeout=30)
        # Same origin: the top document sees the item.
        self.assertEqual(self.evaluate("localStorage.getItem('k')"), "v")

    def test_storage_of_an_opaque_origin(self):
        self.navigate("/sandboxed")
        boxed = pb.Target(frame=pb.FrameSelector(name="boxed"))
        wait_until(lambda: self.evaluate("document.readyState", target=boxed) == "complete", 30, "the frame")
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.GetStorage,
                         pb.GetStorageRequest(lease_id=self.lease, target=boxed), contains="opaque origin")

    def test_storage_of_a_tab_without_a_page(self):
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.GetStorage,
                         pb.GetStorageRequest(lease_id=self.lease))
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.SetStorage,
                         pb.SetStorageRequest(lease_id=self.lease, items={"a": "1"}))

    # ---------------------------------------------------- events, dialogs

    def test_session_events_and_dialogs(self):
        self.release(self.lease)
        self.lease = None
        every_kind = [k for k in pb.SessionEvent.Kind.values() if k != pb.SessionEvent.KIND_UNSPECIFIED]
        session = Session(self.stub, pb.AcquireRequest(labels={"test": "events"}, events=every_kind))
        try:
            self.check_page_events(session)
        finally:
            session.close()
        wait_until(lambda: self.foxpoold.status().idle >= 1, 60, "the window back in the pool")

    def check_page_events(self, session):
        Kind = pb.SessionEvent
        session.ok(navigate=pb.NavigateRequest(url=self.url("/events")))
        session.wait_event(lambda e: e.kind == Kind.KIND_NAVIGATION_STARTED and e.url.endswith("/events"),
                           "navigation started")
        session.wait_event(lambda e: e.kind == Kind.KIND_NAVIGATION_FINISHED and e.url.endswith("/events"),
                           "navigation finished")
        log = session.wait_event(lambda e: e.kind == Kind.KIND_CONSOLE and e.level == "log", "console.log")
        self.assertEqual(log.text, 'hello world {"n":1}')
        self.assertTrue(log.url.endswith("/events"), log.url)
        self.assertGreater(log.tab_id, 0)
        warn = session.wait_event(lambda e: e.kind == Kind.KIND_CONSOLE and e.level == "warn", "console.warn")
        self.assertEqual(warn.text, "careful 42")
        error = session.wait_event(lambda e: e.kind == Kind.KIND_CONSOLE and e.level == "error",
                                   "console.error")
        self.assertEqual(error.text, "RangeError: out of range")
        long = session.wait_event(lambda e: e.kind == Kind.KIND_CONSOLE and e.level == "info", "console.info")
        self.assertEqual(len(long.text), 8192)  # Capped at 8 KiB.
        self.assertTrue(long.text.startswith("xxxx"))
        thrown = session.wait_event(lambda e: e.kind == Kind.KIND_PAGE_ERROR and "boom" in e.text,
                                    "the uncaught error")
        self.assertEqual(thrown.text, "TypeError: boom")
        self.assertIn("/events", thrown.stack)
        rejected = session.wait_event(lambda e: e.kind == Kind.KIND_PAGE_ERROR and "rejected" in e.text,
                                      "the unhandled rejection")
        self.assertEqual(rejected.text, "Error: rejected")
        # The default policy dismisses: confirm false, prompt null.
        confirm = session.wait_event(lambda e: e.kind == Kind.KIND_DIALOG_OPENED and e.dialog_type == "confirm",
                                     "the confirm dialog")
        self.assertEqual((confirm.text, confirm.dialog_answer), ("sure?", "false"))
        prompt = session.wait_event(lambda e: e.kind == Kind.KIND_DIALOG_OPENED and e.dialog_type == "prompt",
                                    "the prompt dialog")
        self.assertEqual((prompt.text, prompt.dialog_answer), ("name?", "null"))
        self.assertEqual(session.evaluate("document.getElementById('answers').textContent"), "[false,null]")

        # ACCEPT: the open document follows at once, new documents too.
        session.ok(set_dialog_policy=pb.SetDialogPolicyRequest(
            policy=pb.DialogPolicy(action=pb.DIALOG_ACTION_ACCEPT, prompt_text="Ada")))
        self.assertEqual(session.evaluate("[confirm('now?'), prompt('who?'), alert('hi')]"), [True, "Ada", None])
        session.wait_event(lambda e: e.kind == Kind.KIND_DIALOG_OPENED and e.dialog_type == "alert"
                           and e.text == "hi", "the alert")
        session.ok(navigate=pb.NavigateRequest(url=self.url("/events")))
        self.assertEqual(session.evaluate("document.getElementById('answers').textContent"), '[true,"Ada"]')
        session.wait_event(lambda e: e.kind == Kind.KIND_DIALOG_OPENED and e.dialog_type == "confirm"
                           and e.dialog_answer == "true", "the accepted confirm")
        # ACCEPT without prompt_text: prompt returns its default.
        session.ok(set_dialog_policy=pb.SetDialogPolicyRequest(
            policy=pb.DialogPolicy(action=pb.DIALOG_ACTION_ACCEPT)))
        self.assertEqual(session.evaluate("prompt('name?', 'nobody')"), "nobody")

        failed_url = f"http://127.0.0.1:{free_port()}/gone"
        result = session.command(navigate=pb.NavigateRequest(url=failed_url))
        self.assertEqual(result.code, grpc.StatusCode.UNAVAILABLE.value[0], result.message)
        failed = session.wait_event(lambda e: e.kind == Kind.KIND_NAVIGATION_FAILED, "navigation failed")
        self.assertTrue(failed.url.startswith(failed_url), failed.url)
        self.assertIn("NS_ERROR_CONNECTION_REFUSED", failed.text)

    def test_acquire_with_a_dialog_policy(self):
        self.release(self.lease)
        self.lease = self.acquire(dialogs=pb.DialogPolicy(action=pb.DIALOG_ACTION_ACCEPT, prompt_text="yes"))
        self.navigate("/events")
        self.assertEqual(self.evaluate("document.getElementById('answers').textContent"), '[true,"yes"]')


if __name__ == "__main__":
    unittest.main()
