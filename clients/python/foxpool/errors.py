"""foxpool's errors: every gRPC status the server answers, as a Python
exception of its own class.

Each class stands for one canonical gRPC code (`code`) and carries the
server's message (`details`); the grpc.RpcError it came from is its
`__cause__`. Catch `foxpool.Error` for any of them, or the one class a
caller can act on (NotFound: the lease expired; ResourceExhausted: retry
after `retry_after` seconds; Aborted: the window's Firefox died).
"""
import contextlib

import grpc


class Error(Exception):
    """A gRPC call to foxpool failed; `code` is its grpc.StatusCode."""

    code = grpc.StatusCode.UNKNOWN

    def __init__(self, details="", code=None, trailing_metadata=()):
        super().__init__(details)
        self.details = details
        if code is not None:
            self.code = code
        # (key, value) pairs, as gRPC gives them.
        self.trailing_metadata = tuple(trailing_metadata)

    def __str__(self):
        return f"{self.code.name}: {self.details}"


class Cancelled(Error):
    code = grpc.StatusCode.CANCELLED


class Unknown(Error):
    """Most often: a script threw; `details` is the JavaScript error."""
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(Error):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(Error):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(Error):
    """An unknown or expired lease; no element, tab or frame matched."""
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(Error):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(Error):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(Error):
    """The wait queue is full, or no window was idle and the caller would
    not wait. `retry_after`: the server's estimate of the wait, in seconds
    (None when it gave none)."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    @property
    def retry_after(self):
        for key, value in self.trailing_metadata:
            if key == "retry-after-ms":
                try:
                    return int(value) / 1000
                except ValueError:
                    return None
        return None


class FailedPrecondition(Error):
    """A released or revoked lease, a stale element, a page refusing scripts."""
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(Error):
    """The window was lost: its Firefox crashed or stopped responding."""
    code = grpc.StatusCode.ABORTED


class OutOfRange(Error):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(Error):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(Error):
    code = grpc.StatusCode.INTERNAL


class Unavailable(Error):
    """The server is draining or unreachable, or a page failed to load."""
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(Error):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(Error):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE = {cls.code: cls for cls in Error.__subclasses__()}


def from_rpc_error(error):
    """The foxpool.Error for a grpc.RpcError (sync or grpc.aio)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or ""
    trailing = (error.trailing_metadata() if hasattr(error, "trailing_metadata") else None) or ()
    return _BY_CODE.get(code, Error)(details, code, trailing)


@contextlib.contextmanager
def translated():
    """Raises a grpc.RpcError from the block as its foxpool.Error."""
    try:
        yield
    except grpc.RpcError as error:
        raise from_rpc_error(error) from error
