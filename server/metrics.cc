#include "server/metrics.h"

#include <sstream>
#include <utility>
#include <vector>

#include "prometheus/text_serializer.h"
#include "server/auth.h"

namespace foxpool::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

const Histogram::BucketBoundaries& AcquireWaitBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return kBuckets;
}
const Histogram::BucketBoundaries& LeaseBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.1, 0.5, 1,   5,   10,   30,
                                                       60,  120, 300, 600, 1800, 3600};
  return kBuckets;
}
const Histogram::BucketBoundaries& StartBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.5, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 60};
  return kBuckets;
}
const Histogram::BucketBoundaries& ResetBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.01, 0.025, 0.05, 0.1, 0.2,
                                                       0.5,  1,     2.5,  5,   15};
  return kBuckets;
}
const Histogram::BucketBoundaries& CommandBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

std::string Label(absl::string_view value) { return std::string(value); }

// Moves `family`'s series up to the totals, by reason, that another part of
// the server counts; `seen` holds the totals already counted.
void FollowTotals(prometheus::Family<prometheus::Counter>& family,
                  const std::map<std::string, int64_t>& totals,
                  std::map<std::string, int64_t>& seen) {
  for (const auto& [reason, total] : totals) {
    prometheus::Counter& counter = family.Add({{"reason", reason}});
    int64_t& before = seen[reason];
    if (total <= before) continue;
    counter.Increment(static_cast<double>(total - before));
    before = total;
  }
}

}  // namespace

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      windows_(BuildGauge()
                   .Name("foxpool_windows")
                   .Help("Windows in the pool by state.")
                   .Register(*registry_)),
      acquire_queue_depth_(BuildGauge()
                               .Name("foxpool_acquire_queue_depth")
                               .Help("Callers waiting in Acquire for a window.")
                               .Register(*registry_)
                               .Add({})),
      oldest_wait_(BuildGauge()
                       .Name("foxpool_acquire_oldest_wait_seconds")
                       .Help("How long the first caller in the queue has waited (0: none).")
                       .Register(*registry_)
                       .Add({})),
      expected_wait_(BuildGauge()
                         .Name("foxpool_acquire_expected_wait_seconds")
                         .Help("Estimated wait of a caller arriving now (the retry hint).")
                         .Register(*registry_)
                         .Add({})),
      rejected_(BuildCounter()
                    .Name("foxpool_acquire_rejected_total")
                    .Help("Acquires that got no window, by reason.")
                    .Register(*registry_)),
      acquire_wait_(BuildHistogram()
                        .Name("foxpool_acquire_wait_seconds")
                        .Help("Time from Acquire to a granted lease.")
                        .Register(*registry_)
                        .Add({}, AcquireWaitBuckets())),
      lease_duration_(BuildHistogram()
                          .Name("foxpool_lease_duration_seconds")
                          .Help("Time from grant to the end of a lease.")
                          .Register(*registry_)
                          .Add({}, LeaseBuckets())),
      leases_ended_(BuildCounter()
                        .Name("foxpool_leases_ended_total")
                        .Help("Leases ended, by reason.")
                        .Register(*registry_)),
      leases_expired_(BuildCounter()
                          .Name("foxpool_leases_expired_total")
                          .Help("Leases the server ended because they expired, by reason.")
                          .Register(*registry_)),
      commands_(BuildCounter()
                    .Name("foxpool_commands_total")
                    .Help("Window commands finished, by gRPC status code.")
                    .Register(*registry_)),
      command_duration_(options_.level == Observability::kBasic
                            ? nullptr
                            : &BuildHistogram()
                                   .Name("foxpool_command_duration_seconds")
                                   .Help("Window command latency inside the server, by method "
                                         "and gRPC status code.")
                                   .Register(*registry_)),
      commands_in_flight_(BuildGauge()
                              .Name("foxpool_commands_in_flight")
                              .Help("Window commands running now.")
                              .Register(*registry_)
                              .Add({})),
      command_limit_(BuildGauge()
                         .Name("foxpool_command_limit")
                         .Help("Commands the gate lets execute at once across all windows "
                               "(0: no gate).")
                         .Register(*registry_)
                         .Add({})),
      commands_queued_(BuildGauge()
                           .Name("foxpool_commands_queued")
                           .Help("Commands waiting in the gate for room.")
                           .Register(*registry_)
                           .Add({})),
      window_start_(BuildHistogram()
                        .Name("foxpool_window_start_seconds")
                        .Help("Time from launch until a window is ready to lease.")
                        .Register(*registry_)
                        .Add({}, StartBuckets())),
      window_reset_(BuildHistogram()
                        .Name("foxpool_window_reset_seconds")
                        .Help("Time a window takes to reset between leases.")
                        .Register(*registry_)
                        .Add({}, ResetBuckets())),
      windows_started_(BuildCounter()
                           .Name("foxpool_windows_started_total")
                           .Help("Windows that started and became ready.")
                           .Register(*registry_)
                           .Add({})),
      windows_crashed_(BuildCounter()
                           .Name("foxpool_windows_crashed_total")
                           .Help("Windows that failed to start or died, by reason.")
                           .Register(*registry_)),
      windows_recycled_(BuildCounter()
                            .Name("foxpool_windows_recycled_total")
                            .Help("Windows closed and replaced on purpose, by reason.")
                            .Register(*registry_)),
      window_pss_(options_.level == Observability::kBasic
                      ? nullptr
                      : &BuildGauge()
                             .Name("foxpool_window_memory_pss_bytes")
                             .Help("PSS of each window's Firefox process group.")
                             .Register(*registry_)),
      windows_pss_(BuildGauge()
                       .Name("foxpool_windows_memory_pss_bytes")
                       .Help("PSS of all windows' Firefox processes together.")
                       .Register(*registry_)
                       .Add({})),
      server_rss_(BuildGauge()
                      .Name("foxpool_server_resident_memory_bytes")
                      .Help("Resident memory of the foxpoold process itself.")
                      .Register(*registry_)
                      .Add({})),
      system_used_(BuildGauge()
                       .Name("foxpool_system_memory_used_bytes")
                       .Help("Memory used in the server's cgroup (working set) or machine.")
                       .Register(*registry_)
                       .Add({})),
      system_limit_(BuildGauge()
                        .Name("foxpool_system_memory_limit_bytes")
                        .Help("The cgroup's memory.max, or the machine's MemTotal.")
                        .Register(*registry_)
                        .Add({})),
      system_ratio_(BuildGauge()
                        .Name("foxpool_system_memory_used_ratio")
                        .Help("foxpool_system_memory_used_bytes / ..._limit_bytes.")
                        .Register(*registry_)
                        .Add({})),
      memory_pressure_(BuildGauge()
                           .Name("foxpool_memory_pressure")
                           .Help("1 while the used ratio is above --memory_threshold "
                                 "(cleared 0.05 below it).")
                           .Register(*registry_)
                           .Add({})),
      draining_(BuildGauge()
                    .Name("foxpool_draining")
                    .Help("1 once the server drains (stops admitting) before shutdown.")
                    .Register(*registry_)
                    .Add({})),
      drain_deadline_(BuildGauge()
                          .Name("foxpool_drain_deadline_timestamp_seconds")
                          .Help("When a drain ends held leases (Unix time); 0 when not draining.")
                          .Register(*registry_)
                          .Add({})),
      windows_retiring_(BuildGauge()
                            .Name("foxpool_windows_retiring")
                            .Help("Windows being replaced (counted in foxpool_windows too): "
                                  "closed once their replacement is ready or their lease ends.")
                            .Register(*registry_)
                            .Add({})),
      desired_windows_(BuildGauge()
                           .Name("foxpool_pool_desired_windows")
                           .Help("Windows the pool wants now: its size, more while callers wait.")
                           .Register(*registry_)
                           .Add({})),
      start_failures_(BuildGauge()
                          .Name("foxpool_window_start_failures_consecutive")
                          .Help("Failed window starts in a row (0 once one starts); "
                                "3 or more is a crash loop.")
                          .Register(*registry_)
                          .Add({})),
      hub_refused_(BuildCounter()
                       .Name("foxpool_hub_connections_refused_total")
                       .Help("WebSocket connections the hub refused, and frames it dropped from "
                             "authenticated ones, by reason (no_hello, malformed, binary, "
                             "oversized, unknown_session, wrong_secret, duplicate, "
                             "too_many_pending).")
                       .Register(*registry_)),
      requests_blocked_(BuildCounter()
                            .Name("foxpool_requests_blocked_total")
                            .Help("Requests of pages the navigation policy cancelled, by reason "
                                  "(scheme: a document of a scheme --url_schemes refuses; "
                                  "private_network: --block_private_networks; unresolved: a "
                                  "name that did not resolve while the block is on).")
                            .Register(*registry_)),
      profile_restores_(BuildCounter()
                            .Name("foxpool_profile_restores_total")
                            .Help("Persistent profiles restored from their snapshot, by reason "
                                  "(corrupt databases, a window that did not start).")
                            .Register(*registry_)),
      auth_failures_(BuildCounter()
                         .Name("foxpool_auth_failures_total")
                         .Help("gRPC calls refused as UNAUTHENTICATED, by reason (no token, an "
                               "unknown token, a client certificate without a name).")
                         .Register(*registry_)) {
  for (const char* reason : kAuthFailureReasons) auth_failures_.Add({{"reason", reason}});
  for (const char* reason : {"corrupt", "start_failed"})
    profile_restores_.Add({{"reason", reason}});
  BuildGauge()
      .Name("foxpool_pool_min_windows")
      .Help("Windows the pool keeps at least.")
      .Register(*registry_)
      .Add({})
      .Set(options_.min_windows);
  BuildGauge()
      .Name("foxpool_pool_max_windows")
      .Help("Windows the pool runs at most.")
      .Register(*registry_)
      .Add({})
      .Set(options_.max_windows);
  BuildGauge()
      .Name("foxpool_acquire_queue_limit")
      .Help("Callers that may wait in Acquire at once (--max_queue).")
      .Register(*registry_)
      .Add({})
      .Set(options_.max_queue);
  BuildGauge()
      .Name("foxpool_memory_threshold_ratio")
      .Help("The --memory_threshold the used ratio is compared with.")
      .Register(*registry_)
      .Add({})
      .Set(options_.memory_threshold);
  BuildGauge()
      .Name("foxpool_build_info")
      .Help("Always 1; the labels say which foxpool and Firefox run.")
      .Register(*registry_)
      .Add({{"version", options_.version}, {"firefox", options_.firefox_version}})
      .Set(1);
  BuildGauge()
      .Name("foxpool_start_time_seconds")
      .Help("When the server started (Unix time).")
      .Register(*registry_)
      .Add({})
      .Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  // Series that exist from the first scrape, so that rate() sees their start.
  for (const char* state : {"starting", "idle", "leased", "resetting"}) {
    windows_.Add({{"state", state}});
  }
  for (auto reason : {pool::AcquireRefusal::kQueueFull, pool::AcquireRefusal::kWaitTooLong,
                      pool::AcquireRefusal::kNoWait, pool::AcquireRefusal::kDraining,
                      pool::AcquireRefusal::kDeadline, pool::AcquireRefusal::kCancelled,
                      pool::AcquireRefusal::kReplaced, pool::AcquireRefusal::kMemory,
                      pool::AcquireRefusal::kNotOwner}) {
    rejected_.Add({{"reason", Label(pool::ToString(reason))}});
  }
  for (auto reason :
       {pool::LeaseEnd::kReleased, pool::LeaseEnd::kIdleTimeout, pool::LeaseEnd::kMaxDuration,
        pool::LeaseEnd::kRevoked, pool::LeaseEnd::kWindowDied, pool::LeaseEnd::kShutdown}) {
    leases_ended_.Add({{"reason", Label(pool::ToString(reason))}});
  }
  for (auto reason : {pool::LeaseEnd::kIdleTimeout, pool::LeaseEnd::kMaxDuration}) {
    leases_expired_.Add({{"reason", Label(pool::ToString(reason))}});
  }
  for (auto reason :
       {pool::Recycle::kRequested, pool::Recycle::kResetFailed, pool::Recycle::kMaxLeases,
        pool::Recycle::kMaxAge, pool::Recycle::kMaxMemory, pool::Recycle::kMemoryPressure,
        pool::Recycle::kUnresponsive, pool::Recycle::kSurplus}) {
    windows_recycled_.Add({{"reason", Label(pool::ToString(reason))}});
  }
  for (const char* reason : pool::kWindowFailureReasons) windows_crashed_.Add({{"reason", reason}});
  windows_crashed_.Add({{"reason", "other"}});
  commands_.Add({{"code", "OK"}});
}

void Metrics::WindowReady(absl::Duration took) {
  windows_started_.Increment();
  window_start_.Observe(Seconds(took));
}

void Metrics::WindowFailed(absl::string_view reason) {
  windows_crashed_.Add({{"reason", Label(reason)}}).Increment();
}

void Metrics::WindowRecycled(absl::string_view reason) {
  windows_recycled_.Add({{"reason", Label(reason)}}).Increment();
}

void Metrics::WindowReset(absl::Duration took) { window_reset_.Observe(Seconds(took)); }

void Metrics::LeaseGranted(absl::Duration waited) { acquire_wait_.Observe(Seconds(waited)); }

void Metrics::AcquireRefused(absl::string_view reason) {
  rejected_.Add({{"reason", Label(reason)}}).Increment();
}

void Metrics::LeaseEnded(absl::string_view reason, absl::Duration held) {
  leases_ended_.Add({{"reason", Label(reason)}}).Increment();
  if (reason == pool::ToString(pool::LeaseEnd::kIdleTimeout) ||
      reason == pool::ToString(pool::LeaseEnd::kMaxDuration)) {
    leases_expired_.Add({{"reason", Label(reason)}}).Increment();
  }
  lease_duration_.Observe(Seconds(held));
}

void Metrics::CommandDone(absl::string_view method, absl::StatusCode code, absl::Duration took) {
  std::string code_name = absl::StatusCodeToString(code);
  commands_.Add({{"code", code_name}}).Increment();
  if (command_duration_ != nullptr) {
    command_duration_->Add({{"method", Label(method)}, {"code", code_name}}, CommandBuckets())
        .Observe(Seconds(took));
  }
}

void Metrics::AuthFailed(absl::string_view reason) {
  auth_failures_.Add({{"reason", Label(reason)}}).Increment();
}

std::string Metrics::Scrape(const ScrapeState& state) {
  absl::MutexLock lock(&mu_);
  windows_.Add({{"state", "starting"}}).Set(state.pool.starting);
  windows_.Add({{"state", "idle"}}).Set(state.pool.idle);
  windows_.Add({{"state", "leased"}}).Set(state.pool.leased);
  windows_.Add({{"state", "resetting"}}).Set(state.pool.resetting);
  acquire_queue_depth_.Set(state.pool.queue_depth);
  windows_retiring_.Set(state.pool.retiring);
  desired_windows_.Set(state.pool.desired);
  start_failures_.Set(state.pool.consecutive_start_failures);
  oldest_wait_.Set(Seconds(state.pool.oldest_waiter_age));
  expected_wait_.Set(Seconds(state.pool.expected_wait));
  commands_in_flight_.Set(state.commands_in_flight);
  command_limit_.Set(state.command_limit);
  commands_queued_.Set(state.commands_queued);
  draining_.Set(state.pool.draining ? 1 : 0);
  drain_deadline_.Set(state.drain_deadline == absl::InfiniteFuture()
                          ? 0
                          : absl::ToDoubleSeconds(state.drain_deadline - absl::UnixEpoch()));
  FollowTotals(hub_refused_, state.hub_refused, hub_refused_seen_);
  FollowTotals(profile_restores_, state.profile_restores, profile_restores_seen_);
  FollowTotals(requests_blocked_, state.requests_blocked, requests_blocked_seen_);

  const MemorySnapshot& memory = state.memory;
  windows_pss_.Set(static_cast<double>(memory.windows_pss_bytes));
  server_rss_.Set(static_cast<double>(memory.server_rss_bytes));
  if (memory.system.has_value()) {
    system_used_.Set(static_cast<double>(memory.system->used_bytes));
    system_limit_.Set(static_cast<double>(memory.system->limit_bytes));
    system_ratio_.Set(memory.system->used_ratio());
  }
  memory_pressure_.Set(memory.pressure ? 1 : 0);
  if (window_pss_ != nullptr) {
    // One series per live window: a closed window's series goes with it, so
    // the count stays bounded by the pool size.
    absl::flat_hash_map<pool::WindowId, prometheus::Gauge*> live;
    for (const auto& window : memory.windows) {
      auto it = window_pss_series_.find(window.id);
      prometheus::Gauge* gauge = it != window_pss_series_.end()
                                     ? it->second
                                     : &window_pss_->Add({{"window", window.id.ToString()}});
      gauge->Set(static_cast<double>(window.pss_bytes));
      live.emplace(window.id, gauge);
    }
    for (const auto& [id, gauge] : window_pss_series_) {
      if (!live.contains(id)) window_pss_->Remove(gauge);
    }
    window_pss_series_ = std::move(live);
  }

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace foxpool::server
