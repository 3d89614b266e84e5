#!/usr/bin/python3
"""The synchronous foxpool client (clients/python/foxpool) against an
in-process fake server: leases acquire, renew in the background and
release however their block ends; every gRPC status is a typed exception.

Usage: pool_test.py (PYTHONPATH must reach the built package, build/python,
and this directory).
"""
import threading
import unittest
import uuid
from concurrent import futures

import grpc

import foxpool
from fake_pool import FakePool, FakeServer, renewer_threads, wait_until
from foxpool.v1 import browser_pool_pb2 as pb

CODES = {
    grpc.StatusCode.CANCELLED: foxpool.Cancelled,
    grpc.StatusCode.UNKNOWN: foxpool.Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: foxpool.InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: foxpool.DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: foxpool.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: foxpool.AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: foxpool.PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: foxpool.ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: foxpool.FailedPrecondition,
    grpc.StatusCode.ABORTED: foxpool.Aborted,
    grpc.StatusCode.OUT_OF_RANGE: foxpool.OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: foxpool.Unimplemented,
    grpc.StatusCode.INTERNAL: foxpool.Internal,
    grpc.StatusCode.UNAVAILABLE: foxpool.Unavailable,
    grpc.StatusCode.DATA_LOSS: foxpool.DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: foxpool.Unauthenticated,
}


class FakeServerCase(unittest.TestCase):
    idle_timeout = 60.0

    def setUp(self):
        self.fake = FakePool(idle_timeout=self.idle_timeout)
        self.server = FakeServer(self.fake)
        self.pool = foxpool.Pool(self.server.address)

    def tearDown(self):
        self.pool.close()
        self.server.stop()

    def released(self):
        return [request.lease_id for request in self.fake.requests("Release")]


class LeaseTest(FakeServerCase):
    def test_a_lease_drives_its_window_and_releases_it_at_the_end(self):
        with self.pool.lease() as window:
            page = window.navigate("http://127.0.0.1:1/a")
            self.assertEqual(page.title, "title of http://127.0.0.1:1/a")
            self.assertEqual(window.title(), "fake title")
            self.assertEqual(window.screenshot(), b"\x89PNG fake")
            self.assertEqual(self.released(), [])
        acquire, = self.fake.requests("Acquire")
        uuid.UUID(acquire.request_id)  # a random UUID, so a retry cannot lease twice
        navigate, = self.fake.requests("Navigate")
        self.assertEqual(navigate.lease_id, window.lease_id)
        self.assertEqual(self.released(), [window.lease_id])
        self.assertEqual(self.fake.live, set())

    def test_the_lease_is_released_when_the_block_raises(self):
        with self.assertRaisesRegex(RuntimeError, "the caller's own failure"):
            with self.pool.lease() as window:
                window.navigate("http://127.0.0.1:1/")
                raise RuntimeError("the caller's own failure")
        self.assertEqual(self.released(), [window.lease_id])
        self.assertEqual(renewer_threads(), [])

    def test_a_lease_the_server_forgot_is_no_error_at_the_end(self):
        self.fake.fail("Release", grpc.StatusCode.NOT_FOUND, "unknown lease id")
        with self.pool.lease() as window:
            window.title()
        self.assertEqual(self.released(), [window.lease_id])

    def test_a_failed_release_is_raised_unless_the_block_failed(self):
        self.fake.fail("Release", grpc.StatusCode.UNAVAILABLE, "server shut down", times=2)
        with self.assertRaises(foxpool.Unavailable):
            with self.pool.lease():
                pass
        # The block's own exception says more than the release's.
        with self.assertRaises(KeyError):
            with self.pool.lease():
                raise KeyError("from the block")
        self.assertEqual(len(self.released()), 2)

    def test_lease_options_reach_acquire_and_release(self):
        with self.pool.lease(profile="alice", timeout=5, labels={"job": "test"}, idle_timeout=90,
                             release_mode="keep", fail_fast=True) as window:
            self.assertEqual(window.idle_timeout, 60.0)  # what the server said, not what we asked
        acquire, = self.fake.requests("Acquire")
        self.assertEqual(acquire.profile, "alice")
        self.assertEqual(dict(acquire.labels), {"job": "test"})
        self.assertEqual(acquire.idle_timeout.seconds, 90)
        self.assertTrue(acquire.fail_fast)
        release, = self.fake.requests("Release")
        self.assertEqual(release.mode, pb.RELEASE_MODE_KEEP)


class RenewTest(FakeServerCase):
    idle_timeout = 0.3  # renewed every 0.1 s

    def test_the_lease_renews_in_the_background_until_it_ends(self):
        with self.pool.lease() as window:
            self.fake.wait_for(lambda fake: sum(r.lease_id == window.lease_id
                                                for r in fake.requests("Renew")) >= 3, timeout=5)
        # The renewer ended before the release: nothing renews a released lease.
        self.assertEqual(renewer_threads(), [])
        self.assertEqual(self.fake.calls[-1][0], "Release")

    def test_renewing_stops_once_the_lease_is_gone(self):
        with self.pool.lease() as window:
            self.fake.live.discard(window.lease_id)  # expired on the server
            self.fake.wait_for(lambda fake: len(fake.requests("Renew")) >= 1, timeout=5)
            wait_until(lambda: not renewer_threads(), 5, "the renewer to stop")

    def test_a_failed_renewal_is_tried_again(self):
        self.fake.fail("Renew", grpc.StatusCode.UNAVAILABLE, "busy", times=2)
        with self.pool.lease():
            self.fake.wait_for(lambda fake: len(fake.requests("Renew")) >= 3, timeout=5)
            self.assertEqual(len(renewer_threads()), 1)


class ErrorTest(FakeServerCase):
    def test_every_status_is_its_own_exception_with_code_and_details(self):
        with self.pool.lease() as window:
            for code, cls in CODES.items():
                with self.subTest(code=code):
                    self.fake.fail("GetTitle", code, f"details of {code.name}")
                    with self.assertRaises(cls) as raised:
                        window.title()
                    error = raised.exception
                    self.assertIsInstance(error, foxpool.Error)
                    self.assertIs(error.code, code)
                    self.assertEqual(error.details, f"details of {code.name}")
                    self.assertEqual(str(error), f"{code.name}: details of {code.name}")
                    self.assertIsInstance(error.__cause__, grpc.RpcError)
                    self.assertIs(error.__cause__.code(), code)

    def test_resource_exhausted_carries_the_servers_retry_hint(self):
        self.fake.fail("Acquire", grpc.StatusCode.RESOURCE_EXHAUSTED, "the wait queue is full",
                       trailing=[("retry-after-ms", "1500")])
        with self.assertRaises(foxpool.ResourceExhausted) as raised:
            with self.pool.lease():
                self.fail("no window was leased")
        self.assertEqual(raised.exception.retry_after, 1.5)
        self.assertEqual(raised.exception.details, "the wait queue is full")
        self.assertEqual(len(self.fake.requests("Acquire")), 1)  # a refusal is not retried

        self.fake.fail("Acquire", grpc.StatusCode.RESOURCE_EXHAUSTED, "no window idle")
        with self.assertRaises(foxpool.ResourceExhausted) as raised:
            with self.pool.lease():
                pass
        self.assertIsNone(raised.exception.retry_after)

    def test_a_command_on_an_expired_lease_is_not_found(self):
        with self.pool.lease() as window:
            self.fake.live.discard(window.lease_id)
            with self.assertRaisesRegex(foxpool.NotFound, "unknown lease id"):
                window.navigate("http://127.0.0.1:1/")

    def test_an_unimplemented_rpc_is_typed_too(self):
        with self.assertRaises(foxpool.Unimplemented):
            self.pool.call("ListLeases")


class AcquireRetryTest(FakeServerCase):
    def test_an_unavailable_server_is_tried_again_with_the_same_request_id(self):
        self.fake.fail("Acquire", grpc.StatusCode.UNAVAILABLE, "connection reset")
        with self.pool.lease() as window:
            self.assertIn(window.lease_id, self.fake.live)
        first, second = self.fake.requests("Acquire")
        self.assertEqual(first.request_id, second.request_id)
        self.assertEqual(self.released(), [window.lease_id])

    def test_a_grant_lost_at_the_deadline_is_picked_up_not_leaked(self):
        # The first attempt ends at its deadline; the pick-up (same id, no
        # wait) gets the lease the server had granted.
        self.fake.fail("Acquire", grpc.StatusCode.DEADLINE_EXCEEDED, "deadline")
        with self.pool.lease(timeout=5) as window:
            pass
        first, pickup = self.fake.requests("Acquire")
        self.assertEqual(first.request_id, pickup.request_id)
        self.assertFalse(first.HasField("max_wait"))
        self.assertTrue(pickup.HasField("max_wait"))
        self.assertEqual(pickup.max_wait.ToNanoseconds(), 0)
        self.assertEqual(self.released(), [window.lease_id])

    def test_the_deadline_is_raised_when_nothing_was_granted(self):
        self.fake.fail("Acquire", grpc.StatusCode.DEADLINE_EXCEEDED, "no window became idle")
        self.fake.fail("Acquire", grpc.StatusCode.RESOURCE_EXHAUSTED, "no window idle")
        with self.assertRaisesRegex(foxpool.DeadlineExceeded, "no window became idle"):
            with self.pool.lease(timeout=5):
                self.fail("no window was leased")
        self.assertEqual(len(self.fake.requests("Acquire")), 2)


class CommandTest(FakeServerCase):
    def test_call_reaches_any_rpc_by_name_with_the_lease_id(self):
        with self.pool.lease() as window:
            cookies = window.call("GetCookies", all=True)
            self.assertEqual([(c.name, c.value) for c in cookies.cookies], [("session", "42")])
            clicked = window.call("Click", element="xpath=//button", click_count=2)
            self.assertEqual(clicked.element.tag_name, "button")
        get, = self.fake.requests("GetCookies")
        self.assertEqual((get.lease_id, get.all), (window.lease_id, True))
        click, = self.fake.requests("Click")
        self.assertEqual(click.element.locator.strategy, pb.LOCATOR_STRATEGY_XPATH)
        self.assertEqual(click.element.locator.value, "//button")
        self.assertEqual(click.click_count, 2)

    def test_call_refuses_what_the_service_does_not_have(self):
        with self.pool.lease() as window:
            with self.assertRaisesRegex(ValueError, "no RPC 'Frobnicate'"):
                window.call("Frobnicate")
            with self.assertRaisesRegex(ValueError, "stream"):
                window.call("Session")
            with self.assertRaisesRegex(TypeError, "no field 'colour'"):
                window.call("Navigate", url="about:blank", colour="red")
            with self.assertRaisesRegex(ValueError, "no value 'sideways'"):
                window.navigate("about:blank", wait_until="sideways")

    def test_evaluate_sends_its_arguments_as_json_and_parses_the_result(self):
        with self.pool.lease() as window:
            result = window.evaluate("(a, b) => a + b", 1, {"two": [2]})
            self.assertEqual(result, {"expression": "(a, b) => a + b", "args": [1, {"two": [2]}]})
            window.evaluate("document.title")
        with_args, without = self.fake.requests("Evaluate")
        self.assertEqual(without.args_json, "")  # no arguments: an expression, not a call

    def test_helpers_fill_element_duration_and_enum_fields(self):
        with self.pool.lease() as window:
            element = window.click("#go")
            window.click(element)
            window.navigate("http://127.0.0.1:1/", timeout=2.5, wait_until="dom_content_loaded")
            window.screenshot(format="jpeg", quality=80)
            stored = window.set_cookie("id", "7", url="http://127.0.0.1:1/", same_site="lax",
                                       http_only=True)
            self.assertEqual((stored.name, stored.value), ("id", "7"))
        by_selector, by_id = self.fake.requests("Click")
        self.assertEqual(by_selector.element.locator.value, "#go")
        self.assertEqual(by_id.element.element_id, "e1")
        navigate, = self.fake.requests("Navigate")
        self.assertEqual(navigate.timeout.ToNanoseconds(), 2_500_000_000)
        self.assertEqual(navigate.wait_until, pb.WAIT_UNTIL_DOM_CONTENT_LOADED)
        shot, = self.fake.requests("Screenshot")
        self.assertEqual((shot.format, shot.quality), (pb.IMAGE_FORMAT_JPEG, 80))
        cookie, = self.fake.requests("SetCookie")
        self.assertEqual(cookie.url, "http://127.0.0.1:1/")
        self.assertEqual(cookie.cookie.same_site, pb.SAME_SITE_LAX)
        self.assertTrue(cookie.cookie.http_only)

    def test_pool_status(self):
        with self.pool.lease():
            status = self.pool.status()
            self.assertEqual((status.idle, status.leased), (1, 1))
        self.assertEqual(self.pool.status().idle, 2)

    def test_leases_from_many_threads_share_one_pool(self):
        windows = []

        def work(i):
            with self.pool.lease() as window:
                window.navigate(f"http://127.0.0.1:1/{i}")
                windows.append(window.lease_id)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        self.assertEqual(len(set(windows)), 4)
        self.assertEqual(sorted(self.released()), sorted(windows))


class EveryRpcTest(unittest.TestCase):
    """call() reaches each of the service's unary RPCs, by name."""

    def setUp(self):
        self.seen = []
        service = pb.DESCRIPTOR.services_by_name["BrowserPool"]
        seen = self.seen

        class AnyMethod(grpc.GenericRpcHandler):
            def service(self, details):
                method = service.methods_by_name[details.method.rsplit("/", 1)[1]]
                request = getattr(pb, method.input_type.name)
                response = getattr(pb, method.output_type.name)

                def answer(message, context):
                    seen.append((method.name, message))
                    if method.name == "Acquire":
                        return pb.AcquireResponse(lease_id="lease-1", window_id="w9")
                    return response()

                return grpc.unary_unary_rpc_method_handler(
                    answer, request_deserializer=request.FromString,
                    response_serializer=response.SerializeToString)

        self.unary = [m for m in service.methods
                      if not (m.client_streaming or m.server_streaming)]
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2),
                                  handlers=[AnyMethod()])
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.pool = foxpool.Pool(f"127.0.0.1:{port}")

    def tearDown(self):
        self.pool.close()
        self.server.stop(grace=None).wait()

    def test_call_reaches_every_unary_rpc_with_the_lease_id(self):
        self.assertEqual(len(self.unary), 53)  # and the Session stream: 54
        with self.pool.lease() as window:
            for method in self.unary:
                answer = window.call(method.name)
                self.assertEqual(answer.DESCRIPTOR, method.output_type, method.name)
        called = [name for name, _ in self.seen]
        self.assertEqual(called[1:-1], [method.name for method in self.unary])
        for name, request in self.seen[1:-1]:
            if "lease_id" in request.DESCRIPTOR.fields_by_name:
                self.assertEqual(request.lease_id, "lease-1", name)


if __name__ == "__main__":
    unittest.main()
