"""Writes the request_fuzzer's seed corpus (tests/fuzz/corpus/request_fuzzer/).

Each seed is one byte choosing what the rest is (0: SessionRequest,
1: AcquireRequest, 2 + i: the request of the i-th command of
server/command_list.h, as request_fuzzer.cc reads it), then a valid
serialized message. Run from the repository root with the build's stubs:
  PYTHONPATH=build/python /usr/bin/python3 tests/fuzz/make_request_seeds.py
"""
import os
import re

from foxpool.v1 import browser_pool_pb2 as pb

OUT = "tests/fuzz/corpus/request_fuzzer"

# X(Name, field, Request, Response), in FOXPOOL_COMMANDS order.
with open("server/command_list.h") as source:
    COMMANDS = re.findall(r"X\((\w+),[\s\\]*(\w+),[\s\\]*(\w+),[\s\\]*(\w+)\)", source.read())
INDEX = {name: i for i, (name, *_) in enumerate(COMMANDS)}


def write(name, which, message):
    with open(os.path.join(OUT, name), "wb") as seed:
        seed.write(bytes([which]) + message.SerializeToString())


def main():
    session = pb.SessionRequest()
    session.acquire.max_wait.seconds = 5
    session.acquire.labels["team"] = "qa"
    session.acquire.request_id = "r1"
    session.acquire.profile = "shop"
    write("session_acquire", 0, session)

    session = pb.SessionRequest()
    session.command.id = 7
    session.command.navigate.url = "https://example.com/"
    session.command.navigate.timeout.seconds = 3
    write("session_navigate", 0, session)

    session = pb.SessionRequest()
    session.command.id = 8
    session.command.evaluate.expression = "1+1"
    write("session_evaluate", 0, session)

    acquire = pb.AcquireRequest(fail_fast=True)
    acquire.idle_timeout.seconds = 60
    write("acquire", 1, acquire)

    navigate = pb.NavigateRequest(lease_id="abc", url="http://127.0.0.1:8080/x")
    navigate.timeout.nanos = 5000000
    write("navigate", 2 + INDEX["Navigate"], navigate)
    write("evaluate", 2 + INDEX["Evaluate"],
          pb.EvaluateRequest(lease_id="abc", expression="document.title"))
    for name in ["FindElement", "Click", "TypeText", "UploadFile", "SetCookie", "GetCookies",
                 "SetBlockRules", "SetExtraHeaders", "Screenshot", "AddPreloadScript"]:
        request = getattr(pb, COMMANDS[INDEX[name]][2])(lease_id="abc")
        write(name.lower(), 2 + INDEX[name], request)


if __name__ == "__main__":
    main()
