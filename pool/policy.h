#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "pool/observer.h"

namespace foxpool::pool {

// The pool's decisions as plain functions of numbers, so that each rule is
// stated once and unit-tested on its own. The Pool gathers the numbers under
// its lock and acts on the answers.

struct SizePolicy {
  int size = 2;         // windows kept however quiet it is
  int max_windows = 2;  // windows run at most
  int min_idle = 0;     // windows kept idle or starting, beyond the busy ones
};

// How many windows (starting, idle, leased or resetting; not retiring) the
// pool wants: every busy window, plus enough idle or starting ones to serve
// the waiters or the idle reserve, within [size, max_windows].
int DesiredWindows(const SizePolicy& policy, int busy, int waiters);

struct RecyclePolicy {
  int max_leases = 0;  // 0: no limit
  absl::Duration max_age = absl::ZeroDuration();
  uint64_t max_memory_bytes = 0;
};

struct WindowFacts {
  int leases_served = 0;
  absl::Duration age;
  uint64_t memory_bytes = 0;  // 0: not sampled yet
};

// Why a window should be recycled now, if it should: the lease count first
// (it is exact), then memory, then age.
std::optional<Recycle> RecycleReason(const RecyclePolicy& policy, const WindowFacts& facts);

// Which idle window to lease: the smallest by memory, in 64 MiB steps so that
// noise does not decide, and among equals the least recently used (the
// first). `memory` holds each idle window's bytes (0: unknown, counts as
// small) in least-recently-used order. Returns an index into it.
size_t PickIdle(const std::vector<uint64_t>& memory);

}  // namespace foxpool::pool
