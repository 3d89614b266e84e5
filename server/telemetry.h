#pragma once

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/health_check_service_interface.h"
#include "pool/observer.h"
#include "pool/pool.h"
#include "server/commands.h"
#include "server/metrics.h"

namespace foxpool::server {

// Turns what the pool and the commands report into metrics and logs, at the
// configured observability level, and flips gRPC health to SERVING when the
// first window is ready. Thread-safe (events arrive on any thread).
class Telemetry final : public pool::PoolObserver, public CommandObserver {
 public:
  // The hub session of a window, for log lines ("" when unknown).
  using SessionOf = std::function<std::string(pool::WindowId)>;

  Telemetry(Metrics& metrics, SessionOf session_of);

  // Set once, before the pool starts. `usable` counts the windows that can
  // serve now (idle or leased): while windows crash-loop and none is usable,
  // health is NOT_SERVING; the next ready window makes it SERVING again.
  void SetHealth(grpc::HealthCheckServiceInterface* health, std::string service,
                 std::function<int()> usable);
  // From now on health stays NOT_SERVING (the server drains).
  void StopServing();
  // What gRPC health says now: SERVING (true) or NOT_SERVING.
  bool serving() const;

  void OnWindowReady(pool::WindowId id, absl::Duration took) override;
  void OnWindowFailed(pool::WindowId id, const absl::Status& why) override;
  void OnWindowRecycled(pool::WindowId id, pool::Recycle reason) override;
  void OnWindowReset(pool::WindowId id, absl::Duration took) override;
  void OnCrashLoop(int failures, absl::Duration backoff) override;
  void OnLeaseGranted(const pool::Grant& grant) override;
  void OnAcquireRefused(pool::AcquireRefusal why, absl::Duration waited) override;
  void OnLeaseEnded(const pool::LeaseId& lease, pool::WindowId window, pool::LeaseEnd reason,
                    absl::Duration held, const absl::Status& why) override;
  void OnCommandDone(const CommandOutcome& outcome) override;

 private:
  bool Detailed() const { return metrics_.options().level != Observability::kBasic; }

  Metrics& metrics_;
  const SessionOf session_of_;
  void SetServing(bool serving);

  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::string service_;
  std::function<int()> usable_;
  mutable absl::Mutex health_mu_;
  bool serving_ ABSL_GUARDED_BY(health_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(health_mu_) = false;
};

// The failure reason a window's status carries (pool::kWindowFailurePayload),
// or "other".
std::string WindowFailureReason(const absl::Status& why);

}  // namespace foxpool::server
