#!/usr/bin/python3
"""Navigation, history, tabs and frames through a real foxpoold and real
headless Firefox, against pages this test serves (and counts) itself.

Usage: commands_navigation_test.py FOXPOOLD_BINARY SOURCE_DIR (PYTHONPATH
must reach the generated stubs).
"""
import http.server
import queue
import sys
import threading
import unittest

import grpc
from google.protobuf import duration_pb2

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import CommandTestCase, Foxpoold, free_port, serve, stop_serving, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."

LOAD = pb.WAIT_UNTIL_LOAD_UNSPECIFIED
DOM_CONTENT_LOADED = pb.WAIT_UNTIL_DOM_CONTENT_LOADED
NONE = pb.WAIT_UNTIL_NONE
# Held responses give up after this long, so a failed test cannot wedge the
# server's threads.
HOLD_LIMIT = 120


def page(title, body=""):
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


class Site:
    """Serves the test's pages on 127.0.0.1 and counts the requests for each
    path. /held.png and /never answer only once the test releases them."""

    def __init__(self):
        self.hits = {}
        self.lock = threading.Lock()
        self.release_image = threading.Event()
        self.closing = threading.Event()
        self.image_requested = threading.Event()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                with site.lock:
                    site.hits[path] = site.hits.get(path, 0) + 1
                    count = site.hits[path]
                site.answer(self, path, count)

            def log_message(self, *args):
                pass

        self.server = serve(Handler, daemon_threads=True)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path):
        return self.base + path

    def count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def answer(self, handler, path, count):
        if path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", "/landing")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if path == "/held.png":
            self.image_requested.set()
            self.release_image.wait(HOLD_LIMIT)
            return send(handler, 404, "text/plain", "gone")
        if path == "/never":
            # Headers and half a document, then nothing until the test ends.
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.end_headers()
            handler.wfile.write(page("never", "still loading").encode()[:60])
            handler.wfile.flush()
            self.closing.wait(HOLD_LIMIT)
            return
        status, body = {
            "/missing": (404, page("not here", "missing")),
            "/broken": (500, page("server error", "broken")),
            "/counter": (200, page(f"counter {count}", f"<p id=count>{count}</p>")),
            "/slow": (200, page("slow", "text before the image <img src=/held.png>")),
            "/frames": (200, page("frames", "<iframe name=left src=/left.html></iframe>"
                                            "<iframe name=right src=/right.html?side=r></iframe>")),
            "/left.html": (200, page("left", "<p>left frame body</p>")),
            "/right.html": (200, page("right", "<p>right frame body</p>")),
        }.get(path, (200, page(path.strip("/"), f"page {path}")))
        send(handler, status, "text/html", body)

    def close(self):
        self.release_image.set()
        self.closing.set()
        stop_serving(self.server)


def send(handler, status, content_type, body):
    data = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def refused_url():
    """A loopback URL whose port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}/"


def seconds(duration):
    return duration.seconds + duration.nanos / 1e9


class NavigationTest(CommandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site()
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1)
        cls.stub = cls.foxpoold.stub

    @classmethod
    def tearDownClass(cls):
        cls.site.close()
        assert cls.foxpoold.stop() == 0, cls.foxpoold.log()[-4000:]

    def setUp(self):
        self.lease = self.stub.Acquire(pb.AcquireRequest(), timeout=120).lease_id

    def tearDown(self):
        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=60)

    # --- helpers ---------------------------------------------------------

    def navigate(self, path_or_url, timeout=30, limit=None, **fields):
        """Navigate; `timeout` is the call's deadline, `limit` the request's
        own timeout (seconds)."""
        url = path_or_url if ":" in path_or_url else self.site.url(path_or_url)
        if limit is not None:
            fields["timeout"] = duration_pb2.Duration(seconds=limit)
        return self.stub.Navigate(pb.NavigateRequest(lease_id=self.lease, url=url, **fields),
                                  timeout=timeout)

    def evaluate(self, expression, **fields):
        return self.stub.Evaluate(
            pb.EvaluateRequest(lease_id=self.lease, expression=expression, **fields),
            timeout=30).result_json

    def tabs(self):
        return list(self.stub.ListTabs(pb.ListTabsRequest(lease_id=self.lease), timeout=30).tabs)

    def current_url(self):
        return self.stub.GetUrl(pb.GetUrlRequest(lease_id=self.lease), timeout=30).url

    # --- navigate ----------------------------------------------------------

    def test_navigate_reports_url_title_status_and_time(self):
        done = self.navigate("/hello")
        self.assertEqual(done.url, self.site.url("/hello"))
        self.assertEqual(done.title, "hello")
        self.assertEqual(done.http_status, 200)
        self.assertGreater(seconds(done.took), 0)

    def test_redirect_reports_the_final_url_and_its_status(self):
        done = self.navigate("/redirect")
        self.assertEqual(done.url, self.site.url("/landing"))
        self.assertEqual(done.http_status, 200)
        self.assertEqual(done.title, "landing")
        self.assertEqual(self.site.count("/redirect"), 1)
        self.assertEqual(self.current_url(), self.site.url("/landing"))

    def test_error_statuses_are_answers_not_failures(self):
        missing = self.navigate("/missing")
        self.assertEqual((missing.http_status, missing.title), (404, "not here"))
        broken = self.navigate("/broken")
        self.assertEqual((broken.http_status, broken.title), (500, "server error"))

    def test_about_blank_has_no_status(self):
        self.navigate("/hello")
        done = self.navigate("about:blank")
        self.assertEqual((done.url, done.http_status, done.title), ("about:blank", 0, ""))

    def test_dom_content_loaded_does_not_wait_for_a_held_image(self):
        self.site.release_image.clear()
        self.site.image_requested.clear()
        done = self.navigate("/slow", wait_until=DOM_CONTENT_LOADED)
        self.assertEqual((done.url, done.http_status), (self.site.url("/slow"), 200))
        self.assertTrue(self.site.image_requested.wait(30), "the page never asked for its image")
        # The page is parsed but its load event cannot have fired.
        self.assertEqual(self.evaluate("document.readyState"), '"interactive"')
        self.site.release_image.set()
        wait_until(lambda: self.evaluate("document.readyState") == '"complete"', 30, "the load event")

    def test_load_waits_for_the_held_image(self):
        self.site.release_image.clear()
        self.site.image_requested.clear()
        result = queue.Queue()
        threading.Thread(target=lambda: result.put(self.navigate("/slow", timeout=60)),
                         daemon=True).start()
        self.assertTrue(self.site.image_requested.wait(30), "the page never asked for its image")
        self.assertTrue(result.empty(), "Navigate returned before the page's image arrived")
        self.site.release_image.set()
        done = result.get(timeout=60)
        self.assertEqual(done.url, self.site.url("/slow"))
        self.assertEqual(self.evaluate("document.readyState"), '"complete"')

    def test_wait_until_none_returns_once_started(self):
        self.site.release_image.clear()
        self.site.image_requested.clear()
        done = self.navigate("/slow", wait_until=NONE)
        self.assertEqual((done.url, done.http_status), (self.site.url("/slow"), 0))
        # The navigation goes on without the caller.
        self.assertTrue(self.site.image_requested.wait(30), "the navigation did not go on")
        self.site.release_image.set()
        wait_until(lambda: self.current_url() == self.site.url("/slow"), 30, "the page")

    def test_refused_connection_is_unavailable(self):
        self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: self.navigate(refused_url()),
                        "NS_ERROR_CONNECTION_REFUSED")

    def test_page_that_never_finishes_is_deadline_exceeded(self):
        # The extension's own timeout names the page; the server's deadline
        # (50 ms later) may win on a loaded machine, so only the code is sure.
        self.assert_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED,
                        lambda: self.navigate("/never", timeout=60, limit=2))
        # The window still works afterwards.
        self.assertEqual(self.navigate("/after").http_status, 200)

    def test_file_and_javascript_urls_are_refused(self):
        for url in ("file:///etc/passwd", "javascript:alert(1)", "about:config"):
            self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.navigate(url), "URL")
        self.assertEqual(self.current_url(), "about:blank")

    # --- history -----------------------------------------------------------

    def test_back_and_forward(self):
        self.navigate("/one")
        self.navigate("/two")
        back = self.stub.GoBack(pb.HistoryRequest(lease_id=self.lease), timeout=30)
        self.assertEqual((back.url, back.title), (self.site.url("/one"), "one"))
        # 0 when Firefox restored the page from its back/forward cache.
        self.assertIn(back.http_status, (0, 200))
        self.assertEqual(self.current_url(), self.site.url("/one"))
        forward = self.stub.GoForward(pb.HistoryRequest(lease_id=self.lease,
                                                        wait_until=DOM_CONTENT_LOADED),
                                      timeout=30)
        self.assertEqual((forward.url, forward.title), (self.site.url("/two"), "two"))
        self.assertEqual(self.evaluate("location.pathname"), '"/two"')
        started = self.stub.GoBack(pb.HistoryRequest(lease_id=self.lease, wait_until=NONE),
                                   timeout=30)
        self.assertEqual((started.url, started.http_status), (self.site.url("/one"), 0))
        wait_until(lambda: self.current_url() == self.site.url("/one"), 30, "the step back")
        # The lease's first page replaced the blank one: /one is the oldest entry.
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                        lambda: self.stub.GoBack(pb.HistoryRequest(lease_id=self.lease),
                                                 timeout=30),
                        "history")
        self.assertEqual(self.current_url(), self.site.url("/one"))

    def test_history_across_origins(self):
        # The page's Navigation API does not see other origins' entries: the
        # extension tries the step and watches whether anything starts.
        other = self.site.url("/far").replace("127.0.0.1", "localhost")
        self.navigate("/near")
        self.assertEqual(self.navigate(other).url, other)
        back = self.stub.GoBack(pb.HistoryRequest(lease_id=self.lease), timeout=30)
        self.assertEqual(back.url, self.site.url("/near"))
        forward = self.stub.GoForward(pb.HistoryRequest(lease_id=self.lease), timeout=30)
        self.assertEqual(forward.url, other)
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                        lambda: self.stub.GoForward(pb.HistoryRequest(lease_id=self.lease),
                                                    timeout=30),
                        "history")
        self.assertEqual(self.current_url(), other)

    def test_history_steps_across_a_fragment(self):
        self.navigate("/anchor")
        fragment = self.navigate("/anchor#part")
        self.assertEqual((fragment.url, fragment.http_status), (self.site.url("/anchor#part"), 0))
        back = self.stub.GoBack(pb.HistoryRequest(lease_id=self.lease), timeout=30)
        self.assertEqual(back.url, self.site.url("/anchor"))
        self.assertEqual(self.site.count("/anchor"), 1)

    def test_no_history_is_failed_precondition(self):
        for call in (self.stub.GoBack, self.stub.GoForward):
            self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: call(pb.HistoryRequest(lease_id=self.lease), timeout=30),
                            "history")
        self.navigate("/only")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                        lambda: self.stub.GoForward(pb.HistoryRequest(lease_id=self.lease),
                                                    timeout=30),
                        "history")
        self.assertEqual(self.current_url(), self.site.url("/only"))

    def test_reload_fetches_the_page_again(self):
        first = self.navigate("/counter")
        self.assertEqual(first.title, "counter 1")
        again = self.stub.Reload(pb.ReloadRequest(lease_id=self.lease), timeout=30)
        self.assertEqual((again.title, again.http_status), ("counter 2", 200))
        fresh = self.stub.Reload(pb.ReloadRequest(lease_id=self.lease, bypass_cache=True),
                                 timeout=30)
        self.assertEqual(fresh.title, "counter 3")
        self.assertEqual(self.site.count("/counter"), 3)
        self.assertEqual(self.evaluate("document.getElementById('count').textContent"), '"3"')

    # --- tabs --------------------------------------------------------------

    def test_tabs_open_list_switch_close(self):
        [first] = self.tabs()
        self.assertTrue(first.active)
        self.navigate("/first")
        background = self.stub.OpenTab(pb.OpenTabRequest(
            lease_id=self.lease, url=self.site.url("/second"), background=True), timeout=30).tab
        self.assertEqual((background.url, background.title, background.active),
                         (self.site.url("/second"), "second", False))
        # The current tab is still the first: commands without tab_id act there.
        self.assertEqual(self.current_url(), self.site.url("/first"))

        opened = self.stub.OpenTab(pb.OpenTabRequest(
            lease_id=self.lease, url=self.site.url("/third")), timeout=30).tab
        self.assertTrue(opened.active)
        self.assertEqual(self.current_url(), self.site.url("/third"))
        listed = {t.tab_id: (t.url, t.active) for t in self.tabs()}
        self.assertEqual(listed, {
            first.tab_id: (self.site.url("/first"), False),
            background.tab_id: (self.site.url("/second"), False),
            opened.tab_id: (self.site.url("/third"), True),
        })

        switched = self.stub.SwitchTab(pb.SwitchTabRequest(lease_id=self.lease,
                                                           tab_id=background.tab_id),
                                       timeout=30).tab
        self.assertEqual((switched.tab_id, switched.active), (background.tab_id, True))
        self.assertEqual(self.evaluate("location.pathname"), '"/second"')
        self.assertEqual(self.navigate("/second-next").url, self.site.url("/second-next"))
        # A tab_id reaches a tab that is not current.
        other = self.navigate("/first-next", tab_id=first.tab_id)
        self.assertEqual(other.url, self.site.url("/first-next"))
        self.assertEqual(self.current_url(), self.site.url("/second-next"))

        # Closing the current tab leaves another one current.
        self.stub.CloseTab(pb.CloseTabRequest(lease_id=self.lease, tab_id=background.tab_id),
                           timeout=30)
        remaining = self.tabs()
        self.assertEqual({t.tab_id for t in remaining}, {first.tab_id, opened.tab_id})
        self.assertEqual(sum(t.active for t in remaining), 1)
        current = next(t for t in remaining if t.active)
        self.assertEqual(self.current_url(), current.url)

        self.stub.CloseTab(pb.CloseTabRequest(lease_id=self.lease, tab_id=opened.tab_id),
                           timeout=30)
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                        lambda: self.stub.CloseTab(pb.CloseTabRequest(
                            lease_id=self.lease, tab_id=first.tab_id), timeout=30),
                        "last tab")
        self.assertEqual([t.tab_id for t in self.tabs()], [first.tab_id])

    def test_open_tab_waits_and_fails_like_navigate(self):
        blank = self.stub.OpenTab(pb.OpenTabRequest(lease_id=self.lease), timeout=30).tab
        self.assertEqual((blank.url, blank.active), ("about:blank", True))
        details = self.assert_rpc_error(grpc.StatusCode.UNAVAILABLE,
                                  lambda: self.stub.OpenTab(pb.OpenTabRequest(
                                      lease_id=self.lease, url=refused_url()), timeout=30),
                                  "NS_ERROR_CONNECTION_REFUSED")
        # The failed tab stays, named in the error, and can be closed.
        failed = int(details.split("(tab ")[1].split()[0])
        self.assertIn(failed, [t.tab_id for t in self.tabs()])
        self.stub.CloseTab(pb.CloseTabRequest(lease_id=self.lease, tab_id=failed), timeout=30)
        self.assertNotIn(failed, [t.tab_id for t in self.tabs()])
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                        lambda: self.stub.OpenTab(pb.OpenTabRequest(
                            lease_id=self.lease, url="file:///etc/passwd"), timeout=30))

    def test_unknown_tab_is_not_found(self):
        missing = 987654
        calls = [
            lambda: self.stub.SwitchTab(pb.SwitchTabRequest(lease_id=self.lease, tab_id=missing),
                                        timeout=30),
            lambda: self.stub.CloseTab(pb.CloseTabRequest(lease_id=self.lease, tab_id=missing),
                                       timeout=30),
            lambda: self.navigate("/x", tab_id=missing),
            lambda: self.stub.ListFrames(pb.ListFramesRequest(lease_id=self.lease,
                                                              tab_id=missing), timeout=30),
        ]
        for call in calls:
            self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, call, str(missing))

    def test_popup_is_listed_as_a_tab(self):
        self.navigate("/opener")
        self.assertEqual(self.evaluate("window.open('/popup', 'pop', 'width=300,height=200') ? 1 : 0"), "1")
        popup = wait_until(
            lambda: next((t for t in self.tabs() if t.url == self.site.url("/popup")), None),
            30, "the popup in ListTabs")
        self.assertEqual(self.site.count("/popup"), 1)
        done = self.stub.SwitchTab(pb.SwitchTabRequest(lease_id=self.lease, tab_id=popup.tab_id),
                                   timeout=30)
        self.assertEqual(done.tab.tab_id, popup.tab_id)
        self.assertEqual(self.evaluate("window.opener !== null"), "true")

    # --- frames ------------------------------------------------------------

    def frame_html(self, **selector):
        target = pb.Target(frame=pb.FrameSelector(**selector))
        return self.stub.GetContent(pb.GetContentRequest(lease_id=self.lease, target=target),
                                    timeout=30).html

    def test_frames_are_listed_in_document_order(self):
        self.navigate("/frames")
        frames = list(self.stub.ListFrames(pb.ListFramesRequest(lease_id=self.lease),
                                           timeout=30).frames)
        self.assertEqual([(f.url, f.name) for f in frames], [
            (self.site.url("/frames"), ""),
            (self.site.url("/left.html"), "left"),
            (self.site.url("/right.html?side=r"), "right"),
        ])
        self.assertEqual(frames[0].parent_frame_id, -1)
        self.assertEqual([f.parent_frame_id for f in frames[1:]], [frames[0].frame_id] * 2)
        self.assertIn("right frame body", self.frame_html(frame_id=frames[2].frame_id))
        self.assertIn("left frame body", self.frame_html(frame_id=frames[1].frame_id))

    def test_frame_content_by_index_name_and_url(self):
        self.navigate("/frames")
        self.assertIn("left frame body", self.frame_html(index=0))
        self.assertIn("right frame body", self.frame_html(index=1))
        self.assertIn("left frame body", self.frame_html(name="left"))
        self.assertIn("right frame body", self.frame_html(url="side=r"))
        top = self.stub.GetContent(pb.GetContentRequest(lease_id=self.lease), timeout=30).html
        self.assertIn('<iframe name="left"', top)
        self.assertNotIn("left frame body", top)
        for selector in ({"name": "nope"}, {"index": 5}, {"url": "/elsewhere"}):
            self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.frame_html(**selector),
                            "frame")

    # --- the Session stream -------------------------------------------------

    def test_session_stream_runs_the_same_commands(self):
        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=60)
        outgoing = queue.Queue()
        outgoing.put(pb.SessionRequest(acquire=pb.AcquireRequest()))
        responses = self.stub.Session(iter(outgoing.get, None), timeout=120)
        try:
            self.lease = next(responses).acquired.lease_id
            commands = [
                pb.SessionCommand(id=1, navigate=pb.NavigateRequest(url=self.site.url("/s1"))),
                pb.SessionCommand(id=2, navigate=pb.NavigateRequest(url=self.site.url("/missing"))),
                pb.SessionCommand(id=3, go_back=pb.HistoryRequest()),
                pb.SessionCommand(id=4, go_forward=pb.HistoryRequest()),
                pb.SessionCommand(id=5, open_tab=pb.OpenTabRequest(url=self.site.url("/s2"))),
                pb.SessionCommand(id=6, list_tabs=pb.ListTabsRequest()),
                pb.SessionCommand(id=7, navigate=pb.NavigateRequest(url="file:///etc/passwd")),
            ]
            results = {}
            for command in commands:
                outgoing.put(pb.SessionRequest(command=command))
                while command.id not in results:
                    response = next(responses)
                    if response.HasField("result"):
                        results[response.result.id] = response.result
            self.assertEqual(results[1].navigate.http_status, 200)
            self.assertEqual(results[2].navigate.http_status, 404)
            self.assertEqual(results[3].go_back.url, self.site.url("/s1"))
            self.assertEqual(results[4].go_forward.url, self.site.url("/missing"))
            self.assertEqual(results[5].open_tab.tab.url, self.site.url("/s2"))
            self.assertEqual(sorted(t.url for t in results[6].list_tabs.tabs),
                             [self.site.url("/missing"), self.site.url("/s2")])
            self.assertEqual(results[7].code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        finally:
            outgoing.put(None)
            responses.cancel()
        self.lease = self.stub.Acquire(pb.AcquireRequest(), timeout=120).lease_id


if __name__ == "__main__":
    unittest.main()
