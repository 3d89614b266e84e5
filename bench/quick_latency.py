#!/usr/bin/python3
"""Quick latency numbers for a running foxpoold: idle Acquire→Release and
Evaluate("1+1") round trips, sequential, from one client.

    PYTHONPATH=build/python /usr/bin/python3 bench/quick_latency.py [ADDRESS] [N]

Prints p50/p90/p99 in milliseconds: a check in seconds, with nothing but
Python's grpcio. The full benchmark suite is bench/run.
"""
import statistics
import sys
import time

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc


def percentiles(samples):
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return f"p50 {pick(0.5):.2f} ms  p90 {pick(0.9):.2f} ms  p99 {pick(0.99):.2f} ms  (n={len(ordered)})"


def main(address="127.0.0.1:50051", n="200"):
    n = int(n)
    with grpc.insecure_channel(address) as channel:
        pool = rpc.BrowserPoolStub(channel)
        status = pool.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=5)
        print(f"pool: {status.idle} idle of {status.target_size}")
        acquire, release = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            lease = pool.Acquire(pb.AcquireRequest(), timeout=30)
            t1 = time.perf_counter()
            pool.Release(pb.ReleaseRequest(lease_id=lease.lease_id, mode=pb.RELEASE_MODE_KEEP))
            t2 = time.perf_counter()
            acquire.append((t1 - t0) * 1e3)
            release.append((t2 - t1) * 1e3)
        print("Acquire (idle window):  ", percentiles(acquire))
        print("Release (keep):         ", percentiles(release))

        lease = pool.Acquire(pb.AcquireRequest(), timeout=30)
        try:
            evaluate = []
            for _ in range(n):
                t0 = time.perf_counter()
                pool.Evaluate(pb.EvaluateRequest(lease_id=lease.lease_id, expression="1+1"))
                evaluate.append((time.perf_counter() - t0) * 1e3)
            print("Evaluate('1+1'):        ", percentiles(evaluate))
            t0 = time.perf_counter()
            pool.Release(pb.ReleaseRequest(lease_id=lease.lease_id))
            # A reset release returns at once; time the reset by waiting for idle.
            while pool.GetPoolStatus(pb.GetPoolStatusRequest()).idle < status.target_size:
                time.sleep(0.001)
            print(f"Release (reset) until idle again: {(time.perf_counter() - t0) * 1e3:.1f} ms")
        finally:
            pool.Release(pb.ReleaseRequest(lease_id=lease.lease_id))


if __name__ == "__main__":
    main(*sys.argv[1:])
