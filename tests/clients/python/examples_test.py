#!/usr/bin/python3
"""The Python client on a real foxpoold (a pool of two windows) and real
Firefox: every example in clients/python/examples runs against pages served
on 127.0.0.1 and prints what those pages hold; leases end however their
block ends, renew while idle, and failures arrive as typed exceptions.

Usage: examples_test.py FOXPOOLD_BINARY EXAMPLES_DIR (PYTHONPATH must reach
build/python and tests/integration).
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import unittest

import foxpool
import foxpool.aio
from foxpoold import Foxpoold, Pages, free_port, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
EXAMPLES = sys.argv.pop(1) if len(sys.argv) > 1 else "clients/python/examples"
POOL_SIZE = 2


def page(i):
    links = "".join(f"<a href=/page/{j}>{j}</a>" for j in range(i))  # page i has i links
    return ("text/html", f"<!doctype html><title>Page {i}</title><h1>{i}</h1>{links}".encode())


class RealServerTest(unittest.TestCase):
    """A real foxpoold with POOL_SIZE windows and the class's PAGES served on
    127.0.0.1 (`base`); every test starts with the whole pool idle."""

    PAGES = {}

    @classmethod
    def setUpClass(cls):
        cls.pages = Pages(cls.PAGES)
        cls.base = cls.pages.base
        cls.server = Foxpoold(FOXPOOLD, pool_size=POOL_SIZE)

    @classmethod
    def tearDownClass(cls):
        cls.pages.close()
        assert cls.server.stop() == 0

    def setUp(self):
        self.wait_for_idle_pool()

    def wait_for_idle_pool(self):
        wait_until(lambda: self.server.status().idle == POOL_SIZE, 60,
                   f"{POOL_SIZE} idle windows")


class ExamplesTest(RealServerTest):
    PAGES = {f"/page/{i}": page(i) for i in range(8)}

    def run_example(self, name, *args):
        """Runs an example to its end; its output lines. Afterwards no lease
        is left and both windows come back."""
        done = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, name), self.server.address, self.base,
             *map(str, args)], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        self.assertEqual(self.server.status().leased, 0)
        self.wait_for_idle_pool()
        return done.stdout.splitlines()

    def test_parallel_windows(self):
        lines = self.run_example("parallel_windows.py", 5)  # more tasks than windows: some wait
        self.assertEqual(lines, [f"{self.base}/page/{i}: Page {i}" for i in range(5)])

    def test_worker_pool(self):
        lines = self.run_example("worker_pool.py", 2, 8)
        visits = [re.fullmatch(r"(worker-\d) \((w\d+)\): (\S+) -> (.*)", line).groups()
                  for line in lines]
        # Every page once, with its title.
        self.assertEqual(sorted((url, title) for _, _, url, title in visits),
                         [(f"{self.base}/page/{i}", f"Page {i}") for i in range(8)])
        # Each worker kept one window throughout, and no two shared one.
        windows = {}
        for worker, window, _, _ in visits:
            self.assertEqual(windows.setdefault(worker, window), window)
        self.assertEqual(len(set(windows.values())), len(windows))
        self.assertLessEqual(set(windows), {"worker-0", "worker-1"})

    def test_batch(self):
        dead = f"http://127.0.0.1:{free_port()}/"
        paths = [f"/page/{i}" for i in range(6)]
        lines = self.run_example("batch.py", 2, *paths, "/missing", dead)
        results = {result["url"]: result for result in map(json.loads, lines)}
        self.assertEqual(len(lines), len(results))
        for i in range(6):
            self.assertEqual(results[self.base + f"/page/{i}"],
                             {"url": self.base + f"/page/{i}", "title": f"Page {i}",
                              "status": 200, "links": i})
        self.assertEqual(results[self.base + "/missing"]["status"], 404)
        # A site that is down is reported by its typed error, and the batch goes on.
        self.assertEqual(results[dead]["error"], "UNAVAILABLE")
        self.assertIn("NS_ERROR_CONNECTION_REFUSED", results[dead]["message"])

    def test_reuse_windows(self):
        lines = self.run_example("reuse_windows.py", 2, 6)
        visits = [re.fullmatch(r"(w\d+): Page (\d) \(slot=(\d)\)", line).groups()
                  for line in lines]
        self.assertEqual([int(i) for _, i, _ in visits], list(range(6)))
        # The two windows take turns, and each keeps the cookie it got.
        first, second = visits[0][0], visits[1][0]
        self.assertNotEqual(first, second)
        self.assertEqual([window for window, _, _ in visits], [first, second] * 3)
        self.assertEqual({(window, slot) for window, _, slot in visits},
                         {(first, "0"), (second, "1")})
        # Released and reset: the next callers see no cookie of theirs.
        with foxpool.Pool(self.server.address) as pool:
            with pool.lease() as one, pool.lease() as other:
                self.assertEqual({one.window_id, other.window_id}, {first, second})
                self.assertEqual(one.cookies(all=True), [])
                self.assertEqual(other.cookies(all=True), [])


class LeaseOnRealServerTest(RealServerTest):
    PAGES = {"/": page(3)}

    def test_a_lease_is_released_when_its_block_raises(self):
        with foxpool.Pool(self.server.address) as pool:
            with self.assertRaisesRegex(RuntimeError, "failed mid-lease"):
                with pool.lease() as window:
                    self.assertEqual(window.navigate(self.base + "/").title, "Page 3")
                    self.assertEqual(pool.status().leased, 1)
                    raise RuntimeError("failed mid-lease")
            self.assertEqual(pool.status().leased, 0)
            wait_until(lambda: pool.status().idle == POOL_SIZE, 60, "the window back, idle")
            with self.assertRaises(foxpool.FailedPrecondition):  # released, not just expired
                window.title()

    def test_an_asyncio_lease_is_released_when_its_block_raises(self):
        async def fail_in_lease():
            async with foxpool.aio.Pool(self.server.address) as pool:
                async with pool.lease() as window:
                    await window.navigate(self.base + "/")
                    self.assertEqual((await pool.status()).leased, 1)
                    raise RuntimeError("failed mid-lease")

        with self.assertRaisesRegex(RuntimeError, "failed mid-lease"):
            asyncio.run(fail_in_lease())
        self.assertEqual(self.server.status().leased, 0)

    def test_an_idle_lease_outlives_its_idle_timeout_while_held(self):
        with foxpool.Pool(self.server.address) as pool:
            with pool.lease(idle_timeout=1) as window:
                self.assertEqual(window.idle_timeout, 1.0)
                window.navigate(self.base + "/")

                def age():
                    leases = [lease for lease in pool.call("ListLeases").leases
                              if window.lease_id.startswith(lease.lease_id_prefix)]
                    self.assertEqual(len(leases), 1, "the lease expired although held")
                    return leases[0].age.ToNanoseconds() / 1e9

                # No command for three idle timeouts: only the renewals keep it.
                wait_until(lambda: age() > 3, 10, "the lease to be 3 s old")
                self.assertEqual(window.title(), "Page 3")

    def test_failures_are_typed(self):
        with foxpool.Pool(self.server.address) as pool:
            with pool.lease() as window:
                window.navigate(self.base + "/")
                with self.assertRaisesRegex(foxpool.Unknown, "missingFunction"):
                    window.evaluate("missingFunction()")
                with self.assertRaises(foxpool.InvalidArgument):
                    window.navigate("file:///etc/passwd")
                with self.assertRaisesRegex(foxpool.NotFound, "#nothing-here"):
                    window.find("#nothing-here")
                self.assertEqual(window.find("xpath=//h1").text, "3")
                self.assertEqual(window.evaluate("(a, b) => a + b", 2, 3), 5)
            # Every window leased, and a caller who will not wait:
            with pool.lease(), pool.lease():
                with self.assertRaises(foxpool.ResourceExhausted) as refused:
                    with pool.lease(max_wait=0):
                        self.fail("a third window was leased")
                # The server's estimate of the wait, from the trailing metadata.
                self.assertGreater(refused.exception.retry_after, 0)


if __name__ == "__main__":
    unittest.main()
