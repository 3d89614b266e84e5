#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace foxpool::cli {

// Where a batch stands.
struct ProgressCounts {
  int64_t total = 0;
  // URLs with a result line (done = ok + failed).
  int64_t done = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  // URLs that needed more than one attempt (whatever their outcome).
  int64_t retried = 0;
};

// A duration as a clock reading, rounded down to the second: "0:07",
// "12:00", "1:02:03".
std::string FormatClock(absl::Duration duration);

// URLs done per second over `elapsed`; 0 before any time has passed.
double Rate(const ProgressCounts& counts, absl::Duration elapsed);

// The time the remaining URLs will take at the rate so far; none before
// the first URL is done.
std::optional<absl::Duration> Eta(const ProgressCounts& counts, absl::Duration elapsed);

// The progress bar for a terminal `width` columns wide (the line is never
// wider; the bar takes what the text leaves, 10 to 40 columns):
// "[##########----------]  12/100  12%  3.4/s  ETA 0:25  2 failed".
std::string FormatBar(const ProgressCounts& counts, absl::Duration elapsed, int width);

// The same as one line of a log:
// "foxpool batch: 12/100 done (12%), 10 ok, 2 failed, 3.4 URLs/s, elapsed 0:04, ETA 0:25".
std::string FormatProgressLine(const ProgressCounts& counts, absl::Duration elapsed);

// The summary printed when the batch ends:
// "foxpool batch: 100 URLs in 0:31, 98 ok, 2 failed, 5 retried, 3.2 URLs/s"
// and, when interrupted, how many URLs were never started.
std::string FormatSummary(const ProgressCounts& counts, absl::Duration elapsed, bool interrupted);

}  // namespace foxpool::cli
