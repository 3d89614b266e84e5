#!/usr/bin/python3
"""Seed profiles (--seed_profiles, on by default) on a real foxpoold and
Firefox: once the first window is ready the server makes a seed (one more
Firefox, quit once it wrote its start-up caches) holding only the add-on
registry and caches; windows started after it begin as copies of it and
work like any other; the server removes it on exit.

Usage: seed_profile_test.py FOXPOOLD_BINARY
(PYTHONPATH must reach the generated stubs and foxpoold.py).
"""
import glob
import os
import sys
import unittest

from foxpool.v1 import browser_pool_pb2 as pb
from foxpoold import Foxpoold, Pages, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"

# firefox/profile.h kSeedEntries.
SEED_ENTRIES = {"compatibility.ini", "prefs.js", "extensions.json", "addonStartup.json.lz4",
                "times.json", "startupCache"}


def read(path):
    with open(path, "rb") as file:
        return file.read()


class SeedProfileTest(unittest.TestCase):
    def test_windows_after_the_seed_start_from_it_and_work(self):
        pages = Pages({"/": ("text/html", b"<!doctype html><title>seeded</title>")})
        # Every lease's window is replaced on release: the replacements are
        # started after the seed is made.
        server = Foxpoold(FOXPOOLD, 2, ["--seed_profiles=true", "--max_leases_per_window=1"])
        try:
            instance = glob.glob(os.path.join(server.profiles, "foxpool-*"))[0]
            seed = os.path.join(instance, "seed")
            wait_until(lambda: "seed profile ready" in server.log(), 90, "the seed profile")
            self.assertEqual(set(os.listdir(seed)), SEED_ENTRIES)
            self.assertTrue(os.path.exists(os.path.join(seed, "startupCache", "scriptCache.bin")))
            # The profile's creation time, which a fresh profile writes anew.
            created = read(os.path.join(seed, "times.json"))
            before = set(os.listdir(instance))

            for _ in range(2):
                lease = server.stub.Acquire(pb.AcquireRequest(), timeout=30).lease_id
                server.stub.Release(pb.ReleaseRequest(lease_id=lease), timeout=30)
            wait_until(lambda: server.status().idle == 2 and len(set(os.listdir(instance)) - before) == 2,
                       90, "two replacement windows")
            for window in set(os.listdir(instance)) - before:
                self.assertEqual(read(os.path.join(instance, window, "times.json")), created,
                                 f"{window} did not start from the seed")

            leases = [server.stub.Acquire(pb.AcquireRequest(), timeout=30).lease_id for _ in range(2)]
            for lease in leases:
                server.stub.Navigate(pb.NavigateRequest(lease_id=lease, url=pages.base + "/"),
                                     timeout=30)
                title = server.stub.GetTitle(pb.GetTitleRequest(lease_id=lease), timeout=30)
                self.assertEqual(title.title, "seeded")
        finally:
            self.assertEqual(server.stop(), 0)  # stop() also checks nothing is left behind.
            pages.close()


if __name__ == "__main__":
    unittest.main()
