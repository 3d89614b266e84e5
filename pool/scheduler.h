#pragma once

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace foxpool::pool {

// Time and timers for the pool, injected so that tests control the clock.
// Thread-safe. A timer callback runs on some thread other than the caller's
// stack of RunAfter; it may still run after the condition it was set for has
// gone, so every callback re-checks its state.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual absl::Time Now() = 0;
  virtual void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) = 0;
};

}  // namespace foxpool::pool
