#include "server/telemetry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/logging.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

// fmt cannot print Debian's absl::string_view.
std::string Str(absl::string_view text) { return std::string(text); }

}  // namespace

std::string WindowFailureReason(const absl::Status& why) {
  absl::optional<absl::Cord> reason = why.GetPayload(pool::kWindowFailurePayload);
  return reason.has_value() ? std::string(*reason) : "other";
}

Telemetry::Telemetry(Metrics& metrics, SessionOf session_of)
    : metrics_(metrics), session_of_(std::move(session_of)) {}

void Telemetry::SetHealth(grpc::HealthCheckServiceInterface* health, std::string service,
                          std::function<int()> usable) {
  health_ = health;
  service_ = std::move(service);
  usable_ = std::move(usable);
}

void Telemetry::SetServing(bool serving) {
  absl::MutexLock lock(&health_mu_);
  if (health_ == nullptr || stopped_ || serving_ == serving) return;
  serving_ = serving;
  health_->SetServingStatus(service_, serving);
  health_->SetServingStatus("", serving);
}

void Telemetry::StopServing() {
  SetServing(false);
  absl::MutexLock lock(&health_mu_);
  stopped_ = true;
}

bool Telemetry::serving() const {
  absl::MutexLock lock(&health_mu_);
  return serving_;
}

void Telemetry::OnWindowReady(pool::WindowId id, absl::Duration took) {
  metrics_.WindowReady(took);
  SetServing(true);
}

void Telemetry::OnCrashLoop(int failures, absl::Duration backoff) {
  bool none_usable = usable_ && usable_() == 0;
  spdlog::error("windows keep failing to start: {} in a row; next attempt in {}{}", failures,
                absl::FormatDuration(backoff),
                none_usable ? "; no window can serve, health is NOT_SERVING" : "");
  if (none_usable) SetServing(false);
}

void Telemetry::OnWindowFailed(pool::WindowId id, const absl::Status& why) {
  metrics_.WindowFailed(WindowFailureReason(why));
  std::string session = session_of_(id);
  spdlog::warn("window {} out of service ({}): {} {}{}window={} session={}", id.ToString(),
               WindowFailureReason(why), absl::StatusCodeToString(why.code()), Str(why.message()),
               Str(kFieldsSeparator), id.ToString(), session.empty() ? "-" : session);
}

void Telemetry::OnWindowRecycled(pool::WindowId id, pool::Recycle reason) {
  metrics_.WindowRecycled(pool::ToString(reason));
  spdlog::info("window {} recycled: {}", id.ToString(), Str(pool::ToString(reason)));
}

void Telemetry::OnWindowReset(pool::WindowId id, absl::Duration took) {
  metrics_.WindowReset(took);
}

void Telemetry::OnLeaseGranted(const pool::Grant& grant) {
  metrics_.LeaseGranted(grant.waited);
  if (!Detailed()) return;
  spdlog::info("lease granted after {}{}", absl::FormatDuration(grant.waited),
               LeaseFields(grant.lease.value(), grant.window, session_of_(grant.window)));
}

void Telemetry::OnAcquireRefused(pool::AcquireRefusal why, absl::Duration waited) {
  metrics_.AcquireRefused(pool::ToString(why));
  if (!Detailed()) return;
  spdlog::info("acquire refused ({}) after {}", Str(pool::ToString(why)),
               absl::FormatDuration(waited));
}

void Telemetry::OnLeaseEnded(const pool::LeaseId& lease, pool::WindowId window,
                             pool::LeaseEnd reason, absl::Duration held, const absl::Status& why) {
  metrics_.LeaseEnded(pool::ToString(reason), held);
  if (!Detailed()) return;
  spdlog::info("lease ended ({}) after {}{}", Str(pool::ToString(reason)),
               absl::FormatDuration(held), LeaseFields(lease.value(), window, session_of_(window)));
}

void Telemetry::OnCommandDone(const CommandOutcome& outcome) {
  metrics_.CommandDone(outcome.method, outcome.status.code(), outcome.took);
  if (metrics_.options().level != Observability::kComplete) return;
  spdlog::debug("command {} {} in {}{} code={}", outcome.method,
                outcome.status.ok() ? "ok" : outcome.status.ToString(),
                absl::FormatDuration(outcome.took),
                LeaseFields(outcome.lease_id, outcome.window, session_of_(outcome.window)),
                absl::StatusCodeToString(outcome.status.code()));
}

}  // namespace foxpool::server
