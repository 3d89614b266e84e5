#!/usr/bin/python3
"""--firefox_prefs on a real foxpoold and Firefox: the operator's
preferences reach every window and win over foxpool's own; a file that is
not preferences stops the server at start, saying which line.

Usage: firefox_prefs_test.py FOXPOOLD_BINARY
(PYTHONPATH must reach the generated stubs and foxpoold.py).
"""
import os
import subprocess
import sys
import tempfile
import unittest

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, Pages

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"


class FirefoxPrefsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="foxpool-prefs-test-")
        self.prefs = os.path.join(self.tmp.name, "prefs.js")

    def tearDown(self):
        self.tmp.cleanup()

    def write_prefs(self, text):
        with open(self.prefs, "w") as file:
            file.write(text)

    def test_the_operators_preferences_reach_every_window_and_win(self):
        # foxpool's own profile sets devPixelsPerPx to 1.0; the operator's 2.0 wins.
        self.write_prefs('// test\nuser_pref("general.useragent.override", "prefs-test/1.0");\n'
                         'user_pref("layout.css.devPixelsPerPx", "2.0");\n')
        pages = Pages({"/": ("text/html", b"<!doctype html><title>prefs</title>")})
        server = Foxpoold(FOXPOOLD, 2, [f"--firefox_prefs={self.prefs}"])
        try:
            leases = [server.stub.Acquire(pb.AcquireRequest(), timeout=30).lease_id for _ in range(2)]
            for lease in leases:
                server.stub.Navigate(pb.NavigateRequest(lease_id=lease, url=pages.base + "/"),
                                     timeout=30)
                answer = server.stub.Evaluate(
                    pb.EvaluateRequest(lease_id=lease,
                                       expression="[navigator.userAgent, devicePixelRatio]"),
                    timeout=30)
                self.assertEqual(answer.result_json, '["prefs-test/1.0",2]')
        finally:
            self.assertEqual(server.stop(), 0)
            pages.close()

    def test_a_file_that_is_not_preferences_stops_the_server_at_start(self):
        self.write_prefs('user_pref("a.b", true);\npref("c", 1);\n')
        done = subprocess.run([FOXPOOLD, "--grpc_address=127.0.0.1:0", "--metrics_address=",
                               f"--firefox_prefs={self.prefs}"],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("--firefox_prefs", done.stderr + done.stdout)
        self.assertIn("line 2", done.stderr + done.stdout)


if __name__ == "__main__":
    unittest.main()
