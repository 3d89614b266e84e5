"""The methods of a pool and of a leased window, written once for both
clients. Each method builds its request and says what to return from the
response; `_invoke` sends it: a plain call in foxpool.Pool, a coroutine
function in foxpool.aio.Pool. So on the sync side a method returns its
value, and on the asyncio side an awaitable of it.
"""
import json
import os

import grpc

from foxpool import _requests
from foxpool.v1 import browser_pool_pb2_grpc


def _pem(value):
    """PEM bytes as given, or read from a file path; None stays None."""
    if value is None or isinstance(value, bytes):
        return value
    with open(os.fspath(value), "rb") as pem:
        return pem.read()


def _same(response):
    return response


def _json_result(response):
    return json.loads(response.result_json)


class PoolCommands:
    """A connection to a foxpool server: its leases and the calls that need
    none.

    `call_timeout`: the deadline (seconds) of each call that sets no longer
    timeout of its own. `channel`: use this channel instead of one to
    `address`; close() leaves it open. `options`: gRPC channel options for
    the channel made here.

    Security (a server started with --tls_cert, --client_ca or
    --auth_token_file): `root_certificates` (the CA that signed the
    server's certificate), and for mutual TLS `private_key` and
    `certificate_chain` (the client's), each PEM bytes or a file path; any
    of them makes the channel TLS. `token`: a bearer token (str), sent as
    `authorization: Bearer <token>` metadata on every call, over TLS or
    not (without TLS anyone on the path can read it).
    """

    def __init__(self, address="127.0.0.1:50051", *, channel=None,
                 call_timeout=_requests.CALL_TIMEOUT, options=None, token=None,
                 root_certificates=None, private_key=None, certificate_chain=None):
        self._owns_channel = channel is None
        if channel is None:
            tls = (root_certificates, private_key, certificate_chain)
            if any(part is not None for part in tls):
                credentials = grpc.ssl_channel_credentials(*(_pem(part) for part in tls))
                channel = self._secure_channel(address, credentials, options=options)
            else:
                channel = self._insecure_channel(address, options=options)
        self._channel = channel
        self._stub = browser_pool_pb2_grpc.BrowserPoolStub(self._channel)
        self._call_timeout = call_timeout
        # Metadata rather than call credentials: gRPC refuses those on
        # insecure channels.
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None

    def lease(self, profile=None, timeout=30, labels=None, idle_timeout=None,
              release_mode=None, **acquire_fields):
        """A context manager leasing one window for its block:

            with pool.lease(labels={"job": "crawl"}) as window: ...

        `timeout`: how long to wait for a window (None: as long as the
        server lets callers wait). `profile`: a persistent profile's name.
        `idle_timeout` (seconds): when the lease expires without commands;
        it is renewed in the background meanwhile. `release_mode`: "reset"
        (default), "keep" or "recycle". Other AcquireRequest fields
        (`fail_fast=True`, `max_wait=0`, ...) pass through."""
        request = _requests.acquire_request(profile, labels, idle_timeout, **acquire_fields)
        return self._lease(request, timeout, release_mode)

    def _invoke(self, rpc_name, fields, unwrap=_same, lease_id=None, timeout=None):
        raise NotImplementedError

    def status(self):
        """GetPoolStatus: windows by state, queue depth, expected wait."""
        return self._invoke("GetPoolStatus", {})

    def call(self, rpc, **fields):
        """Any BrowserPool RPC by name ("ListLeases", "Revoke", ...), its
        request built from `fields`; returns the response message."""
        return self._invoke(rpc, fields)


class WindowCommands:
    """The commands of a leased window. Fields left None are unset (the
    server's default). Durations are seconds, elements selectors (CSS, or
    "xpath=…", "text=…", "partial_text=…") or what find returned, enums
    their short names ("jpeg", "dom_content_loaded").

    `lease_id`, `window_id` and `idle_timeout` (seconds, as granted) say
    which lease this is."""

    def __init__(self, pool, acquired):
        self._pool = pool
        self.lease_id = acquired.lease_id
        self.window_id = acquired.window_id
        self.idle_timeout = acquired.idle_timeout.ToNanoseconds() / 1e9

    def _invoke(self, rpc, fields, unwrap=_same, timeout=None):
        return self._pool._invoke(rpc, fields, unwrap, self.lease_id, timeout)

    def call(self, rpc, **fields):
        """Any command by its RPC name, with this lease's id:
        `window.call("GetCookies", all=True)`; returns the response."""
        return self._invoke(rpc, fields)

    def renew(self):
        """Restarts the lease's idle timer (the lease does this itself in
        the background); returns the idle timeout in seconds."""
        return self._invoke("Renew", {}, lambda r: r.idle_timeout.ToNanoseconds() / 1e9)

    # ---- navigation and the page ----

    def navigate(self, url, *, timeout=None, wait_until=None, tab_id=None):
        """Loads `url`; the NavigateResponse (url, title, http_status, took)."""
        return self._invoke("Navigate", dict(url=url, timeout=timeout, wait_until=wait_until,
                                             tab_id=tab_id))

    def title(self, tab_id=None):
        return self._invoke("GetTitle", dict(tab_id=tab_id), lambda r: r.title)

    def url(self, tab_id=None):
        return self._invoke("GetUrl", dict(tab_id=tab_id), lambda r: r.url)

    def content(self, target=None):
        """The document's HTML."""
        return self._invoke("GetContent", dict(target=target), lambda r: r.html)

    def text(self, element=None):
        """The rendered text (innerText) of the page, or of one element."""
        return self._invoke("GetText", dict(element=element), lambda r: r.text)

    def evaluate(self, expression, *args, timeout=None, target=None):
        """Runs JavaScript in the page: an expression, or a function called
        with `args` (sent as JSON). Returns its value, parsed from JSON."""
        return self._invoke("Evaluate", dict(
            expression=expression, args_json=json.dumps(list(args)) if args else None,
            timeout=timeout, target=target), _json_result)

    def screenshot(self, *, full_page=None, element=None, format=None, quality=None):
        """The viewport (or the whole page, or one element) as PNG (or
        format="jpeg") bytes."""
        return self._invoke("Screenshot", dict(full_page=full_page, element=element,
                                               format=format, quality=quality),
                            lambda r: r.image)

    def pdf(self):
        """The page printed to PDF, as bytes."""
        return self._invoke("PrintToPdf", {}, lambda r: r.pdf)

    # ---- elements ----

    def find(self, selector):
        """The first matching element (an ElementInfo); NotFound if none."""
        return self._invoke("FindElement", dict(locator=selector), lambda r: r.element)

    def find_all(self, selector, limit=None):
        return self._invoke("FindElements", dict(locator=selector, limit=limit),
                            lambda r: list(r.elements))

    def wait_for(self, selector, *, state=None, timeout=None):
        """Waits until a matching element is attached (or state="visible",
        "hidden", "detached"); its ElementInfo."""
        return self._invoke("WaitForElement", dict(locator=selector, state=state, timeout=timeout),
                            lambda r: r.element)

    def click(self, element, *, click_count=None, button=None):
        return self._invoke("Click", dict(element=element, click_count=click_count, button=button),
                            lambda r: r.element)

    def type_text(self, element, text, *, clear=None):
        return self._invoke("TypeText", dict(element=element, text=text, clear=clear),
                            lambda r: r.element)

    def press_key(self, key, element=None):
        """Presses one key ("Enter", "Tab", "a") on the element, or on
        whatever has focus."""
        return self._invoke("PressKey", dict(key=key, element=element), lambda r: r.element)

    # ---- cookies ----

    def cookies(self, url=None, *, all=None, name=None):
        """The cookies a request to `url` (default: the page's) would carry,
        or every cookie of the window (all=True); a list of Cookie."""
        return self._invoke("GetCookies", dict(url=url, all=all, name=name),
                            lambda r: list(r.cookies))

    def set_cookie(self, name, value, *, url=None, **cookie):
        """Sets a cookie for `url` (default: the page's); `cookie` takes the
        other Cookie fields (path, expires, http_only, ...). The Cookie as
        stored."""
        return self._invoke("SetCookie", dict(cookie=dict(name=name, value=value, **cookie),
                                              url=url), lambda r: r.cookie)

    def delete_cookies(self, url=None, *, name=None):
        """Deletes the cookies of `url` (default: the page's), or only those
        called `name`; how many it deleted."""
        return self._invoke("DeleteCookies", dict(url=url, name=name), lambda r: r.deleted)
