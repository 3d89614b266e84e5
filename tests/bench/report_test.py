#!/usr/bin/python3
"""bench/report.py judges the issue's targets from result rows: each verdict
and the number behind it, and "not measured" where rows are missing.

Usage: report_test.py SOURCE_DIR
"""
import os
import sys
import unittest

SOURCE_DIR = sys.argv.pop(1) if len(sys.argv) > 1 else "."
sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))

import report  # noqa: E402


def latency(tool, section, name, p50, p99, **fields):
    return {"tool": tool, "section": section, "name": name, "p50_ms": p50, "p90_ms": p50,
            "p99_ms": p99, "n": 100, **fields}


def loop(windows, per_s, p99, limit="off"):
    return latency("foxpool", "closed_loop", "FindElement #b", 1.0, p99, windows=windows,
                   per_s=per_s, errors=0, config={"command_limit": limit})


def verdicts(rows):
    """{target: (met, measured)} from the Targets table."""
    lines = report.targets_section(rows)
    found = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("✅", "❌", "—"):
            found[cells[0]] = (cells[1], cells[2])
    return found


def verdict(found, start):
    matches = [value for target, value in found.items() if target.startswith(start)]
    assert len(matches) == 1, f"{start}: {sorted(found)}"
    return matches[0]


class TargetsTest(unittest.TestCase):
    def test_latency_targets_are_judged_against_their_limits(self):
        found = verdicts([
            latency("foxpool", "lease", "Acquire (a window idle)", 0.4, 6.0),
            latency("foxpool", "roundtrip", "Evaluate 1+1", 1.4, 3.0),
            latency("raw_extension", "roundtrip", "Evaluate 1+1", 1.3, 2.0),
        ])
        self.assertEqual(verdict(found, "Warm Acquire p50")[0], "✅")
        self.assertEqual(verdict(found, "Warm Acquire p99")[0], "❌")
        self.assertEqual(verdict(found, "Evaluate through gRPC")[0], "✅")
        met, measured = verdict(found, "Service-added")
        self.assertEqual(met, "✅")
        self.assertIn("0.10 ms", measured)

    def test_throughput_at_32_windows_is_compared_with_2_per_configuration(self):
        found = verdicts([loop(2, 800, 5), loop(32, 760, 40),
                          loop(2, 800, 5, "auto"), loop(32, 600, 40, "auto")])
        off, auto = (verdict(found, f"32 windows driving: throughput ≥ 90 % of 2 windows', "
                                    f"p99 ≤ 50 ms (command_limit={limit})")
                     for limit in ("off", "auto"))
        self.assertEqual(off[0], "✅")
        self.assertIn("95 %", off[1])
        self.assertEqual(auto[0], "❌")

    def test_a_slow_p99_fails_the_throughput_target_even_at_full_rate(self):
        found = verdicts([loop(2, 800, 5), loop(32, 800, 80)])
        self.assertEqual(verdict(found, "32 windows driving")[0], "❌")

    def test_targets_without_rows_say_not_measured(self):
        found = verdicts([latency("foxpool", "lease", "Acquire (a window idle)", 0.4, 1.0)])
        for start in ("Evaluate through gRPC", "Service-added", "32 windows driving", "≤ 230 MB",
                      "First window"):
            self.assertEqual(verdict(found, start)[1], "not measured", start)

    def test_memory_is_judged_on_the_largest_pool(self):
        def memory(windows, mib):
            return {"tool": "foxpool", "section": "memory", "name": "idle window",
                    "windows": windows, "pss_mib_per_window": mib, "server_rss_mib": 20}
        found = verdicts([memory(1, 390), memory(48, 210)])
        met, measured = verdict(found, "≤ 230 MB")
        self.assertEqual(met, "✅")
        self.assertIn("pool of 48", measured)

    def test_the_whole_page_renders_every_section_that_has_rows(self):
        rows = [latency("foxpool", "lease", "Acquire (a window idle)", 0.4, 1.0),
                latency("puppeteer", "roundtrip", "Evaluate 1+1", 0.9, 2.0),
                latency("foxpool", "roundtrip", "Evaluate 1+1", 1.4, 3.0), loop(2, 800, 5)]
        page = report.markdown(rows, {"cores": 2}, None, [])
        for heading in ("## Targets", "## Leases", "## Command round trips", "## Closed loop"):
            self.assertIn(heading, page)
        self.assertNotIn("## Memory", page)


if __name__ == "__main__":
    unittest.main()
