#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pool/ids.h"

namespace foxpool::pool {

struct Grant;

// Why an Acquire got no window.
enum class AcquireRefusal {
  kQueueFull,    // max_queue callers were waiting already
  kWaitTooLong,  // fail_fast, and the expected wait was longer than the deadline
  kNoWait,       // no idle window and the caller's deadline had passed
  kDraining,     // the server stopped admitting
  kDeadline,     // waited in the queue until the deadline
  kCancelled,    // the caller went away while waiting
  kReplaced,     // a retry with the same request_id took the place
  kMemory,       // memory is short, and waiting was refused by policy
  kNotOwner,     // the request_id is another principal's Acquire
};
absl::string_view ToString(AcquireRefusal refusal);

// Why a lease ended.
enum class LeaseEnd {
  kReleased,     // Release (including a Session stream's end)
  kIdleTimeout,  // no command or Renew within the idle timeout
  kMaxDuration,  // reached the maximum lease duration
  kRevoked,      // an operator revoked it
  kWindowDied,   // its window crashed or was killed
  kShutdown,     // the server shut down
};
absl::string_view ToString(LeaseEnd end);

// Why a window left the pool on purpose (not a crash).
enum class Recycle {
  kRequested,       // released with ReleaseMode::kRecycle
  kResetFailed,     // its reset failed or timed out
  kMaxLeases,       // served max_leases_per_window leases
  kMaxAge,          // older than max_window_age
  kMaxMemory,       // its PSS exceeded max_window_memory
  kMemoryPressure,  // the largest idle window, closed while memory is short
  kUnresponsive,    // a health probe missed its deadline (hung or crashed tab)
  kSurplus,         // an idle window above the pool's size, unused for a while
};
absl::string_view ToString(Recycle recycle);

// Observes lease and window life for logs and metrics. Called without the
// pool's lock held, on whichever thread caused the event; implementations
// must be thread-safe and quick.
class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  // `took`: from the pool asking for the window until it was ready.
  virtual void OnWindowReady(WindowId /*id*/, absl::Duration /*took*/) {}
  // A window failed to start or died; `why` may carry kWindowFailurePayload.
  virtual void OnWindowFailed(WindowId /*id*/, const absl::Status& /*why*/) {}
  virtual void OnWindowRecycled(WindowId /*id*/, Recycle /*reason*/) {}
  // Windows keep failing to start: `failures` in a row; the next attempt
  // comes after `backoff`. Called at each failure from crash_loop_after on.
  virtual void OnCrashLoop(int /*failures*/, absl::Duration /*backoff*/) {}
  // A reset between leases passed.
  virtual void OnWindowReset(WindowId /*id*/, absl::Duration /*took*/) {}
  virtual void OnLeaseGranted(const Grant& /*grant*/) {}
  // `waited`: how long the caller was in the queue (zero if refused at once).
  virtual void OnAcquireRefused(AcquireRefusal /*why*/, absl::Duration /*waited*/) {}
  // `held`: from grant to end. `why` is what later calls on the lease get
  // (OK when released).
  virtual void OnLeaseEnded(const LeaseId& /*lease*/, WindowId /*window*/, LeaseEnd /*reason*/,
                            absl::Duration /*held*/, const absl::Status& /*why*/) {}
};

}  // namespace foxpool::pool
