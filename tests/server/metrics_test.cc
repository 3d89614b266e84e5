#include "server/metrics.h"

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::server {
namespace {

// {series: value} of a text exposition.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    size_t space = line.rfind(' ');
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &value)) << line;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

MemorySnapshot Memory(std::initializer_list<std::pair<int, uint64_t>> windows) {
  MemorySnapshot memory;
  for (auto [id, pss] : windows) {
    memory.windows.push_back({pool::WindowId(id), 100 + id, pss});
    memory.windows_pss_bytes += pss;
  }
  memory.system = firefox::SystemMemory{800, 1000, "meminfo"};
  memory.pressure = true;
  return memory;
}

TEST(MetricsTest, EventsAndGaugesShowInTheScrape) {
  Metrics metrics({.level = Observability::kDetailed,
                   .min_windows = 2,
                   .max_windows = 4,
                   .max_queue = 8,
                   .memory_threshold = 0.75,
                   .version = "1.2.3",
                   .firefox_version = "153.7.0"});
  metrics.WindowReady(absl::Milliseconds(1500));
  metrics.WindowFailed("signaled");
  metrics.WindowRecycled("reset_failed");
  metrics.LeaseGranted(absl::Milliseconds(3));
  metrics.AcquireRefused("queue_full");
  metrics.LeaseEnded("idle_timeout", absl::Seconds(61));
  metrics.LeaseEnded("released", absl::Seconds(2));
  metrics.CommandDone("evaluate", absl::StatusCode::kOk, absl::Milliseconds(2));
  metrics.CommandDone("navigate", absl::StatusCode::kNotFound, absl::Milliseconds(1));
  ScrapeState state;
  state.pool.idle = 1;
  state.pool.leased = 2;
  state.pool.queue_depth = 3;
  state.pool.draining = true;
  state.pool.oldest_waiter_age = absl::Milliseconds(1500);
  state.commands_in_flight = 4;
  state.memory = Memory({{1, 300 << 20}, {2, 200 << 20}});
  state.hub_refused = {{"wrong_secret", 5}};
  state.drain_deadline = absl::FromUnixSeconds(1800000000);
  auto s = Samples(metrics.Scrape(state));

  EXPECT_EQ(s["foxpool_windows{state=\"leased\"}"], 2);
  EXPECT_EQ(s["foxpool_windows{state=\"idle\"}"], 1);
  EXPECT_EQ(s["foxpool_windows{state=\"starting\"}"], 0);
  EXPECT_EQ(s["foxpool_pool_min_windows"], 2);
  EXPECT_EQ(s["foxpool_pool_max_windows"], 4);
  EXPECT_EQ(s["foxpool_acquire_queue_depth"], 3);
  EXPECT_EQ(s["foxpool_acquire_queue_limit"], 8);
  EXPECT_EQ(s["foxpool_acquire_oldest_wait_seconds"], 1.5);
  EXPECT_EQ(s["foxpool_acquire_rejected_total{reason=\"queue_full\"}"], 1);
  EXPECT_EQ(s["foxpool_acquire_rejected_total{reason=\"deadline\"}"], 0);
  EXPECT_EQ(s["foxpool_acquire_wait_seconds_bucket{le=\"0.005\"}"], 1);
  EXPECT_EQ(s["foxpool_acquire_wait_seconds_bucket{le=\"0.001\"}"], 0);
  EXPECT_EQ(s["foxpool_leases_ended_total{reason=\"idle_timeout\"}"], 1);
  EXPECT_EQ(s["foxpool_leases_ended_total{reason=\"released\"}"], 1);
  EXPECT_EQ(s["foxpool_leases_expired_total{reason=\"idle_timeout\"}"], 1);
  EXPECT_EQ(s["foxpool_leases_expired_total{reason=\"max_duration\"}"], 0);
  EXPECT_EQ(s["foxpool_lease_duration_seconds_sum"], 63);
  EXPECT_EQ(s["foxpool_commands_total{code=\"OK\"}"], 1);
  EXPECT_EQ(s["foxpool_commands_total{code=\"NOT_FOUND\"}"], 1);
  EXPECT_EQ(s["foxpool_command_duration_seconds_count{code=\"OK\",method=\"evaluate\"}"], 1);
  EXPECT_EQ(s["foxpool_commands_in_flight"], 4);
  EXPECT_EQ(s["foxpool_windows_started_total"], 1);
  EXPECT_EQ(s["foxpool_window_start_seconds_sum"], 1.5);
  EXPECT_EQ(s["foxpool_windows_crashed_total{reason=\"signaled\"}"], 1);
  EXPECT_EQ(s["foxpool_windows_crashed_total{reason=\"exited\"}"], 0);
  EXPECT_EQ(s["foxpool_windows_recycled_total{reason=\"reset_failed\"}"], 1);
  EXPECT_EQ(s["foxpool_window_memory_pss_bytes{window=\"w1\"}"], 300 << 20);
  EXPECT_EQ(s["foxpool_windows_memory_pss_bytes"], 500 << 20);
  EXPECT_EQ(s["foxpool_system_memory_used_ratio"], 0.8);
  EXPECT_EQ(s["foxpool_memory_pressure"], 1);
  EXPECT_EQ(s["foxpool_memory_threshold_ratio"], 0.75);
  EXPECT_EQ(s["foxpool_draining"], 1);
  EXPECT_EQ(s["foxpool_drain_deadline_timestamp_seconds"], 1800000000);
  EXPECT_EQ(s["foxpool_hub_connections_refused_total{reason=\"wrong_secret\"}"], 5);
  EXPECT_EQ(s["foxpool_build_info{firefox=\"153.7.0\",version=\"1.2.3\"}"], 1);
}

TEST(MetricsTest, AClosedWindowsMemorySeriesGoesWithIt) {
  Metrics metrics({.level = Observability::kDetailed});
  ScrapeState state;
  state.memory = Memory({{1, 10}, {2, 20}});
  metrics.Scrape(state);
  state.memory = Memory({{2, 25}, {3, 30}});
  auto s = Samples(metrics.Scrape(state));
  EXPECT_FALSE(s.contains("foxpool_window_memory_pss_bytes{window=\"w1\"}"));
  EXPECT_EQ(s["foxpool_window_memory_pss_bytes{window=\"w2\"}"], 25);
  EXPECT_EQ(s["foxpool_window_memory_pss_bytes{window=\"w3\"}"], 30);
}

TEST(MetricsTest, TheHubsCountersFollowTheHubsTotalsPerReason) {
  Metrics metrics({});
  ScrapeState state;
  state.hub_refused = {{"no_hello", 3}, {"oversized", 0}};
  state.requests_blocked = {{"private_network", 0}, {"scheme", 1}};
  auto s = Samples(metrics.Scrape(state));
  EXPECT_EQ(s["foxpool_requests_blocked_total{reason=\"private_network\"}"], 0);
  state.hub_refused = {{"no_hello", 7}, {"oversized", 2}};
  state.requests_blocked = {{"private_network", 4}, {"scheme", 1}};
  s = Samples(metrics.Scrape(state));
  EXPECT_EQ(s["foxpool_hub_connections_refused_total{reason=\"no_hello\"}"], 7);
  EXPECT_EQ(s["foxpool_hub_connections_refused_total{reason=\"oversized\"}"], 2);
  EXPECT_EQ(s["foxpool_requests_blocked_total{reason=\"private_network\"}"], 4);
  EXPECT_EQ(s["foxpool_requests_blocked_total{reason=\"scheme\"}"], 1);
}

TEST(MetricsTest, BasicLevelHasNoPerMethodOrPerWindowSeries) {
  Metrics metrics({.level = Observability::kBasic});
  metrics.CommandDone("evaluate", absl::StatusCode::kOk, absl::Milliseconds(2));
  ScrapeState state;
  state.memory = Memory({{1, 10}});
  std::string text = metrics.Scrape(state);
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("foxpool_command_duration_seconds")));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("foxpool_window_memory_pss_bytes")));
  auto s = Samples(text);
  EXPECT_EQ(s["foxpool_commands_total{code=\"OK\"}"], 1);
  EXPECT_EQ(s["foxpool_windows_memory_pss_bytes"], 10);
}

TEST(MemoryPressureTest, EngagesAtTheThresholdAndClearsBelowTheHysteresis) {
  EXPECT_FALSE(NextPressure(false, 0.74, 0.75));
  EXPECT_TRUE(NextPressure(false, 0.75, 0.75));
  EXPECT_TRUE(NextPressure(true, 0.71, 0.75));  // Within 0.05 below: still on.
  EXPECT_FALSE(NextPressure(true, 0.69, 0.75));
}

}  // namespace
}  // namespace foxpool::server
