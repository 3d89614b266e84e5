"""foxpool: lease warm headless Firefox windows from a foxpool server.

    import foxpool

    with foxpool.Pool("127.0.0.1:50051") as pool:
        with pool.lease() as window:
            window.navigate("https://example.com/")
            print(window.title())

The lease renews itself in the background and is released when the block
ends, also when it raises. `foxpool.aio` is the same on asyncio. Every
failed call raises a foxpool.Error subclass named for its gRPC code
(foxpool.NotFound, foxpool.ResourceExhausted, ...). `foxpool.pb` is the
generated foxpool.v1 message module, for what the methods do not cover.
"""
from foxpool.errors import (Aborted, AlreadyExists, Cancelled, DataLoss, DeadlineExceeded, Error,
                            FailedPrecondition, Internal, InvalidArgument, NotFound, OutOfRange,
                            PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable,
                            Unimplemented, Unknown)
from foxpool.pool import Lease, Pool, Window
from foxpool.v1 import browser_pool_pb2 as pb
from foxpool import aio

__all__ = [
    "Pool", "Lease", "Window", "aio", "pb",
    "Error", "Aborted", "AlreadyExists", "Cancelled", "DataLoss", "DeadlineExceeded",
    "FailedPrecondition", "Internal", "InvalidArgument", "NotFound", "OutOfRange",
    "PermissionDenied", "ResourceExhausted", "Unauthenticated", "Unavailable", "Unimplemented",
    "Unknown",
]
