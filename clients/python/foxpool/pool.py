"""The synchronous client: a Pool (one channel to a foxpool server), its
leases as context managers, and the leased Window.

Thread-safety: a Pool and its Windows may be used from any number of
threads (gRPC channels are thread-safe); each lease renews itself from a
daemon thread of its own.
"""
import logging
import threading
import time

import grpc

from foxpool import _requests, errors
from foxpool._commands import PoolCommands, WindowCommands, _same

log = logging.getLogger("foxpool")


class Pool(PoolCommands):
    """A connection to a foxpool server.

        with foxpool.Pool("127.0.0.1:50051") as pool:
            with pool.lease() as window:
                window.navigate("https://example.com/")

    See PoolCommands for the constructor's arguments and lease().
    """

    _insecure_channel = staticmethod(grpc.insecure_channel)
    _secure_channel = staticmethod(grpc.secure_channel)

    def _lease(self, request, timeout, release_mode):
        return Lease(self, request, timeout, release_mode)

    def close(self):
        if self._owns_channel:
            self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, rpc_name, request, timeout):
        with errors.translated():
            return getattr(self._stub, rpc_name)(request, timeout=timeout,
                                                 metadata=self._metadata)

    def _invoke(self, rpc_name, fields, unwrap=_same, lease_id=None, timeout=None):
        request = _requests.build(rpc_name, lease_id, fields)
        if timeout is None:
            timeout = _requests.call_timeout(request, self._call_timeout)
        return unwrap(self._send(rpc_name, request, timeout))

    def _acquire(self, request, timeout):
        attempts = _requests.AcquireAttempts(request, timeout)
        while True:
            try:
                return self._send("Acquire", attempts.request, attempts.timeout())
            except errors.Error as error:
                delay = attempts.retry_after(error)
                if delay is None:
                    raise attempts.failure(error)
                time.sleep(delay)


class Window(WindowCommands):
    """A leased window: the commands of WindowCommands on this lease."""

    def __repr__(self):
        return f"<foxpool.Window {self.window_id} lease {self.lease_id[:8]}>"


class Lease:
    """What Pool.lease returns. Entering acquires the window and starts
    renewing it; leaving (however the block ends) stops that and releases
    it. `window` is the Window while the block runs."""

    def __init__(self, pool, request, timeout, release_mode):
        self._pool = pool
        self._request = request
        self._timeout = timeout
        self._release_mode = release_mode
        self.window = None
        self._renewer = None

    def __enter__(self):
        acquired = self._pool._acquire(self._request, self._timeout)
        self.window = Window(self._pool, acquired)
        self._renewer = _Renewer(self.window, _requests.renew_interval(acquired))
        self._renewer.start()
        return self.window

    def __exit__(self, kind, exception, traceback):
        self._renewer.stop()
        try:
            self._pool._invoke("Release", {"mode": self._release_mode},
                               lease_id=self.window.lease_id)
        except errors.Error as error:
            if _requests.release_failed(error, exception is not None):
                raise
            log.info("releasing lease %s… of window %s: %s", self.window.lease_id[:8],
                     self.window.window_id, error)
        return False


class _Renewer(threading.Thread):
    """Renews a lease every `interval` seconds until stopped or the lease
    is gone. A failed renewal (the server busy or briefly unreachable) is
    tried again at the next tick."""

    def __init__(self, window, interval):
        super().__init__(name=f"foxpool-renew-{window.window_id}", daemon=True)
        self._window = window
        self._interval = interval
        self._stopped = threading.Event()

    def run(self):
        while not self._stopped.wait(self._interval):
            try:
                self._window._invoke("Renew", {}, timeout=max(self._interval, 1.0))
            except _requests.LEASE_GONE as error:
                log.info("lease of window %s ended: %s", self._window.window_id, error)
                return
            except errors.Error as error:
                log.warning("renewing the lease of window %s: %s", self._window.window_id, error)

    def stop(self):
        self._stopped.set()
        # A renewal in flight ends by its own deadline; it need not be waited for.
        self.join(timeout=1.0)
