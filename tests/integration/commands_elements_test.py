#!/usr/bin/python3
"""Element commands against a real foxpoold and real Firefox: locators, the
element registry (ids, staleness), waiting, and the input actions, checked
by what the page recorded and by what reached this test's HTTP server.

Usage: commands_elements_test.py FOXPOOLD_BINARY SOURCE_DIR (PYTHONPATH
must reach the generated stubs and tests/integration).
"""
import email.parser
import email.policy
import http.server
import json
import queue
import sys
import unittest
import urllib.parse

import grpc
from google.protobuf import duration_pb2

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import CommandTestCase, Foxpoold, serve, stop_serving, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."

# Records the events the page sees into #log, one "type:target:details;"
# entry each, so a test can read back what a handler saw.
RECORDER = b"""<div id=log></div><script>
const record = (entry) => { document.getElementById('log').textContent += entry + ';'; };
for (const type of ['keydown', 'keypress', 'keyup', 'beforeinput', 'input', 'change', 'focus', 'blur',
                    'click', 'dblclick', 'contextmenu', 'mouseover', 'mouseenter', 'mousemove', 'mousedown', 'submit']) {
  document.addEventListener(type, (e) => {
    if (e.target.id === 'log') return;
    const mods = ['shift', 'ctrl', 'alt', 'meta'].filter((m) => e[m + 'Key']).join('+');
    record(type + ':' + (e.target.id || e.target.localName) + (e.key ? ':' + e.key : '') + (mods ? ':' + mods : ''));
  }, true);
}
</script>"""

FORM = b"""<!doctype html><title>Form</title><body>
<form id=form action="/submit" method=post enctype="multipart/form-data">
  <input id=name name=name>
  <textarea id=bio name=bio></textarea>
  <select id=color name=color><option value=r>Red</option><option value=g>Green</option><option value=b>Blue</option></select>
  <input type=checkbox id=agree name=agree value=yes>
  <input type=radio name=size value=s id=small checked><input type=radio name=size value=l id=large>
  <input type=file id=file name=file>
  <button id=send type=submit>Send</button>
</form>
<input id=outside value="abc"><input id=number type=number><input id=mail type=email><button id=disabled disabled>Off</button><div id=hidden style="display:none">Hidden</div>
<div id=editor contenteditable>Note:</div>
""" + RECORDER + b"</body>"

SEARCH = b"""<!doctype html><title>Search</title><body>
<form action="/search" method=get><input id=q name=q><input id=other name=other value=1></form>
<a id=link href="/landing?from=link">Landing</a>
<button id=shift onclick="document.getElementById('seen').textContent = event.shiftKey ? 'shift' : 'plain'">Shift me</button>
<div id=seen></div><div id=hover onmouseover="this.textContent = 'hovered'">Hover me</div>
""" + RECORDER + b"</body>"

LOCATORS = b"""<!doctype html><title>Locators</title><body>
<div id=outer><span id=inner>Exact words</span></div>
<p id=para>Some <b id=bold>bold</b> text, and more</p>
<ul><li>one</li><li>two</li><li>three</li><li>four</li><li>five</li></ul>
<div id=box style="position:absolute; left:40px; top:100px; width:200px; height:50px" data-kind="box">Box</div>
<div id=invisible style="visibility:hidden">ghost</div>
<iframe name=inner-frame src="/frame"></iframe>
<div id=host></div>
<script>
  // scriptonly-marker: text in a script is not page text.
  document.getElementById('host').attachShadow({mode: 'open'}).innerHTML = '<span id=shadowed>in the shadow</span>';
</script>
</body>"""

FRAME = b"""<!doctype html><title>Frame</title><body>
<button id=frame-button onclick="this.textContent = 'clicked in frame'">Frame button</button></body>"""

WAIT = b"""<!doctype html><title>Wait</title><style>.hidden { display: none }</style><body>
<div id=doomed>going</div><div id=shy class=hidden>now you see me</div>
<script>
window.later = (ms) => setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'arrived late';
  document.body.append(p);
}, ms);
window.removeLater = (ms) => setTimeout(() => document.getElementById('doomed').remove(), ms);
window.showLater = (ms) => setTimeout(() => document.getElementById('shy').classList.remove('hidden'), ms);
</script></body>"""

LANDING = b"<!doctype html><title>Landing</title><p id=landed>landed</p>"


class Site:
    """This test's web server: fixed pages, and a record of every request
    (method, path with query, content type, body)."""

    def __init__(self, pages):
        self.requests = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, body):
                page = pages.get(urllib.parse.urlsplit(self.path).path)
                content_type, content = page if page else ("text/html", b"<title>ok</title>ok")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                site.requests.append((self.command, self.path, self.headers.get("Content-Type"), body))

            def do_GET(self):
                self.reply(b"")

            def do_POST(self):
                self.reply(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def request_to(self, path, with_query=False):
        """The first recorded request whose path (without query) is `path`."""
        for request in self.requests:
            url = urllib.parse.urlsplit(request[1])
            if url.path == path and (url.query or not with_query):
                return request
        return None

    def close(self):
        stop_serving(self.server)


def css(value, **target):
    return pb.ElementTarget(target=pb.Target(**target), locator=pb.Locator(value=value))


def by_id(element_id):
    return pb.ElementTarget(element_id=element_id)


def multipart_fields(content_type, body):
    """{name: (filename, content type, bytes)} of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_parts()}


class ElementCommandsTest(CommandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site({"/form": ("text/html", FORM), "/search": ("text/html", SEARCH),
                         "/locators": ("text/html", LOCATORS), "/frame": ("text/html", FRAME),
                         "/wait": ("text/html", WAIT), "/landing": ("text/html", LANDING)})
        # Through the command gate (off by default), so that its path runs here too.
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1, flags=["--command_limit=1"])
        cls.stub = cls.foxpoold.stub
        cls.lease = cls.stub.Acquire(pb.AcquireRequest(labels={"test": "elements"}), timeout=60).lease_id

    @classmethod
    def tearDownClass(cls):
        cls.stub.Release(pb.ReleaseRequest(lease_id=cls.lease), timeout=30)
        code = cls.foxpoold.stop()
        cls.site.close()
        assert code == 0, f"foxpoold exited with {code}"

    # ---------------------------------------------------------------- helpers

    def open(self, path):
        self.site.requests.clear()
        self.stub.Navigate(pb.NavigateRequest(lease_id=self.lease, url=self.site.base + path), timeout=60)

    def evaluate(self, expression):
        reply = self.stub.Evaluate(pb.EvaluateRequest(lease_id=self.lease, expression=expression), timeout=30)
        return json.loads(reply.result_json)

    def find(self, value, strategy=pb.LOCATOR_STRATEGY_CSS_UNSPECIFIED, **target):
        return self.stub.FindElement(pb.FindElementRequest(
            lease_id=self.lease, target=pb.Target(**target),
            locator=pb.Locator(strategy=strategy, value=value)), timeout=30).element

    def get(self, element, *properties):
        reply = self.stub.GetElement(pb.GetElementRequest(
            lease_id=self.lease, element=element, properties=properties), timeout=30)
        return reply.element, {name: json.loads(value) for name, value in reply.properties.items()}

    def log(self):
        return self.evaluate("document.getElementById('log').textContent").split(";")

    def clear_log(self):
        self.evaluate("document.getElementById('log').textContent = ''")

    def wait_for(self, value, state=pb.ELEMENT_STATE_ATTACHED_UNSPECIFIED, seconds=20):
        return self.stub.WaitForElement(pb.WaitForElementRequest(
            lease_id=self.lease, locator=pb.Locator(value=value), state=state,
            timeout=duration_pb2.Duration(seconds=seconds)), timeout=seconds + 30)

    # -------------------------------------------------------------- locators

    def test_locators_find_by_css_xpath_text_and_partial_text(self):
        self.open("/locators")
        self.assertEqual(self.find("#para").attributes["id"], "para")
        self.assertEqual(self.find("//p/b", pb.LOCATOR_STRATEGY_XPATH).attributes["id"], "bold")
        # TEXT and PARTIAL_TEXT give the innermost element, not its ancestors.
        self.assertEqual(self.find("Exact words", pb.LOCATOR_STRATEGY_TEXT).attributes["id"], "inner")
        self.assertEqual(self.find("xact wor", pb.LOCATOR_STRATEGY_PARTIAL_TEXT).attributes["id"], "inner")
        self.assertEqual(self.find("bold text, and", pb.LOCATOR_STRATEGY_PARTIAL_TEXT).attributes["id"], "para")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.find("Exact", pb.LOCATOR_STRATEGY_TEXT),
                          'text "Exact"')
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND,
                          lambda: self.find("scriptonly-marker", pb.LOCATOR_STRATEGY_PARTIAL_TEXT), "scriptonly-marker")

    def test_locators_reach_into_open_shadow_roots(self):
        self.open("/locators")
        shadowed = self.find("#shadowed")
        self.assertEqual(shadowed.text, "in the shadow")
        self.assertEqual(self.find("in the shadow", pb.LOCATOR_STRATEGY_TEXT).element_id, shadowed.element_id)
        self.evaluate("setTimeout(() => document.getElementById('host').shadowRoot.append("
                      "Object.assign(document.createElement('b'), {id: 'added'})), 300)")
        self.assertEqual(self.wait_for("#added").element.tag_name, "b")

    def test_find_elements_counts_and_limits(self):
        self.open("/locators")
        request = pb.FindElementsRequest(lease_id=self.lease, locator=pb.Locator(value="li"))
        elements = self.stub.FindElements(request, timeout=30).elements
        self.assertEqual([e.text for e in elements], ["one", "two", "three", "four", "five"])
        self.assertEqual(len({e.element_id for e in elements}), 5)
        request.limit = 2
        self.assertEqual(len(self.stub.FindElements(request, timeout=30).elements), 2)
        request.locator.value = "table"
        self.assertEqual(len(self.stub.FindElements(request, timeout=30).elements), 0)

    def test_no_match_is_not_found_naming_the_locator(self):
        self.open("/locators")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.find("#missing"), 'css "#missing"')
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.find("//article", pb.LOCATOR_STRATEGY_XPATH),
                          'xpath "//article"')

    def test_invalid_selectors_are_invalid_argument(self):
        self.open("/locators")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.find("div[##"), "div[##", "not a valid selector")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.find("//p[", pb.LOCATOR_STRATEGY_XPATH), "//p[")

    def test_get_element_reports_text_attributes_box_and_properties(self):
        self.open("/locators")
        box = self.find("#box")
        self.assertEqual(box.tag_name, "div")
        self.assertEqual(box.text, "Box")
        self.assertEqual(dict(box.attributes), {"id": "box", "style": box.attributes["style"], "data-kind": "box"})
        self.assertTrue(box.visible)
        self.assertEqual((box.rect.x, box.rect.y, box.rect.width, box.rect.height), (40, 100, 200, 50))
        self.assertFalse(self.find("#invisible").visible)
        element, properties = self.get(by_id(box.element_id), "id", "offsetWidth", "dataset", "noSuchProperty")
        self.assertEqual(element.element_id, box.element_id)
        self.assertEqual(properties, {"id": "box", "offsetWidth": 200, "dataset": {"kind": "box"}, "noSuchProperty": None})

    def test_element_in_a_frame_is_found_and_clicked(self):
        self.open("/locators")
        button = self.find("#frame-button", frame=pb.FrameSelector(name="inner-frame"))
        self.assertEqual(button.text, "Frame button")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.find("#frame-button"))
        # The id alone leads back to the frame.
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=by_id(button.element_id)), timeout=30)
        element, _ = self.get(by_id(button.element_id))
        self.assertEqual(element.text, "clicked in frame")
        self.evaluate("document.querySelector('iframe').remove()")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.get(by_id(button.element_id)),
                          f"stale element {button.element_id}")

    # ------------------------------------------------------------ element ids

    def test_ids_go_stale_when_the_element_or_its_document_goes(self):
        self.open("/wait")
        doomed = self.find("#doomed")
        self.evaluate("document.getElementById('doomed').remove()")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.get(by_id(doomed.element_id)),
                          f"stale element {doomed.element_id}")
        shy = self.find("#shy")
        self.open("/wait")
        details = self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION,
                                    lambda: self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=by_id(shy.element_id)), timeout=30),
                                    f"stale element {shy.element_id}")
        self.assertTrue(details.startswith("stale element"), details)
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get(by_id("no-such-id")), "no-such-id")
        # The registry lives in the extension's world, not the page's.
        self.assertEqual(self.evaluate("typeof window.__foxpoolElements"), "undefined")

    # ------------------------------------------------------------------ waits

    def test_wait_for_an_element_a_timer_adds(self):
        self.open("/wait")
        self.evaluate("later(300)")
        reply = self.wait_for("#late")
        self.assertEqual(reply.element.text, "arrived late")
        self.assertEqual(self.evaluate("document.getElementById('late').textContent"), "arrived late")

    def test_wait_for_an_element_to_be_detached(self):
        self.open("/wait")
        self.evaluate("removeLater(300)")
        reply = self.wait_for("#doomed", pb.ELEMENT_STATE_DETACHED)
        self.assertFalse(reply.HasField("element"))
        self.assertIsNone(self.evaluate("document.getElementById('doomed')"))

    def test_wait_for_a_class_change_to_make_an_element_visible(self):
        self.open("/wait")
        self.assertFalse(self.find("#shy").visible)
        self.evaluate("showLater(300)")
        reply = self.wait_for("#shy", pb.ELEMENT_STATE_VISIBLE)
        self.assertTrue(reply.element.visible)
        self.assertEqual(reply.element.text, "now you see me")
        self.assertFalse(self.wait_for("#no-such-element", pb.ELEMENT_STATE_HIDDEN).HasField("element"))

    def test_wait_times_out_with_deadline_exceeded(self):
        self.open("/wait")
        self.assert_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED,
                          lambda: self.wait_for("#never", pb.ELEMENT_STATE_ATTACHED_UNSPECIFIED, seconds=1),
                          'css "#never"', "became attached within")
        # The window is still usable: the wait ended in the page too.
        self.evaluate("later(0)")
        self.assertEqual(self.wait_for("#late").element.text, "arrived late")

    def test_wait_follows_the_frame_into_its_next_document(self):
        self.open("/wait")
        self.evaluate("setTimeout(() => { location.href = '/landing'; }, 300)")
        reply = self.wait_for("#landed")
        self.assertEqual(reply.element.text, "landed")
        self.assertIsNotNone(self.site.request_to("/landing"))

    def test_wait_reports_element_appeared_on_the_session_stream(self):
        outgoing = queue.Queue()
        # Only the kind asked for comes: no navigation or console events.
        outgoing.put(pb.SessionRequest(acquire=pb.AcquireRequest(
            labels={"test": "elements-events"}, events=[pb.SessionEvent.KIND_ELEMENT_APPEARED])))
        # The class's lease holds the only window: hand it back for this test.
        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=30)
        responses = self.stub.Session(iter(outgoing.get, None), timeout=120)
        try:
            self.assertTrue(next(responses).HasField("acquired"))
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=1, navigate=pb.NavigateRequest(
                url=self.site.base + "/wait"))))
            self.assertEqual(next(r for r in responses if r.HasField("result")).result.code, 0)
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=2, evaluate=pb.EvaluateRequest(
                expression="later(200)"))))
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=3, wait_for_element=pb.WaitForElementRequest(
                locator=pb.Locator(value="#late"), timeout=duration_pb2.Duration(seconds=20)))))
            appeared = None
            for response in responses:
                if response.HasField("event"):
                    # The navigation above sent no navigation events.
                    self.assertEqual(response.event.kind, pb.SessionEvent.KIND_ELEMENT_APPEARED)
                    appeared = response.event
                if response.HasField("result") and response.result.id == 3:
                    self.assertEqual(response.result.code, 0, response.result.message)
                    self.assertEqual(response.result.wait_for_element.element.text, "arrived late")
                    break
            if appeared is None:  # The event may trail the result.
                appeared = next(r for r in responses if r.HasField("event")
                                and r.event.kind == pb.SessionEvent.KIND_ELEMENT_APPEARED).event
            self.assertEqual(appeared.text, "css #late")
            self.assertEqual(appeared.frame_id, 0)
            self.assertTrue(appeared.url.endswith("/wait"), appeared.url)
            # In a child frame, the event names that frame (Firefox's frame ids
            # exceed 32 bits).
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=4, navigate=pb.NavigateRequest(
                url=self.site.base + "/locators"))))
            outgoing.put(pb.SessionRequest(command=pb.SessionCommand(id=5, wait_for_element=pb.WaitForElementRequest(
                target=pb.Target(frame=pb.FrameSelector(name="inner-frame")),
                locator=pb.Locator(value="#frame-button"), timeout=duration_pb2.Duration(seconds=20)))))
            in_frame = next(r for r in responses if r.HasField("event")
                            and r.event.kind == pb.SessionEvent.KIND_ELEMENT_APPEARED).event
            self.assertEqual(in_frame.text, "css #frame-button")
            self.assertNotEqual(in_frame.frame_id, 0)
            self.assertTrue(in_frame.url.endswith("/frame"), in_frame.url)
        finally:
            outgoing.put(None)
            responses.cancel()
            type(self).lease = wait_until(self.reacquire, 60, "the window back after the session")

    def reacquire(self):
        try:
            return self.stub.Acquire(pb.AcquireRequest(labels={"test": "elements"}), timeout=10).lease_id
        except grpc.RpcError:
            return None

    # ---------------------------------------------------------------- actions

    def test_filled_form_submission_reaches_the_server(self):
        self.open("/form")
        type_text = lambda target, text: self.stub.TypeText(pb.TypeTextRequest(
            lease_id=self.lease, element=target, text=text), timeout=30)
        type_text(css("#name"), "Ada Lovelace")
        type_text(css("#bio"), "line one\nline two")
        selected = self.stub.SelectOption(pb.SelectOptionRequest(
            lease_id=self.lease, element=css("#color"), values=["Blue"]), timeout=30).selected
        self.assertEqual(list(selected), ["b"])
        checked = self.stub.SetChecked(pb.SetCheckedRequest(lease_id=self.lease, element=css("#agree"), checked=True), timeout=30)
        self.assertEqual(checked.element.attributes["id"], "agree")
        self.stub.SetChecked(pb.SetCheckedRequest(lease_id=self.lease, element=css("#large"), checked=True), timeout=30)
        upload = bytes(range(256)) + b"end"
        self.stub.UploadFile(pb.UploadFileRequest(lease_id=self.lease, element=css("#file"), files=[
            pb.FileData(name="data.bin", mime_type="application/x-test", content=upload)]), timeout=30)
        _, properties = self.get(css("#agree"), "checked")
        self.assertEqual(properties, {"checked": True})
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#send")), timeout=30)

        method, _, content_type, body = wait_until(lambda: self.site.request_to("/submit"), 30, "the form's POST")
        self.assertEqual(method, "POST")
        fields = multipart_fields(content_type, body)
        self.assertEqual(fields["name"][2], b"Ada Lovelace")
        self.assertEqual(fields["bio"][2].replace(b"\r\n", b"\n"), b"line one\nline two")
        self.assertEqual(fields["color"][2], b"b")
        self.assertEqual(fields["agree"][2], b"yes")
        self.assertEqual(fields["size"][2], b"l")
        self.assertEqual(fields["file"], ("data.bin", "application/x-test", upload))

    def test_typing_fires_key_and_input_events_and_edits_rich_text(self):
        self.open("/form")
        self.stub.TypeText(pb.TypeTextRequest(lease_id=self.lease, element=css("#outside"), text="Xy", clear=True), timeout=30)
        _, properties = self.get(css("#outside"), "value")
        self.assertEqual(properties["value"], "Xy")
        log = self.log()
        self.assertIn("focus:outside", log)
        for entry in ["keydown:outside:X:shift", "keypress:outside:X:shift", "beforeinput:outside", "keyup:outside:y"]:
            self.assertIn(entry, log)
        self.assertEqual(log.count("input:outside"), 3)  # The clear, then one per character.
        self.assertIn("change:outside", log)
        # Fields without a text selection (number, email) are typed into too.
        for field, text in [("#number", "-1.5"), ("#mail", "ada@example.org")]:
            self.stub.TypeText(pb.TypeTextRequest(lease_id=self.lease, element=css(field), text=text), timeout=30)
            self.assertEqual(self.get(css(field), "value")[1]["value"], text)
        self.stub.TypeText(pb.TypeTextRequest(lease_id=self.lease, element=css("#editor"), text=" hi"), timeout=30)
        # Firefox's editor keeps a typed space as a no-break space.
        self.assertEqual(self.evaluate("document.getElementById('editor').textContent").replace("\xa0", " "), "Note: hi")

    def test_press_key_enter_submits_tab_moves_backspace_deletes(self):
        self.open("/search")
        self.stub.TypeText(pb.TypeTextRequest(lease_id=self.lease, element=css("#q"), text="foxes"), timeout=30)
        self.stub.PressKey(pb.PressKeyRequest(lease_id=self.lease, element=css("#q"), key="Backspace"), timeout=30)
        self.stub.PressKey(pb.PressKeyRequest(lease_id=self.lease, key="Tab"), timeout=30)
        self.assertEqual(self.evaluate("document.activeElement.id"), "other")
        self.stub.PressKey(pb.PressKeyRequest(lease_id=self.lease, key="Tab", modifiers=[pb.MODIFIER_SHIFT]), timeout=30)
        self.assertEqual(self.evaluate("document.activeElement.id"), "q")
        self.stub.PressKey(pb.PressKeyRequest(lease_id=self.lease, element=css("#q"), key="Enter"), timeout=30)
        _, path, _, _ = wait_until(lambda: self.site.request_to("/search", with_query=True), 30, "the search GET")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        self.assertEqual(query, {"q": ["foxe"], "other": ["1"]})
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.stub.PressKey(
            pb.PressKeyRequest(lease_id=self.lease, key="NoSuchKey"), timeout=30), "NoSuchKey")

    def test_link_click_navigates(self):
        self.open("/search")
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#link")), timeout=30)
        wait_until(lambda: self.site.request_to("/landing"), 30, "the link's GET")
        self.assertEqual(self.wait_for("#landed").element.text, "landed")

    def test_modifiers_hover_and_click_kinds_reach_the_page(self):
        self.open("/search")
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#shift"), modifiers=[pb.MODIFIER_SHIFT]), timeout=30)
        self.assertEqual(self.find("#seen").text, "shift")
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#shift")), timeout=30)
        self.assertEqual(self.find("#seen").text, "plain")
        hovered = self.stub.Hover(pb.ElementRequest(lease_id=self.lease, element=css("#hover")), timeout=30)
        self.assertEqual(hovered.element.text, "hovered")
        self.clear_log()
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#seen"), click_count=2), timeout=30)
        self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=css("#seen"), button=pb.MOUSE_BUTTON_RIGHT), timeout=30)
        log = self.log()
        self.assertEqual(log.count("click:seen"), 2)
        self.assertIn("dblclick:seen", log)
        self.assertIn("contextmenu:seen", log)
        self.assertLess(log.index("mousedown:seen"), log.index("click:seen"))

    def test_actions_refuse_hidden_disabled_and_wrong_elements(self):
        self.open("/form")
        click = lambda target: self.stub.Click(pb.ClickRequest(lease_id=self.lease, element=target), timeout=30)
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: click(css("#hidden")), "not visible")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: click(css("#disabled")), "disabled")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: click(css("#nothing-here")), "#nothing-here")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.stub.SelectOption(pb.SelectOptionRequest(
            lease_id=self.lease, element=css("#name"), values=["x"]), timeout=30), "not a <select>")
        color = self.find("#color").element_id
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.stub.SelectOption(pb.SelectOptionRequest(
            lease_id=self.lease, element=by_id(color), values=["Purple"]), timeout=30), '"Purple"')
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.stub.SetChecked(pb.SetCheckedRequest(
            lease_id=self.lease, element=css("#name"), checked=True), timeout=30), "not a checkbox")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.stub.SetChecked(pb.SetCheckedRequest(
            lease_id=self.lease, element=css("#small"), checked=False), timeout=30), "radio")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.stub.UploadFile(pb.UploadFileRequest(
            lease_id=self.lease, element=css("#name"), files=[pb.FileData(name="a", content=b"a")]), timeout=30),
            "not an <input type=file>")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.stub.UploadFile(pb.UploadFileRequest(
            lease_id=self.lease, element=css("#file"), files=[pb.FileData(name="a", content=b"a"),
                                                              pb.FileData(name="b", content=b"b")]), timeout=30),
            "multiple")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.stub.TypeText(pb.TypeTextRequest(
            lease_id=self.lease, element=css("#agree"), text="x"), timeout=30), "not editable")
        # Nothing of that changed the page.
        _, properties = self.get(css("#small"), "checked")
        self.assertEqual(properties, {"checked": True})

    def test_focus_and_scroll_into_view(self):
        self.open("/form")
        self.evaluate("document.body.style.height = '5000px'; const d = document.createElement('div');"
                      "d.id = 'far'; d.textContent = 'far away'; d.style = 'position:absolute; top:4000px';"
                      "document.body.append(d)")
        self.assertGreater(self.find("#far").rect.y, 3000)
        scrolled = self.stub.ScrollIntoView(pb.ElementRequest(lease_id=self.lease, element=css("#far")), timeout=30)
        self.assertLess(scrolled.element.rect.y, 2000)
        self.assertGreater(self.evaluate("window.scrollY"), 1000)
        self.stub.Focus(pb.ElementRequest(lease_id=self.lease, element=css("#bio")), timeout=30)
        self.assertEqual(self.evaluate("document.activeElement.id"), "bio")
        self.assertIn("focus:bio", self.log())


if __name__ == "__main__":
    unittest.main()
