#!/usr/bin/python3
"""A web page attacking the hub: a page loaded in a real leased window opens
ws://127.0.0.1:<hub> and tries what a hostile page can — silence, a guessed
hello, not JSON, a binary hello, a frame above the hub's limit, a flood of
sockets, plain HTTP — and gets nothing: not one message, every socket closed,
each attempt counted by reason in /metrics, and the window it runs in keeps
serving its lease as if nothing happened.

Usage: hub_attack_test.py FOXPOOLD_BINARY
(PYTHONPATH must reach the generated stubs and foxpoold.py).
"""
import glob
import json
import os
import stat
import sys
import unittest

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, Pages, free_port, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"

# Sockets in the flood: more than the hub lets wait for a hello (64).
FLOOD = 80

ATTACK_PAGE = b"""<!doctype html><title>attack</title><pre id="out">running</pre>
<script>
const hub = "ws://127.0.0.1:" + new URLSearchParams(location.search).get("hub");
const report = [];

// Opens a socket, runs `act` once it is open, and resolves when the hub has
// closed it (or after 20 s), with every message it received.
function attempt(name, act) {
  return new Promise((resolve) => {
    const entry = { name, opened: false, messages: [], closed: false, code: 0 };
    report.push(entry);
    let socket;
    try {
      socket = new WebSocket(hub);
    } catch (e) {
      entry.error = String(e);
      resolve();
      return;
    }
    const timer = setTimeout(() => { entry.timed_out = true; resolve(); }, 20000);
    socket.onopen = () => { entry.opened = true; act(socket); };
    socket.onmessage = (event) => entry.messages.push(String(event.data).slice(0, 200));
    socket.onclose = (event) => {
      entry.closed = true;
      entry.code = event.code;
      clearTimeout(timer);
      resolve();
    };
  });
}

async function run() {
  await Promise.all([
    attempt("silent", () => {}),
    attempt("guessed hello", (s) => s.send(JSON.stringify(
        { type: "hello", session: crypto.randomUUID(), secret: crypto.randomUUID() }))),
    attempt("not json", (s) => s.send("hello, hub")),
    attempt("binary hello", (s) => s.send(new TextEncoder().encode(
        JSON.stringify({ type: "hello", session: "x", secret: "y" })))),
    attempt("hello then command", (s) => {
      s.send(JSON.stringify({ type: "hello", session: "", secret: "" }));
      s.send(JSON.stringify({ id: 1, ok: true, result: "forged" }));
    }),
    attempt("oversized", (s) => s.send("x".repeat(65 * 1024 * 1024))),
  ]);
  // Plain HTTP to the hub's port.
  try {
    const reply = await fetch(hub.replace("ws:", "http:"));
    report.push({ name: "http", status: reply.status, body: (await reply.text()).slice(0, 200) });
  } catch (e) {
    report.push({ name: "http", error: String(e) });
  }
  // The flood: sockets that never say hello, all at once.
  const flood = [];
  for (let i = 0; i < %d; i++) flood.push(attempt("flood", () => {}));
  await Promise.all(flood);
  document.getElementById("out").textContent = JSON.stringify(report);
}
run();
</script>""" % FLOOD


class HubAttackTest(unittest.TestCase):
    def test_a_hostile_page_gets_nothing_from_the_hub_and_the_window_survives(self):
        hub_port = free_port()
        pages = Pages({"/attack": ("text/html", ATTACK_PAGE),
                       "/after": ("text/html", b"<!doctype html><title>still mine</title>")})
        server = Foxpoold(FOXPOOLD, 1, [f"--hub_port={hub_port}"])
        try:
            # The windows' secrets are in their profiles: the server's user only.
            instance = glob.glob(os.path.join(server.profiles, "foxpool-*"))[0]
            self.assertEqual(stat.S_IMODE(os.stat(instance).st_mode), 0o700)
            before = server.hub_refusals()
            self.assertEqual(sum(before.values()), 0, before)
            lease = server.stub.Acquire(pb.AcquireRequest(), timeout=30)
            server.stub.Navigate(pb.NavigateRequest(lease_id=lease.lease_id,
                                                    url=f"{pages.base}/attack?hub={hub_port}"),
                                 timeout=30)

            def finished():
                out = server.stub.Evaluate(pb.EvaluateRequest(
                    lease_id=lease.lease_id,
                    expression="document.getElementById('out').textContent"),
                    timeout=30)
                value = json.loads(out.result_json)
                return None if value == "running" else json.loads(value)

            report = wait_until(finished, 90, "the attack page to finish")
            sockets = [entry for entry in report if entry["name"] != "http"]
            self.assertEqual(len(sockets), 6 + FLOOD)
            for entry in sockets:
                with self.subTest(entry["name"]):
                    self.assertEqual(entry["messages"], [], entry)
                    self.assertTrue(entry["closed"], entry)
                    self.assertNotIn("timed_out", entry)
            http = next(entry for entry in report if entry["name"] == "http")
            self.assertNotIn("welcome", json.dumps(http))
            self.assertNotEqual(http.get("status"), 200, http)

            # Every silent socket is refused: at once when 64 already wait
            # for their hello, else when its hello timeout (5 s) passes.
            def silent_ones_refused():
                m = server.hub_refusals()
                return m if m["no_hello"] + m["too_many_pending"] >= 1 + FLOOD else None

            refused = wait_until(silent_ones_refused, 30, "the flood's hello timeouts")
            self.assertEqual(refused["no_hello"] + refused["too_many_pending"], 1 + FLOOD)
            self.assertGreaterEqual(refused["unknown_session"], 1)
            self.assertGreaterEqual(refused["malformed"], 3)  # not json, empty hello, http
            self.assertGreaterEqual(refused["binary"], 1)
            self.assertGreaterEqual(refused["oversized"], 1)
            # Firefox opens a host's sockets one after another, so how many
            # of the flood waited at once depends on its pace; some did.
            self.assertGreaterEqual(refused["too_many_pending"], 1)
            self.assertEqual(refused["wrong_secret"], 0)
            self.assertEqual(refused["duplicate"], 0)

            # The window's own connection was never disturbed.
            server.stub.Navigate(pb.NavigateRequest(lease_id=lease.lease_id,
                                                    url=f"{pages.base}/after"), timeout=30)
            title = server.stub.GetTitle(pb.GetTitleRequest(lease_id=lease.lease_id), timeout=30)
            self.assertEqual(title.title, "still mine")
            self.assertNotIn("disconnected", server.log())
            server.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=30)
            # Reset and back in the pool: the same window, never replaced.
            wait_until(lambda: server.status().idle == 1, 30, "the window's reset")
            self.assertNotIn("out of service", server.log())
            self.assertNotIn("recycled", server.log())
        finally:
            code = server.stop()
            pages.close()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
