#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "foxpool/v1/browser_pool.pb.h"
#include "nlohmann/json.hpp"
#include "pool/pool.h"

namespace foxpool::server {

// One finished command, as metrics and logs see it.
struct CommandOutcome {
  const char* method;
  // The lease id as the caller sent it; a credential, so log only a prefix.
  const std::string& lease_id;
  // The lease's window; WindowId() when the lease was not found.
  pool::WindowId window;
  const absl::Status& status;
  absl::Duration took;
};

// Hears every command's end, whether it reached a window or was refused
// before. Called on whichever thread finished it; must be thread-safe.
class CommandObserver {
 public:
  virtual ~CommandObserver() = default;
  virtual void OnCommandDone(const CommandOutcome& outcome) = 0;
};

struct ServiceOptions {
  // Timeout of a command whose request sets none.
  absl::Duration default_command_timeout = absl::Seconds(30);
  // Largest Evaluate expression accepted.
  size_t max_script_bytes = 1 << 20;
  // Reported by Drain.
  absl::Duration drain_timeout = absl::Minutes(1);
  // Optional; must outlive the service.
  CommandObserver* command_observer = nullptr;
};

// One window command: how a request becomes the extension's method and
// params, and how its JSON result becomes the response. Shared by the unary
// RPCs and the Session stream, so both validate and answer alike.
template <typename Request, typename Response>
struct Command {
  const char* method;
  // Validates the request (INVALID_ARGUMENT) and builds the params.
  absl::StatusOr<nlohmann::json> (*params)(const Request&, const ServiceOptions&);
  // The request's timeout, or the default.
  absl::StatusOr<absl::Duration> (*timeout)(const Request&, const ServiceOptions&);
  absl::Status (*fill)(const nlohmann::json& result, Response* response);
};

extern const Command<v1::NavigateRequest, v1::NavigateResponse> kNavigate;
extern const Command<v1::GetTitleRequest, v1::GetTitleResponse> kGetTitle;
extern const Command<v1::GetUrlRequest, v1::GetUrlResponse> kGetUrl;
extern const Command<v1::GetContentRequest, v1::GetContentResponse> kGetContent;
extern const Command<v1::EvaluateRequest, v1::EvaluateResponse> kEvaluate;
extern const Command<v1::ScreenshotRequest, v1::ScreenshotResponse> kScreenshot;

// Runs `command` on the window of `request.lease_id()`, finishing by
// `call_deadline` or the command's timeout, whichever is first. `done` is
// called exactly once, on any thread, with the response or the error.
template <typename Request, typename Response>
void StartCommand(
    pool::Pool& pool, const ServiceOptions& options, const Command<Request, Response>& command,
    const Request& request, absl::Time call_deadline,
    std::type_identity_t<absl::AnyInvocable<void(absl::StatusOr<Response>) &&>> reply) {
  absl::Time started = absl::Now();
  // Reports the outcome, then replies. `window` is set once the lease is found.
  auto window_id = std::make_shared<pool::WindowId>();
  auto done = [observer = options.command_observer, method = command.method, started, window_id,
               lease_id = request.lease_id(),
               reply = std::move(reply)](absl::StatusOr<Response> result) mutable {
    if (observer != nullptr) {
      observer->OnCommandDone(
          CommandOutcome{method, lease_id, *window_id, result.status(), absl::Now() - started});
    }
    std::move(reply)(std::move(result));
  };
  if (request.lease_id().empty()) {
    std::move(done)(absl::InvalidArgumentError("lease_id is empty"));
    return;
  }
  absl::StatusOr<nlohmann::json> params = command.params(request, options);
  absl::StatusOr<absl::Duration> timeout = command.timeout(request, options);
  if (!params.ok() || !timeout.ok()) {
    std::move(done)(!params.ok() ? params.status() : timeout.status());
    return;
  }
  absl::StatusOr<pool::LeaseUse> use = pool.Use(pool::LeaseId(request.lease_id()));
  if (!use.ok()) {
    std::move(done)(use.status());
    return;
  }
  *window_id = use->window_id();
  absl::Time deadline = std::min(call_deadline, started + *timeout);
  // The extension bounds its own wait a little earlier, so that a slow page
  // comes back as the extension's precise error rather than a bare timeout.
  (*params)["timeout_ms"] =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - started) - 50);
  pool::Window& window = use->window();
  window.Call(command.method, params->dump(), deadline,
              [&pool, fill = command.fill, use = *std::move(use),
               done = std::move(done)](absl::StatusOr<std::string> result) mutable {
                if (result.status().code() == absl::StatusCode::kDeadlineExceeded) {
                  // A slow page, or a hung window: a health probe tells which.
                  pool.Suspect(use.window_id());
                }
                if (!result.ok()) {
                  std::move(done)(result.status());
                  return;
                }
                nlohmann::json json = nlohmann::json::parse(*result, nullptr, false);
                if (json.is_discarded()) {
                  std::move(done)(absl::InternalError("the window answered with invalid JSON"));
                  return;
                }
                Response response;
                absl::Status filled = fill(json, &response);
                if (filled.ok()) {
                  std::move(done)(std::move(response));
                } else {
                  std::move(done)(filled);
                }
              });
}

}  // namespace foxpool::server
