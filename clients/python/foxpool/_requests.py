"""What the sync and the asyncio clients share: building a request message
from an RPC's name and keyword fields, the deadline a call gets, and how an
Acquire is retried and a lease renewed. No I/O here.
"""
import datetime
import re
import time
import uuid

from google.protobuf import duration_pb2

from foxpool import errors
from foxpool.v1 import browser_pool_pb2 as pb

_SERVICE = pb.DESCRIPTOR.services_by_name["BrowserPool"]
_DURATION = duration_pb2.Duration.DESCRIPTOR.full_name

# The deadline of a call that sets none (seconds). The server ends every
# command by its own timeout (30 s unless the request says otherwise), so
# this only bounds a server that stopped answering.
CALL_TIMEOUT = 120.0
# A request that sets its own, longer `timeout` gets that plus this, so the
# server's DEADLINE_EXCEEDED (which says what it waited for) arrives first.
_CALL_SLACK = 10.0

# A lease is renewed at this fraction of its idle timeout (the server says
# which in AcquireResponse.idle_timeout), so two renewals may fail in a row.
RENEW_FRACTION = 1 / 3
_DEFAULT_IDLE_TIMEOUT = 60.0  # the server's default, if it ever says none
_MIN_RENEW_INTERVAL = 0.05

# Errors after which renewing is pointless: the lease ended (expired,
# released, revoked) or its window died. The next command says which.
LEASE_GONE = (errors.NotFound, errors.FailedPrecondition, errors.Aborted)

_STRATEGIES = {
    "css": pb.LOCATOR_STRATEGY_CSS_UNSPECIFIED,
    "xpath": pb.LOCATOR_STRATEGY_XPATH,
    "text": pb.LOCATOR_STRATEGY_TEXT,
    "partial_text": pb.LOCATOR_STRATEGY_PARTIAL_TEXT,
}


def request_class(rpc):
    method = _SERVICE.methods_by_name.get(rpc)
    if method is None:
        raise ValueError(f"foxpool.v1.BrowserPool has no RPC {rpc!r}")
    if method.client_streaming or method.server_streaming:
        raise ValueError(f"{rpc} is a stream, not a call")
    return getattr(pb, method.input_type.name)


def seconds(value):
    """A Duration from seconds (int or float) or a datetime.timedelta."""
    if isinstance(value, duration_pb2.Duration):
        return value
    duration = duration_pb2.Duration()
    if isinstance(value, datetime.timedelta):
        duration.FromTimedelta(value)
    else:
        duration.FromNanoseconds(round(value * 1e9))
    return duration


def locator(selector):
    """A Locator from a string: CSS, or "xpath=…", "text=…",
    "partial_text=…", "css=…"."""
    if isinstance(selector, pb.Locator):
        return selector
    prefix, equals, rest = selector.partition("=")
    if equals and prefix in _STRATEGIES:
        return pb.Locator(strategy=_STRATEGIES[prefix], value=rest)
    return pb.Locator(value=selector)


def element(target):
    """An ElementTarget from a selector string, a Locator, or an
    ElementInfo a find returned (by its element id)."""
    if isinstance(target, pb.ElementTarget):
        return target
    if isinstance(target, pb.ElementInfo):
        return pb.ElementTarget(element_id=target.element_id)
    return pb.ElementTarget(locator=locator(target))


def _enum_value(enum, value):
    """An enum value from its number, its full name, or its name without
    the type's prefix ("keep" for RELEASE_MODE_KEEP, "reset" for
    RELEASE_MODE_RESET_UNSPECIFIED)."""
    if not isinstance(value, str):
        return value
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    name = value.upper()
    for candidate in (name, prefix + name, prefix + name + "_UNSPECIFIED"):
        if candidate in enum.values_by_name:
            return enum.values_by_name[candidate].number
    raise ValueError(f"{enum.full_name} has no value {value!r}")


def _convert(field, value):
    if field.enum_type is not None:
        return _enum_value(field.enum_type, value)
    message = field.message_type
    if message is None:
        return value
    if isinstance(value, dict):
        return _converted(message, value)
    if message.full_name == _DURATION:
        return seconds(value)
    if message is pb.ElementTarget.DESCRIPTOR:
        return element(value)
    if message is pb.Locator.DESCRIPTOR:
        return locator(value)
    return value


def _is_map(field):
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _converted(message, fields):
    """`fields` of a `message` (descriptor) as its constructor takes them;
    None values are left out (unset), nested dicts converted alike."""
    values = {}
    for name, value in fields.items():
        if value is None:
            continue
        field = message.fields_by_name.get(name)
        if field is None:
            raise TypeError(f"{message.name} has no field {name!r}")
        if _is_map(field):
            values[name] = value
        elif field.label == field.LABEL_REPEATED:
            values[name] = [_convert(field, item) for item in value]
        else:
            values[name] = _convert(field, value)
    return values


def build(rpc, lease_id=None, fields=None):
    """The request message of `rpc` with `fields` and, where the request
    has one, `lease_id`."""
    cls = request_class(rpc)
    values = _converted(cls.DESCRIPTOR, fields or {})
    if lease_id is not None and "lease_id" in cls.DESCRIPTOR.fields_by_name:
        values.setdefault("lease_id", lease_id)
    return cls(**values)


def call_timeout(request, default=CALL_TIMEOUT):
    """The gRPC deadline (seconds from now) for sending `request`."""
    if default is None or "timeout" not in request.DESCRIPTOR.fields_by_name:
        return default
    if not request.HasField("timeout"):
        return default
    return max(default, request.timeout.ToNanoseconds() / 1e9 + _CALL_SLACK)


def acquire_request(profile=None, labels=None, idle_timeout=None, **fields):
    """An AcquireRequest with a fresh request_id (a random UUID): retries
    of it get the lease the first attempt got, never a second window."""
    fields.setdefault("request_id", str(uuid.uuid4()))
    return build("Acquire", fields=dict(profile=profile, labels=labels,
                                        idle_timeout=idle_timeout, **fields))


def renew_interval(acquired):
    """Seconds between renewals of the lease `acquired` (AcquireResponse)."""
    idle = acquired.idle_timeout.ToNanoseconds() / 1e9 or _DEFAULT_IDLE_TIMEOUT
    return max(idle * RENEW_FRACTION, _MIN_RENEW_INTERVAL)


class AcquireAttempts:
    """How one Acquire is tried. Every attempt sends the same request_id, so
    an attempt that reaches the server after an earlier one was granted gets
    that lease, and one that finds it still waiting takes its place in the
    queue. Retried: UNAVAILABLE (a connection that broke or is not up yet),
    twice, with backoff; and once, after DEADLINE_EXCEEDED, a no-wait pick-up
    of a grant that may have crossed the deadline on the wire (the proto's
    request_id comment), which would otherwise hold a window until its idle
    timeout."""

    _UNAVAILABLE_RETRIES = 2
    _BACKOFF = 0.2
    _PICKUP_TIMEOUT = 2.0

    def __init__(self, request, timeout):
        self.request = request
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._unavailable = 0
        self._deadline_error = None

    def timeout(self):
        """The deadline of the next attempt, in seconds from now."""
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    def retry_after(self, error):
        """Seconds to wait before the next attempt after `error` (a
        foxpool.Error), or None: give up and raise `failure(error)`."""
        if self._deadline_error is not None:
            return None
        if isinstance(error, errors.Unavailable) and self._unavailable < self._UNAVAILABLE_RETRIES:
            delay = self._BACKOFF * 2 ** self._unavailable
            self._unavailable += 1
            left = self.timeout()
            return delay if left is None or left > delay else None
        if isinstance(error, errors.DeadlineExceeded):
            self._deadline_error = error
            pickup = pb.AcquireRequest()
            pickup.CopyFrom(self.request)
            pickup.max_wait.CopyFrom(seconds(0))
            pickup.fail_fast = False
            self.request = pickup
            self._deadline = time.monotonic() + self._PICKUP_TIMEOUT
            return 0.0
        return None

    def failure(self, error):
        """What to raise when `error` ends the attempts: after a pick-up
        that found nothing, the deadline the caller set."""
        return self._deadline_error or error


def release_failed(error, block_failed):
    """Whether a Release that failed with `error` should be raised at the
    end of a lease's with-block: not for a lease the server no longer knows
    (it expired and was forgotten: nothing is leased), and not over an
    exception the block raised, which says more."""
    return not isinstance(error, errors.NotFound) and not block_failed
