#!/usr/bin/python3
"""Holds a Session stream lease until killed: the test's crashing client.

Usage: session_holder.py ADDRESS (PYTHONPATH must reach the stubs). Prints
the leased window id once acquired, then waits on the stream forever.
"""
import queue
import sys

import grpc

from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc

outgoing = queue.Queue()
outgoing.put(pb.SessionRequest(acquire=pb.AcquireRequest(labels={"who": "holder"})))
channel = grpc.insecure_channel(sys.argv[1])
responses = rpc.BrowserPoolStub(channel).Session(iter(outgoing.get, None))
first = next(responses)
print(first.acquired.window_id, flush=True)
for _ in responses:  # Never ends on its own: the lease is held until killed.
    pass
