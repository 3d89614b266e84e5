"""The asyncio client, on grpc.aio: the same Pool, lease and Window as
foxpool's synchronous one, with awaitable methods.

    async with foxpool.aio.Pool("127.0.0.1:50051") as pool:
        async with pool.lease() as window:
            await window.navigate("https://example.com/")
            print(await window.title())

Create the Pool inside the event loop that uses it. A lease renews itself
from an asyncio task.
"""
import asyncio
import logging

import grpc

from foxpool import _requests, errors
from foxpool._commands import PoolCommands, WindowCommands, _same

log = logging.getLogger("foxpool")


class Pool(PoolCommands):
    """A connection to a foxpool server, as foxpool.Pool; lease() returns
    an async context manager, every call is a coroutine."""

    _insecure_channel = staticmethod(grpc.aio.insecure_channel)
    _secure_channel = staticmethod(grpc.aio.secure_channel)

    def _lease(self, request, timeout, release_mode):
        return Lease(self, request, timeout, release_mode)

    async def close(self):
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _send(self, rpc_name, request, timeout):
        with errors.translated():
            return await getattr(self._stub, rpc_name)(request, timeout=timeout,
                                                       metadata=self._metadata)

    async def _invoke(self, rpc_name, fields, unwrap=_same, lease_id=None, timeout=None):
        request = _requests.build(rpc_name, lease_id, fields)
        if timeout is None:
            timeout = _requests.call_timeout(request, self._call_timeout)
        return unwrap(await self._send(rpc_name, request, timeout))

    async def _acquire(self, request, timeout):
        attempts = _requests.AcquireAttempts(request, timeout)
        while True:
            try:
                return await self._send("Acquire", attempts.request, attempts.timeout())
            except errors.Error as error:
                delay = attempts.retry_after(error)
                if delay is None:
                    raise attempts.failure(error)
                await asyncio.sleep(delay)


class Window(WindowCommands):
    """A leased window; every command is a coroutine (see WindowCommands)."""

    def __repr__(self):
        return f"<foxpool.aio.Window {self.window_id} lease {self.lease_id[:8]}>"


class Lease:
    """What Pool.lease returns: `async with` acquires the window and renews
    it from a task; leaving the block (however it ends, cancellation
    included) releases it."""

    def __init__(self, pool, request, timeout, release_mode):
        self._pool = pool
        self._request = request
        self._timeout = timeout
        self._release_mode = release_mode
        self.window = None
        self._renewing = None

    async def __aenter__(self):
        acquired = await self._pool._acquire(self._request, self._timeout)
        self.window = Window(self._pool, acquired)
        self._renewing = asyncio.create_task(
            self._renew(_requests.renew_interval(acquired)),
            name=f"foxpool-renew-{acquired.window_id}")
        return self.window

    async def __aexit__(self, kind, exception, traceback):
        self._renewing.cancel()
        # Waited for, not awaited: awaiting it would raise its CancelledError here.
        await asyncio.wait([self._renewing])
        try:
            await self._pool._invoke("Release", {"mode": self._release_mode},
                                     lease_id=self.window.lease_id)
        except errors.Error as error:
            if _requests.release_failed(error, exception is not None):
                raise
            log.info("releasing lease %s… of window %s: %s", self.window.lease_id[:8],
                     self.window.window_id, error)
        return False

    async def _renew(self, interval):
        while True:
            await asyncio.sleep(interval)
            try:
                await self.window._invoke("Renew", {}, timeout=max(interval, 1.0))
            except _requests.LEASE_GONE as error:
                log.info("lease of window %s ended: %s", self.window.window_id, error)
                return
            except errors.Error as error:
                log.warning("renewing the lease of window %s: %s", self.window.window_id, error)
