#include "pool/policy.h"

#include "gtest/gtest.h"

namespace foxpool::pool {
namespace {

TEST(DesiredWindowsTest, CoversBusyWindowsWaitersAndTheIdleReserveWithinBounds) {
  SizePolicy fixed{.size = 2, .max_windows = 2};
  EXPECT_EQ(DesiredWindows(fixed, 0, 0), 2);
  EXPECT_EQ(DesiredWindows(fixed, 2, 5), 2);  // No growth allowed.
  SizePolicy growing{.size = 2, .max_windows = 4, .min_idle = 1};
  EXPECT_EQ(DesiredWindows(growing, 0, 0), 2);
  EXPECT_EQ(DesiredWindows(growing, 2, 0), 3);  // One idle in reserve.
  EXPECT_EQ(DesiredWindows(growing, 2, 1), 3);
  EXPECT_EQ(DesiredWindows(growing, 2, 3), 4);                        // Capped.
  EXPECT_EQ(DesiredWindows({.size = 3, .max_windows = 1}, 3, 3), 3);  // max below size: size.
}

TEST(RecycleReasonTest, LeasesThenMemoryThenAge) {
  RecyclePolicy policy{.max_leases = 10, .max_age = absl::Hours(1), .max_memory_bytes = 500};
  EXPECT_EQ(RecycleReason(policy, {9, absl::Minutes(59), 500}), std::nullopt);
  EXPECT_EQ(RecycleReason(policy, {10, absl::Hours(2), 900}), Recycle::kMaxLeases);
  EXPECT_EQ(RecycleReason(policy, {1, absl::Hours(2), 900}), Recycle::kMaxMemory);
  EXPECT_EQ(RecycleReason(policy, {1, absl::Hours(1), 0}), Recycle::kMaxAge);
  EXPECT_EQ(RecycleReason({}, {1000, absl::Hours(100), 1 << 30}), std::nullopt);  // No limits.
}

TEST(PickIdleTest, SmallestBy64MiBStepsThenLeastRecentlyUsed) {
  constexpr uint64_t kMiB = 1 << 20;
  EXPECT_EQ(PickIdle({300 * kMiB}), 0u);
  EXPECT_EQ(PickIdle({300 * kMiB, 310 * kMiB, 200 * kMiB}), 2u);
  EXPECT_EQ(PickIdle({300 * kMiB, 290 * kMiB}), 0u);  // Same step: the least recently used.
  EXPECT_EQ(PickIdle({300 * kMiB, 0}), 1u);           // Not sampled yet counts as small.
}

}  // namespace
}  // namespace foxpool::pool
