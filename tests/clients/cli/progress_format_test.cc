#include "clients/cli/progress_format.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

ProgressCounts Counts(int64_t total, int64_t ok, int64_t failed, int64_t retried = 0) {
  return {.total = total, .done = ok + failed, .ok = ok, .failed = failed, .retried = retried};
}

TEST(FormatClock, MinutesAndSecondsThenHours) {
  EXPECT_EQ(FormatClock(absl::ZeroDuration()), "0:00");
  EXPECT_EQ(FormatClock(absl::Milliseconds(7900)), "0:07");
  EXPECT_EQ(FormatClock(absl::Minutes(12)), "12:00");
  EXPECT_EQ(FormatClock(absl::Hours(1) + absl::Minutes(2) + absl::Seconds(3)), "1:02:03");
  EXPECT_EQ(FormatClock(-absl::Seconds(5)), "0:00");
}

TEST(Eta, IsTheRestAtTheRateSoFar) {
  EXPECT_DOUBLE_EQ(Rate(Counts(100, 10, 2), absl::Seconds(4)), 3.0);
  EXPECT_EQ(Eta(Counts(100, 10, 2), absl::Seconds(4)), absl::Seconds(88.0 / 3.0));
  EXPECT_EQ(Eta(Counts(10, 10, 0), absl::Seconds(4)), absl::ZeroDuration());
  // Nothing done yet, or no time passed: no rate to go by.
  EXPECT_EQ(Eta(Counts(100, 0, 0), absl::Seconds(4)), std::nullopt);
  EXPECT_EQ(Rate(Counts(100, 5, 0), absl::ZeroDuration()), 0);
  EXPECT_EQ(Eta(Counts(100, 5, 0), absl::ZeroDuration()), std::nullopt);
}

TEST(FormatBar, ShowsDoneTotalRateAndEta) {
  std::string bar = FormatBar(Counts(100, 10, 2), absl::Seconds(4), 100);
  EXPECT_THAT(bar, StartsWith("["));
  EXPECT_THAT(bar, HasSubstr("]  12/100  12%  3.0/s  ETA 0:29  2 failed"));
  // 12% of the bar's width is filled.
  size_t width = bar.find(']') - 1;
  EXPECT_EQ(static_cast<size_t>(std::count(bar.begin(), bar.end(), '#')), width * 12 / 100);
  EXPECT_LE(bar.size(), 100u);
  EXPECT_THAT(FormatBar(Counts(100, 12, 0), absl::Seconds(4), 100), Not(HasSubstr("failed")));
}

TEST(FormatBar, FitsNarrowTerminalsAndFillsWhenDone) {
  EXPECT_LE(FormatBar(Counts(1000, 500, 3), absl::Seconds(60), 40).size(), 40u);
  std::string done = FormatBar(Counts(8, 8, 0), absl::Seconds(2), 80);
  EXPECT_THAT(done, HasSubstr("8/8  100%"));
  EXPECT_THAT(done, Not(HasSubstr("-]")));
  EXPECT_THAT(FormatBar(Counts(8, 0, 0), absl::ZeroDuration(), 80), HasSubstr("ETA --:--"));
}

TEST(FormatProgressLine, SaysItAllInWords) {
  EXPECT_EQ(FormatProgressLine(Counts(100, 10, 2), absl::Seconds(4)),
            "foxpool batch: 12/100 done (12%), 10 ok, 2 failed, 3.0 URLs/s, elapsed 0:04, "
            "ETA 0:29");
}

TEST(FormatSummary, CountsAndSaysWhatAnInterruptLeftUndone) {
  EXPECT_EQ(FormatSummary(Counts(10, 9, 1, 2), absl::Seconds(5), false),
            "foxpool batch: 10 URLs in 0:05, 9 ok, 1 failed, 2 retried, 2.0 URLs/s");
  EXPECT_THAT(FormatSummary(Counts(30, 12, 0), absl::Seconds(6), true),
              HasSubstr("interrupted; 18 of 30 URLs not done"));
}

}  // namespace
}  // namespace foxpool::cli
