#include "clients/cli/retry_policy.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"

namespace foxpool::cli {

std::optional<absl::Duration> RetryAfter(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);  // absl::optional in Debian's abseil.
  if (!payload.has_value()) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &ms) || ms < 0) return std::nullopt;
  return absl::Milliseconds(ms);
}

bool RetryPolicy::IsRetryable(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

bool RetryPolicy::ShouldRetry(const absl::Status& status, int attempt) const {
  return !status.ok() && IsRetryable(status.code()) && attempt <= options_.max_retries;
}

absl::Duration RetryPolicy::Backoff(int retry, const absl::Status& status, double jitter) const {
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 1; i < retry && backoff < options_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff);
  backoff *= 0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0);
  if (std::optional<absl::Duration> hint = RetryAfter(status)) {
    backoff = std::max(backoff, std::min(*hint, options_.max_retry_after));
  }
  return backoff;
}

}  // namespace foxpool::cli
