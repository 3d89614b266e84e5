#!/usr/bin/python3
"""foxpool.aio against the in-process fake server: the same leases as the
synchronous client (renewed from a task, released however the block ends,
cancellation included) and the same typed errors.

Usage: aio_test.py (PYTHONPATH must reach build/python and this directory).
"""
import asyncio
import time
import unittest

import grpc

import foxpool
import foxpool.aio
from fake_pool import FakePool, FakeServer


async def until(condition, timeout, what):
    """Polls `condition` every 20 ms without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def renew_tasks():
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("foxpool-renew-")]


class AioTest(unittest.IsolatedAsyncioTestCase):
    idle_timeout = 0.3  # renewed every 0.1 s

    def setUp(self):
        self.fake = FakePool(idle_timeout=self.idle_timeout)
        self.server = FakeServer(self.fake)  # started outside the event loop: it blocks

    async def asyncSetUp(self):
        self.pool = foxpool.aio.Pool(self.server.address)

    async def asyncTearDown(self):
        await self.pool.close()

    def tearDown(self):
        self.server.stop()

    def released(self):
        return [request.lease_id for request in self.fake.requests("Release")]

    async def test_a_lease_drives_its_window_and_releases_it_at_the_end(self):
        async with self.pool.lease(labels={"job": "aio"}) as window:
            page = await window.navigate("http://127.0.0.1:1/a")
            self.assertEqual(page.title, "title of http://127.0.0.1:1/a")
            self.assertEqual(await window.title(), "fake title")
            self.assertEqual(await window.evaluate("(x) => x", 7),
                             {"expression": "(x) => x", "args": [7]})
            self.assertEqual((await self.pool.status()).leased, 1)
        self.assertEqual(self.released(), [window.lease_id])
        acquire, = self.fake.requests("Acquire")
        self.assertEqual(dict(acquire.labels), {"job": "aio"})
        self.assertTrue(acquire.request_id)

    async def test_the_lease_renews_from_a_task_until_it_ends(self):
        async with self.pool.lease() as window:
            await until(lambda: sum(r.lease_id == window.lease_id
                                    for r in self.fake.requests("Renew")) >= 3, 5, "3 renewals")
            self.assertEqual(len(renew_tasks()), 1)
        self.assertEqual(renew_tasks(), [])
        self.assertEqual(self.fake.calls[-1][0], "Release")

    async def test_the_lease_is_released_when_the_block_raises(self):
        with self.assertRaisesRegex(RuntimeError, "the caller's own failure"):
            async with self.pool.lease() as window:
                await window.title()
                raise RuntimeError("the caller's own failure")
        self.assertEqual(self.released(), [window.lease_id])
        self.assertEqual(renew_tasks(), [])

    async def test_the_lease_is_released_when_the_task_is_cancelled(self):
        entered = asyncio.Event()
        leases = []

        async def job():
            async with self.pool.lease() as window:
                leases.append(window.lease_id)
                entered.set()
                await asyncio.Event().wait()  # until cancelled

        task = asyncio.create_task(job())
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        self.assertEqual(self.released(), leases)

    async def test_a_lease_the_server_forgot_is_no_error_at_the_end(self):
        self.fake.fail("Release", grpc.StatusCode.NOT_FOUND, "unknown lease id")
        async with self.pool.lease() as window:
            pass
        self.assertEqual(self.released(), [window.lease_id])

    async def test_errors_are_typed_with_code_details_and_cause(self):
        async with self.pool.lease() as window:
            self.fake.fail("Navigate", grpc.StatusCode.ABORTED, "window w1 stopped responding")
            with self.assertRaises(foxpool.Aborted) as raised:
                await window.navigate("http://127.0.0.1:1/")
            self.assertIs(raised.exception.code, grpc.StatusCode.ABORTED)
            self.assertEqual(raised.exception.details, "window w1 stopped responding")
            self.assertIsInstance(raised.exception.__cause__, grpc.aio.AioRpcError)

            self.fake.fail("GetTitle", grpc.StatusCode.UNKNOWN, "ReferenceError: x is not defined")
            with self.assertRaisesRegex(foxpool.Unknown, "ReferenceError"):
                await window.title()

        self.fake.fail("Acquire", grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full",
                       trailing=[("retry-after-ms", "250")])
        with self.assertRaises(foxpool.ResourceExhausted) as raised:
            async with self.pool.lease():
                self.fail("no window was leased")
        self.assertEqual(raised.exception.retry_after, 0.25)

    async def test_an_unavailable_acquire_is_retried_with_the_same_request_id(self):
        self.fake.fail("Acquire", grpc.StatusCode.UNAVAILABLE, "connection reset")
        async with self.pool.lease():
            pass
        first, second = self.fake.requests("Acquire")
        self.assertEqual(first.request_id, second.request_id)

    async def test_call_reaches_any_rpc_by_name_with_the_lease_id(self):
        async with self.pool.lease() as window:
            answer = await window.call("GetCookies", url="http://127.0.0.1:1/", name="session")
            self.assertEqual(answer.cookies[0].value, "42")
            self.assertEqual([c.name for c in await window.cookies()], ["session"])
        first, second = self.fake.requests("GetCookies")
        self.assertEqual((first.lease_id, first.url, first.name),
                         (window.lease_id, "http://127.0.0.1:1/", "session"))
        self.assertEqual(second.lease_id, window.lease_id)

    async def test_leases_run_concurrently_on_one_pool(self):
        async def job(i):
            async with self.pool.lease() as window:
                await window.navigate(f"http://127.0.0.1:1/{i}")
                return window.lease_id

        leases = await asyncio.gather(*(job(i) for i in range(4)))
        self.assertEqual(len(set(leases)), 4)
        self.assertEqual(sorted(self.released()), sorted(leases))
        urls = sorted(request.url for request in self.fake.requests("Navigate"))
        self.assertEqual(urls, [f"http://127.0.0.1:1/{i}" for i in range(4)])


class SharedCodeTest(unittest.TestCase):
    def test_both_clients_have_the_same_commands(self):
        # One set of command methods, so the two clients cannot drift apart.
        commands = [name for name in dir(foxpool.Window)
                    if not name.startswith("_") and callable(getattr(foxpool.Window, name))]
        self.assertIn("navigate", commands)
        for name in commands:
            self.assertIs(getattr(foxpool.aio.Window, name), getattr(foxpool.Window, name), name)


if __name__ == "__main__":
    unittest.main()
