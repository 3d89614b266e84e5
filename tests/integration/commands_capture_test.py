#!/usr/bin/python3
"""Screenshots, page text and the viewport, through a real foxpoold and
real headless Firefox, asserted on the pixels of the images it returns.

Usage: commands_capture_test.py FOXPOOLD_BINARY SOURCE_DIR (PYTHONPATH must
reach the generated stubs). Needs PIL (python3-pil).
"""
import io
import json
import re
import sys
import unittest
import zlib

import grpc
from PIL import Image

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import CommandTestCase, Foxpoold, Pages

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."

# Blocks at known document positions: red in the first screen, blue below
# it, green far below the fold, and a yellow block inside an iframe. The
# document is HEIGHT tall.
RED = (100, 50, 300, 200)        # left, top, width, height
BLUE = (500, 1500, 200, 100)
GREEN = (0, 3000, 400, 100)
FRAME = (50, 600, 300, 200, 5)   # left, top, width, height, border
YELLOW = (20, 30, 50, 40)        # inside the frame
HEIGHT = 4000

PAGE = f"""<!doctype html>
<html><head><title>capture</title><style>
body {{ margin: 0; min-height: {HEIGHT}px; font: 16px sans-serif; }}
div, iframe {{ position: absolute; }}
#red {{ left: {RED[0]}px; top: {RED[1]}px; width: {RED[2]}px; height: {RED[3]}px; background: #f00; }}
#blue {{ left: {BLUE[0]}px; top: {BLUE[1]}px; width: {BLUE[2]}px; height: {BLUE[3]}px;
         background: #00f; color: #00f; }}
#green {{ left: {GREEN[0]}px; top: {GREEN[1]}px; width: {GREEN[2]}px; height: {GREEN[3]}px;
          background: #0f0; }}
iframe {{ left: {FRAME[0]}px; top: {FRAME[1]}px; width: {FRAME[2]}px; height: {FRAME[3]}px;
          border: {FRAME[4]}px solid #000; }}
</style></head><body>
<p id="intro" style="position:absolute; left:500px; top:60px">Known <b>coloured</b> blocks</p>
<div id="red"></div><div id="blue">Blue box</div><div id="green"></div>
<iframe name="inner" src="/inner"></iframe>
</body></html>""".encode()

INNER = f"""<!doctype html><html><body style="margin:0">
<div id="yellow" style="position:absolute; left:{YELLOW[0]}px; top:{YELLOW[1]}px;
  width:{YELLOW[2]}px; height:{YELLOW[3]}px; background:#ff0"></div>
<p style="position:absolute; top:100px">Inside the frame</p>
</body></html>""".encode()

# 100 000 px tall: a full-page capture is clamped to 16384 px.
TALL = b"""<!doctype html><html><body style="margin:0">
<div style="height:100000px; background:linear-gradient(#f00 0 100px, #fff 100px)"></div>
</body></html>"""


def locator(css):
    return pb.Locator(strategy=pb.LOCATOR_STRATEGY_CSS_UNSPECIFIED, value=css)


def decode(response):
    image = Image.open(io.BytesIO(response.image))
    image.load()
    return image


# Which channels are near 255 (the others near 0) → the block's colour.
COLOURS = {(True, False, False): "red", (False, True, False): "green",
           (False, False, True): "blue", (True, True, False): "yellow"}


def colour(pixel):
    """The block colour a pixel shows, or None (white, black, grey ...)."""
    r, g, b = pixel[:3]
    if min(r, g, b) >= 60:
        return None
    return COLOURS.get((r > 200, g > 200, b > 200))


def count(image, name):
    rgb = image.convert("RGB")
    return sum(n for n, pixel in rgb.getcolors(maxcolors=1 << 24) if colour(pixel) == name)


# One short page.
SHORT = b"""<!doctype html><html><body><h1>A short page</h1></body></html>"""


def pdf_pages(pdf):
    """The page objects of a PDF and their MediaBox sizes, in points (also
    those inside compressed object streams)."""
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            pdf += zlib.decompress(stream)
        except zlib.error:
            pass  # Not deflated (an image), or not an object stream.
    pages = re.findall(rb"/Type\s*/Page\b", pdf)
    boxes = [tuple(round(float(n)) for n in box.split()[2:4])
             for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)]
    return len(pages), boxes


class CaptureTest(CommandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pages = Pages({
            "/": ("text/html", PAGE),
            "/inner": ("text/html", INNER),
            "/tall": ("text/html", TALL),
            "/short": ("text/html", SHORT),
        })
        cls.foxpoold = Foxpoold(FOXPOOLD, pool_size=1)
        cls.stub = cls.foxpoold.stub

    @classmethod
    def tearDownClass(cls):
        code = cls.foxpoold.stop()
        cls.pages.close()
        if code != 0:
            raise AssertionError(f"foxpoold exited with {code}")

    def setUp(self):
        self.lease = self.acquire()
        self.navigate("/")

    def tearDown(self):
        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=60)

    # --------------------------------------------------------- helpers ---

    def acquire(self):
        return self.stub.Acquire(pb.AcquireRequest(), timeout=90).lease_id

    def navigate(self, path):
        self.stub.Navigate(pb.NavigateRequest(lease_id=self.lease, url=self.pages.base + path), timeout=60)

    def evaluate(self, expression):
        reply = self.stub.Evaluate(pb.EvaluateRequest(lease_id=self.lease, expression=expression), timeout=60)
        return json.loads(reply.result_json)

    def screenshot(self, **fields):
        return self.stub.Screenshot(pb.ScreenshotRequest(lease_id=self.lease, **fields), timeout=60)

    def viewport(self):
        return tuple(self.evaluate("[innerWidth, innerHeight]"))

    def assert_block(self, image, name, left, top, width, height):
        """The block fills its box in `image`, and the pixels just outside it are not it."""
        rgb = image.convert("RGB")
        inside = [(left + 2, top + 2), (left + width - 3, top + height - 3), (left + width // 2, top + height // 2)]
        for x, y in inside:
            self.assertEqual(colour(rgb.getpixel((x, y))), name, f"({x}, {y}) should be {name}")
        for x, y in [(left - 3, top + height // 2), (left + width // 2, top + height + 2)]:
            if not (0 <= x < image.width and 0 <= y < image.height):
                continue
            self.assertNotEqual(colour(rgb.getpixel((x, y))), name, f"({x}, {y}) is outside the {name} block")

    # ---------------------------------------------------------- images ---

    def test_viewport_png_shows_the_first_screen_only(self):
        response = self.screenshot()
        image = decode(response)
        self.assertEqual(image.format, "PNG")
        self.assertEqual(response.format, pb.IMAGE_FORMAT_PNG_UNSPECIFIED)
        self.assertEqual(image.size, (response.width, response.height))
        self.assertEqual(image.size, self.viewport())
        self.assert_block(image, "red", *RED)
        self.assertEqual(count(image, "green"), 0)
        self.assertEqual(count(image, "blue"), 0)

    def test_viewport_follows_the_scroll_position(self):
        scrolled = self.evaluate(f"scrollTo(0, {GREEN[1] - 100}); scrollY")
        self.assertEqual(scrolled, GREEN[1] - 100)
        image = decode(self.screenshot())
        self.assertEqual(count(image, "red"), 0)
        self.assert_block(image, "green", GREEN[0], GREEN[1] - scrolled, GREEN[2], GREEN[3])

    def test_full_page_has_every_block_in_place(self):
        # Scrolled down: the full page still starts at the document's top,
        # and taking it does not move the page.
        self.evaluate("scrollTo(0, 1000)")
        width, height = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        self.assertEqual(height, HEIGHT)
        response = self.screenshot(full_page=True)
        image = decode(response)
        self.assertEqual(image.size, (width, height))
        self.assertEqual((response.width, response.height), (width, height))
        self.assert_block(image, "red", *RED)
        self.assert_block(image, "blue", *BLUE)
        self.assert_block(image, "green", *GREEN)
        self.assertEqual(self.evaluate("scrollY"), 1000)

    def test_full_page_is_clamped_to_16384_pixels(self):
        self.navigate("/tall")
        response = self.screenshot(full_page=True)
        image = decode(response)
        self.assertEqual(image.size, (response.width, response.height))
        self.assertEqual(response.height, 16384)
        self.assertEqual(response.width, self.evaluate("document.documentElement.clientWidth"))
        self.assert_block(image, "red", 0, 0, response.width // 2, 100)

    def test_jpeg_with_quality(self):
        low = self.screenshot(format=pb.IMAGE_FORMAT_JPEG, quality=10)
        high = self.screenshot(format=pb.IMAGE_FORMAT_JPEG, quality=95)
        default = self.screenshot(format=pb.IMAGE_FORMAT_JPEG)
        for response in (low, high, default):
            image = decode(response)
            self.assertEqual(image.format, "JPEG")
            self.assertEqual(response.format, pb.IMAGE_FORMAT_JPEG)
            self.assertEqual(image.size, (response.width, response.height))
            self.assertEqual(colour(image.getpixel((RED[0] + RED[2] // 2, RED[1] + RED[3] // 2))), "red")
        self.assertLess(len(low.image), len(default.image))
        self.assertLess(len(default.image), len(high.image))

    def test_element_below_the_fold(self):
        # Wherever the page is scrolled to, and without scrolling it.
        for scroll in (0, 1200, 3000):
            self.evaluate(f"scrollTo(0, {scroll})")
            response = self.screenshot(element=pb.ElementTarget(locator=locator("#blue")))
            image = decode(response)
            self.assertEqual(image.size, (BLUE[2], BLUE[3]))
            self.assertEqual((response.width, response.height), (BLUE[2], BLUE[3]))
            self.assertEqual(count(image, "blue"), BLUE[2] * BLUE[3], f"scrolled to {scroll}")
            self.assertEqual(self.evaluate("scrollY"), min(scroll, HEIGHT - self.viewport()[1]))

    def test_element_inside_a_frame(self):
        self.evaluate("scrollTo(0, 300)")
        target = pb.Target(frame=pb.FrameSelector(name="inner"))
        response = self.screenshot(element=pb.ElementTarget(target=target, locator=locator("#yellow")))
        image = decode(response)
        self.assertEqual(image.size, (YELLOW[2], YELLOW[3]))
        self.assertEqual(count(image, "yellow"), YELLOW[2] * YELLOW[3])

    def test_element_by_id_and_stale_id(self):
        found = self.stub.FindElement(pb.FindElementRequest(lease_id=self.lease, locator=locator("#red")), timeout=60)
        by_id = pb.ElementTarget(element_id=found.element.element_id)
        image = decode(self.screenshot(element=by_id))
        self.assertEqual(image.size, (RED[2], RED[3]))
        self.assertEqual(count(image, "red"), RED[2] * RED[3])
        self.navigate("/")
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.screenshot(element=by_id),
                           "stale element")

    def test_a_background_tab(self):
        opened = self.stub.OpenTab(pb.OpenTabRequest(lease_id=self.lease, url=self.pages.base + "/inner",
                                                     background=True), timeout=60)
        image = decode(self.screenshot(tab_id=opened.tab.tab_id))
        self.assert_block(image, "yellow", *YELLOW)
        self.assertEqual(count(image, "red"), 0)
        self.assert_block(decode(self.screenshot()), "red", *RED)

    def test_screenshot_errors(self):
        missing = pb.ElementTarget(locator=locator("#missing"))
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.screenshot(element=missing), "#missing")
        for quality in (101, -1):
            self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                               lambda: self.screenshot(format=pb.IMAGE_FORMAT_JPEG, quality=quality), "quality")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.screenshot(quality=50), "quality")
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                           lambda: self.screenshot(full_page=True, element=pb.ElementTarget(locator=locator("#red"))))
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.screenshot(tab_id=99999), "99999")

    # ------------------------------------------------------------ text ---

    def get_text(self, **fields):
        return self.stub.GetText(pb.GetTextRequest(lease_id=self.lease, **fields), timeout=60).text

    def test_text_of_the_page_and_of_elements(self):
        page = self.get_text()
        self.assertIn("Known coloured blocks", page)
        self.assertIn("Blue box", page)
        self.assertNotIn("Inside the frame", page)
        self.assertEqual(self.get_text(element=pb.ElementTarget(locator=locator("#intro"))), "Known coloured blocks")
        frame = pb.Target(frame=pb.FrameSelector(index=0))
        self.assertIn("Inside the frame", self.get_text(target=frame))
        self.assertEqual(self.get_text(element=pb.ElementTarget(target=frame, locator=locator("p"))),
                         "Inside the frame")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND,
                           lambda: self.get_text(element=pb.ElementTarget(locator=locator("#missing"))), "#missing")
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND,
                           lambda: self.get_text(target=pb.Target(frame=pb.FrameSelector(name="nope"))))

    # -------------------------------------------------------- viewport ---

    def set_viewport(self, width, height):
        return self.stub.SetViewport(pb.SetViewportRequest(lease_id=self.lease, width=width, height=height),
                                     timeout=60)

    def test_set_viewport_then_release_restores_the_window(self):
        original = self.viewport()
        response = self.set_viewport(800, 600)
        self.assertEqual((response.width, response.height), (800, 600))
        self.assertEqual(self.viewport(), (800, 600))
        self.assertEqual(self.evaluate("matchMedia('(max-width: 800px) and (min-width: 800px)').matches"), True)
        shot = self.screenshot()
        self.assertEqual((shot.width, shot.height), (800, 600))
        self.assertEqual(decode(shot).size, (800, 600))
        # Larger than the screen Firefox was started with.
        response = self.set_viewport(1600, 1000)
        self.assertEqual((response.width, response.height), (1600, 1000))
        self.assertEqual(self.viewport(), (1600, 1000))

        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=60)
        self.lease = self.acquire()
        self.assertEqual(decode(self.screenshot()).size, original)  # about:blank
        self.navigate("/")
        self.assertEqual(self.viewport(), original)

    def test_set_viewport_on_a_blank_page(self):
        # A new lease starts on about:blank, where no script may run.
        self.stub.Release(pb.ReleaseRequest(lease_id=self.lease), timeout=60)
        self.lease = self.acquire()
        response = self.set_viewport(640, 480)
        self.assertEqual((response.width, response.height), (640, 480))
        self.assertEqual(decode(self.screenshot()).size, (640, 480))
        self.navigate("/")
        self.assertEqual(self.viewport(), (640, 480))

    def test_set_viewport_errors(self):
        for width, height in [(50, 50), (800, 99), (8193, 600), (0, 0)]:
            self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.set_viewport(width, height))
        # Firefox keeps its window about 500 px wide at least.
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.set_viewport(120, 400), "120x400")


    # ------------------------------------------------------------- pdf ---

    def print_to_pdf(self, **fields):
        return self.stub.PrintToPdf(pb.PrintToPdfRequest(lease_id=self.lease, **fields), timeout=60).pdf

    def test_print_to_pdf(self):
        pdf = self.print_to_pdf()
        self.assertTrue(pdf.startswith(b"%PDF-"), pdf[:16])
        self.assertIn(b"%%EOF", pdf[-64:])
        # The 4000 px page takes several A4 pages (595.3 x 841.9 points).
        pages, boxes = pdf_pages(pdf)
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(set(boxes), {(596, 842)})

        # One short page is one page.
        self.navigate("/short")
        pages, _ = pdf_pages(self.print_to_pdf())
        self.assertEqual(pages, 1)

    def test_print_to_pdf_after_the_page_printed_itself_and_in_another_tab(self):
        # A page's own window.print() writes the same file silently; the
        # next PrintToPdf prints afresh rather than returning that file.
        self.evaluate("window.print(), 1")
        opened = self.stub.OpenTab(pb.OpenTabRequest(lease_id=self.lease, url=self.pages.base + "/short",
                                                     background=True), timeout=60).tab
        pages, _ = pdf_pages(self.print_to_pdf(tab_id=opened.tab_id))
        self.assertEqual(pages, 1)
        pages, _ = pdf_pages(self.print_to_pdf())
        self.assertGreaterEqual(pages, 3)

    def test_print_to_pdf_errors(self):
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, lambda: self.print_to_pdf(tab_id=999999))
        self.stub.Navigate(pb.NavigateRequest(lease_id=self.lease, url="about:blank"), timeout=60)
        self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.print_to_pdf())


if __name__ == "__main__":
    unittest.main()
