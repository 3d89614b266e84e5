#include "pool/observer.h"

namespace foxpool::pool {

// These strings are metric label values and log words: keep them stable.

absl::string_view ToString(AcquireRefusal refusal) {
  switch (refusal) {
    case AcquireRefusal::kQueueFull:
      return "queue_full";
    case AcquireRefusal::kWaitTooLong:
      return "wait_too_long";
    case AcquireRefusal::kNoWait:
      return "no_wait";
    case AcquireRefusal::kDraining:
      return "draining";
    case AcquireRefusal::kDeadline:
      return "deadline";
    case AcquireRefusal::kCancelled:
      return "cancelled";
    case AcquireRefusal::kReplaced:
      return "replaced";
    case AcquireRefusal::kMemory:
      return "memory";
    case AcquireRefusal::kNotOwner:
      return "not_owner";
  }
  return "unknown";
}

absl::string_view ToString(LeaseEnd end) {
  switch (end) {
    case LeaseEnd::kReleased:
      return "released";
    case LeaseEnd::kIdleTimeout:
      return "idle_timeout";
    case LeaseEnd::kMaxDuration:
      return "max_duration";
    case LeaseEnd::kRevoked:
      return "revoked";
    case LeaseEnd::kWindowDied:
      return "window_died";
    case LeaseEnd::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

absl::string_view ToString(Recycle recycle) {
  switch (recycle) {
    case Recycle::kRequested:
      return "requested";
    case Recycle::kResetFailed:
      return "reset_failed";
    case Recycle::kMaxLeases:
      return "max_leases";
    case Recycle::kMaxAge:
      return "max_age";
    case Recycle::kMaxMemory:
      return "max_memory";
    case Recycle::kMemoryPressure:
      return "memory_pressure";
    case Recycle::kUnresponsive:
      return "unresponsive";
    case Recycle::kSurplus:
      return "surplus";
  }
  return "unknown";
}

}  // namespace foxpool::pool
