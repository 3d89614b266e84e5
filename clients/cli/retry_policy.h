#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace foxpool::cli {

// The payload under which a client-side status carries the server's
// `retry-after-ms` trailing metadata (decimal milliseconds), as foxpoold
// sends it with RESOURCE_EXHAUSTED refusals of Acquire.
inline constexpr char kRetryAfterPayload[] = "retry-after-ms";

// The server's retry hint in `status`, if it carries a valid one.
std::optional<absl::Duration> RetryAfter(const absl::Status& status);

struct RetryOptions {
  // Attempts after the first one.
  int max_retries = 2;
  // The wait before the first retry; it doubles for each retry after that.
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(10);
  // The most a server's retry hint may make a caller wait.
  absl::Duration max_retry_after = absl::Seconds(60);
};

// When and after how long a failed attempt at a URL is tried again.
// Immutable; safe to share between threads.
class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options) : options_(options) {}

  // Failures that say nothing about the URL or the request: the service was
  // busy (RESOURCE_EXHAUSTED), draining or the page's server unreachable
  // (UNAVAILABLE), slow (DEADLINE_EXCEEDED), or the window was lost
  // (ABORTED). A refused request (INVALID_ARGUMENT, ...) or a throwing
  // script (UNKNOWN) fails the same way again.
  static bool IsRetryable(absl::StatusCode code);

  // Whether attempt number `attempt` (1 for the first), which failed with
  // `status`, may be followed by another.
  bool ShouldRetry(const absl::Status& status, int attempt) const;

  // The wait before retry number `retry` (1 for the first) after `status`:
  // initial_backoff doubling per retry up to max_backoff, of which `jitter`
  // (in [0, 1], random in use) keeps between half and all, so that workers
  // that failed together do not retry together; never shorter than the
  // server's retry hint, capped at max_retry_after.
  absl::Duration Backoff(int retry, const absl::Status& status, double jitter) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
};

}  // namespace foxpool::cli
