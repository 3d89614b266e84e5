"""An in-process fake foxpool server for the Python client's unit tests.

FakePool records every call it gets and answers like the real server's
lease bookkeeping (a lease per request_id; Renew of an unknown lease is
NOT_FOUND); `fail` makes chosen calls fail with a status. It runs on a real
gRPC server on a loopback port the OS picks.
"""
import json
import threading
import time
import uuid
from concurrent import futures

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc
from google.protobuf import duration_pb2


def _seconds(value):
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 1e9))
    return duration


class FakePool(rpc.BrowserPoolServicer):
    def __init__(self, idle_timeout=60.0):
        self.idle_timeout = idle_timeout
        self.calls = []  # (rpc name, request), in arrival order
        self._changed = threading.Condition()
        self._failures = {}  # rpc name -> [(code, details, trailing, times left or None)]
        self._leases = {}  # request_id -> lease id
        self.live = set()

    def fail(self, rpc_name, code, details="", trailing=(), times=1):
        """The next `times` calls of `rpc_name` (None: all) fail with `code`."""
        with self._changed:
            self._failures.setdefault(rpc_name, []).append([code, details, tuple(trailing), times])

    def requests(self, rpc_name):
        with self._changed:
            return [request for name, request in self.calls if name == rpc_name]

    def wait_for(self, condition, timeout=10.0):
        """Blocks until condition(self) holds (re-checked at every call)."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout):
                raise AssertionError(f"timed out after {timeout}s; calls: {self.calls}")

    def _record(self, rpc_name, request, context):
        with self._changed:
            self.calls.append((rpc_name, request))
            self._changed.notify_all()
            failures = self._failures.get(rpc_name)
            if not failures:
                return
            failure = failures[0]
            if failure[3] is not None:
                failure[3] -= 1
                if failure[3] == 0:
                    failures.pop(0)
        code, details, trailing, _ = failure
        if trailing:
            context.set_trailing_metadata(trailing)
        context.abort(code, details)

    def _check_lease(self, request, context):
        if request.lease_id not in self.live:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown lease id")

    def Acquire(self, request, context):
        self._record("Acquire", request, context)
        with self._changed:
            request_id = request.request_id or uuid.uuid4().hex
            lease = self._leases.setdefault(request_id, uuid.uuid4().hex)
            self.live.add(lease)
        return pb.AcquireResponse(lease_id=lease, window_id="w1",
                                  idle_timeout=_seconds(self.idle_timeout))

    def Renew(self, request, context):
        self._record("Renew", request, context)
        self._check_lease(request, context)
        return pb.RenewResponse(idle_timeout=_seconds(self.idle_timeout))

    def Release(self, request, context):
        self._record("Release", request, context)
        with self._changed:
            self.live.discard(request.lease_id)
        return pb.ReleaseResponse()

    def Navigate(self, request, context):
        self._record("Navigate", request, context)
        self._check_lease(request, context)
        return pb.NavigateResponse(url=request.url, title=f"title of {request.url}",
                                   http_status=200)

    def GetTitle(self, request, context):
        self._record("GetTitle", request, context)
        self._check_lease(request, context)
        return pb.GetTitleResponse(title="fake title")

    def Evaluate(self, request, context):
        self._record("Evaluate", request, context)
        self._check_lease(request, context)
        args = json.loads(request.args_json) if request.args_json else []
        return pb.EvaluateResponse(result_json=json.dumps({"expression": request.expression,
                                                           "args": args}))

    def Screenshot(self, request, context):
        self._record("Screenshot", request, context)
        self._check_lease(request, context)
        return pb.ScreenshotResponse(image=b"\x89PNG fake", width=2, height=1)

    def GetCookies(self, request, context):
        self._record("GetCookies", request, context)
        self._check_lease(request, context)
        return pb.GetCookiesResponse(cookies=[pb.Cookie(name="session", value="42")])

    def SetCookie(self, request, context):
        self._record("SetCookie", request, context)
        self._check_lease(request, context)
        return pb.SetCookieResponse(cookie=request.cookie)

    def Click(self, request, context):
        self._record("Click", request, context)
        self._check_lease(request, context)
        return pb.ElementActionResponse(element=pb.ElementInfo(element_id="e1", tag_name="button"))

    def GetPoolStatus(self, request, context):
        self._record("GetPoolStatus", request, context)
        with self._changed:
            return pb.GetPoolStatusResponse(idle=2 - len(self.live), leased=len(self.live),
                                            target_size=2)


class FakeServer:
    """A FakePool served on 127.0.0.1 (port 0); `address` to dial."""

    def __init__(self, fake):
        self.fake = fake
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        rpc.add_BrowserPoolServicer_to_server(fake, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self.server.start()

    def stop(self):
        self.server.stop(grace=None).wait()


def wait_until(condition, timeout, what):
    """Polls `condition` every 20 ms until it returns a true value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def renewer_threads():
    return [t for t in threading.enumerate() if t.name.startswith("foxpool-renew-")]
