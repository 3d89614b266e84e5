#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/ids.h"
#include "pool/pool.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/memory_sampler.h"

namespace foxpool::server {

// How much the server measures and logs (seed 002's three levels).
//   basic:    pool-level series; info logs of windows and the server.
//   detailed: + command latency by method, memory per window, lease life logs.
//   complete: + a debug log line per command with its timing.
enum class Observability { kBasic, kDetailed, kComplete };

struct MetricsOptions {
  Observability level = Observability::kDetailed;
  int min_windows = 0;
  int max_windows = 0;
  int max_queue = 0;
  double memory_threshold = 0.75;
  std::string version;
  std::string firefox_version;
};

// Values read at scrape time rather than counted as they happen.
struct ScrapeState {
  pool::PoolStatus pool;
  int commands_in_flight = 0;
  // The command gate's limit and queue; all zero without a gate.
  int command_limit = 0;
  int commands_queued = 0;
  MemorySnapshot memory;
  // Connections the hub refused (and frames it dropped), by reason.
  std::map<std::string, int64_t> hub_refused;
  // Page requests the navigation policy cancelled, by reason.
  std::map<std::string, int64_t> requests_blocked;
  // Persistent profiles restored since start, by reason.
  std::map<std::string, int64_t> profile_restores;
  // InfiniteFuture when not draining.
  absl::Time drain_deadline = absl::InfiniteFuture();
};

// foxpool's Prometheus series (names in the README's metrics table), built
// once into families and then updated cheaply. Event methods are called
// from any thread (prometheus-cpp's metrics are atomic); Update() and Text()
// from the metrics server's thread. Thread-safe.
class Metrics {
 public:
  explicit Metrics(MetricsOptions options);

  void WindowReady(absl::Duration took);
  void WindowFailed(absl::string_view reason);
  void WindowRecycled(absl::string_view reason);
  void WindowReset(absl::Duration took);
  void LeaseGranted(absl::Duration waited);
  void AcquireRefused(absl::string_view reason);
  void LeaseEnded(absl::string_view reason, absl::Duration held);
  void CommandDone(absl::string_view method, absl::StatusCode code, absl::Duration took);
  // A call refused as UNAUTHENTICATED (server/auth.h), by reason.
  void AuthFailed(absl::string_view reason);

  // Sets the gauges from `state`, then renders every series in Prometheus's
  // text exposition format (0.0.4).
  std::string Scrape(const ScrapeState& state);

  const MetricsOptions& options() const { return options_; }

 private:
  const MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Gauge>& windows_;
  prometheus::Gauge& acquire_queue_depth_;
  prometheus::Gauge& oldest_wait_;
  prometheus::Gauge& expected_wait_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Histogram& acquire_wait_;
  prometheus::Histogram& lease_duration_;
  prometheus::Family<prometheus::Counter>& leases_ended_;
  prometheus::Family<prometheus::Counter>& leases_expired_;
  prometheus::Family<prometheus::Counter>& commands_;
  prometheus::Family<prometheus::Histogram>* command_duration_;  // detailed and up
  prometheus::Gauge& commands_in_flight_;
  prometheus::Gauge& command_limit_;
  prometheus::Gauge& commands_queued_;
  prometheus::Histogram& window_start_;
  prometheus::Histogram& window_reset_;
  prometheus::Counter& windows_started_;
  prometheus::Family<prometheus::Counter>& windows_crashed_;
  prometheus::Family<prometheus::Counter>& windows_recycled_;
  prometheus::Family<prometheus::Gauge>* window_pss_;  // detailed and up
  prometheus::Gauge& windows_pss_;
  prometheus::Gauge& server_rss_;
  prometheus::Gauge& system_used_;
  prometheus::Gauge& system_limit_;
  prometheus::Gauge& system_ratio_;
  prometheus::Gauge& memory_pressure_;
  prometheus::Gauge& draining_;
  prometheus::Gauge& drain_deadline_;
  prometheus::Gauge& windows_retiring_;
  prometheus::Gauge& desired_windows_;
  prometheus::Gauge& start_failures_;
  prometheus::Family<prometheus::Counter>& hub_refused_;
  prometheus::Family<prometheus::Counter>& requests_blocked_;
  prometheus::Family<prometheus::Counter>& profile_restores_;
  prometheus::Family<prometheus::Counter>& auth_failures_;

  absl::Mutex mu_;  // Serializes scrapes.
  std::map<std::string, int64_t> hub_refused_seen_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> requests_blocked_seen_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> profile_restores_seen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pool::WindowId, prometheus::Gauge*> window_pss_series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::server
