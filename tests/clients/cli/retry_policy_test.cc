#include "clients/cli/retry_policy.h"

#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace foxpool::cli {
namespace {

absl::Status WithHint(absl::Status status, const char* ms) {
  status.SetPayload(kRetryAfterPayload, absl::Cord(ms));
  return status;
}

TEST(RetryPolicy, RetriesOnlyWhatAnotherAttemptCanFix) {
  for (absl::StatusCode code :
       {absl::StatusCode::kUnavailable, absl::StatusCode::kAborted,
        absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kResourceExhausted}) {
    EXPECT_TRUE(RetryPolicy::IsRetryable(code)) << absl::StatusCodeToString(code);
  }
  for (absl::StatusCode code :
       {absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnknown,
        absl::StatusCode::kCancelled, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kInternal, absl::StatusCode::kUnimplemented}) {
    EXPECT_FALSE(RetryPolicy::IsRetryable(code)) << absl::StatusCodeToString(code);
  }
}

TEST(RetryPolicy, StopsAfterMaxRetries) {
  RetryPolicy policy(RetryOptions{.max_retries = 2});
  absl::Status busy = absl::UnavailableError("NS_ERROR_CONNECTION_REFUSED");
  EXPECT_TRUE(policy.ShouldRetry(busy, 1));
  EXPECT_TRUE(policy.ShouldRetry(busy, 2));
  EXPECT_FALSE(policy.ShouldRetry(busy, 3));
  EXPECT_FALSE(policy.ShouldRetry(absl::InvalidArgumentError("file: URL"), 1));
  EXPECT_FALSE(policy.ShouldRetry(absl::OkStatus(), 1));
  EXPECT_FALSE(RetryPolicy(RetryOptions{.max_retries = 0}).ShouldRetry(busy, 1));
}

TEST(RetryPolicy, BackoffDoublesUpToItsCapAndJitterKeepsHalfToAll) {
  RetryPolicy policy(RetryOptions{.initial_backoff = absl::Milliseconds(100),
                                  .max_backoff = absl::Milliseconds(500)});
  absl::Status busy = absl::UnavailableError("busy");
  EXPECT_EQ(policy.Backoff(1, busy, 1.0), absl::Milliseconds(100));
  EXPECT_EQ(policy.Backoff(2, busy, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(policy.Backoff(3, busy, 1.0), absl::Milliseconds(400));
  EXPECT_EQ(policy.Backoff(4, busy, 1.0), absl::Milliseconds(500));
  EXPECT_EQ(policy.Backoff(60, busy, 1.0), absl::Milliseconds(500));
  EXPECT_EQ(policy.Backoff(1, busy, 0.0), absl::Milliseconds(50));
  EXPECT_EQ(policy.Backoff(2, busy, 0.5), absl::Milliseconds(150));
}

TEST(RetryPolicy, TheServersHintIsAFloorUpToItsCap) {
  RetryPolicy policy(RetryOptions{.initial_backoff = absl::Milliseconds(100),
                                  .max_retry_after = absl::Seconds(3)});
  absl::Status full = absl::ResourceExhaustedError("queue full");
  EXPECT_EQ(policy.Backoff(1, WithHint(full, "1500"), 1.0), absl::Milliseconds(1500));
  EXPECT_EQ(policy.Backoff(1, WithHint(full, "20"), 1.0), absl::Milliseconds(100));
  EXPECT_EQ(policy.Backoff(1, WithHint(full, "600000"), 1.0), absl::Seconds(3));
  // A hint that is not a number is ignored.
  EXPECT_EQ(policy.Backoff(1, WithHint(full, "soon"), 1.0), absl::Milliseconds(100));
}

TEST(RetryAfter, ReadsThePayload) {
  absl::Status full = absl::ResourceExhaustedError("queue full");
  EXPECT_EQ(RetryAfter(full), std::nullopt);
  EXPECT_EQ(RetryAfter(WithHint(full, "250")), absl::Milliseconds(250));
  EXPECT_EQ(RetryAfter(WithHint(full, "-5")), std::nullopt);
  EXPECT_EQ(RetryAfter(WithHint(full, "")), std::nullopt);
}

}  // namespace
}  // namespace foxpool::cli
