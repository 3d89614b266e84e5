#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "firefox/url_policy.h"
#include "foxpool/v1/browser_pool.pb.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"
#include "pool/command_gate.h"
#include "pool/pool.h"
#include "server/command_list.h"

namespace foxpool::server {

class Authenticator;

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
  // Largest Evaluate expression or preload script accepted.
  size_t max_script_bytes = 1 << 20;
  // Largest total of the files of one UploadFile (base64 on the hub, so
  // kept well below its frame limit).
  size_t max_upload_bytes = 16 << 20;
  // Largest result of a command (its JSON), and of a Screenshot or
  // PrintToPdf (the image or document's bytes); the extension refuses to
  // send more (RESOURCE_EXHAUSTED), so the hub's frame limit is never hit.
  size_t max_result_bytes = 8 << 20;
  size_t max_screenshot_bytes = 32 << 20;
  // Session streams one peer (principal, else address) may hold open.
  int max_streams_per_peer = 16;
  // Which URLs callers may send (schemes, private networks).
  firefox::UrlPolicy url_policy;
  // Reported by Drain.
  absl::Duration drain_timeout = absl::Minutes(1);
  // Optional; must outlive the service.
  CommandObserver* command_observer = nullptr;
  // Admission control of commands across windows; optional, must outlive
  // the service.
  pool::CommandGate* command_gate = nullptr;
  // Who may call (server/auth.h); null: everyone, anonymously. Must
  // outlive the service.
  const Authenticator* authenticator = nullptr;
};

// Commands that mostly wait (for an element, for the network) hold no place
// in the command gate.
bool IsWait(std::string_view method);
// Commands whose time says how loaded the browsers are (not navigations,
// whose time is the network's, nor prints).
bool IsSampled(std::string_view method);
// The most JSON a command's result may take on the hub: max_result_bytes,
// or for captures their data limit as base64 plus room for the envelope.
size_t ResultLimit(std::string_view method, const ServiceOptions& options);

// One window command: the extension's method, and what it checks beyond
// what every command gets. Shared by the unary RPCs and the Session stream,
// so both validate and answer alike.
//
// Every command's request goes to the extension as its proto3 JSON (field
// names as in the .proto, without lease_id, plus `timeout_ms`), and the
// extension's result is read as the response's proto3 JSON.
template <typename Request, typename Response>
struct Command {
  const char* method;
  // Checks beyond CheckRequest's (INVALID_ARGUMENT); null when none.
  absl::Status (*check)(const Request&, const ServiceOptions&) = nullptr;
  // Adds to the params what JSON of the request does not say; may be null.
  void (*extend)(const Request&, nlohmann::json& params) = nullptr;
};

#define FOXPOOL_DECLARE_COMMAND(Name, field, Request, Response) \
  extern const Command<v1::Request, v1::Response> k##Name;
FOXPOOL_COMMANDS(FOXPOOL_DECLARE_COMMAND)
#undef FOXPOOL_DECLARE_COMMAND

// What every command request gets checked for, by walking its fields:
// Locators with a value, ElementTargets naming an element, URLs of an
// allowed scheme, scripts and uploads within their limits, durations not
// negative. INVALID_ARGUMENT naming the field.
absl::Status CheckRequest(const google::protobuf::Message& request, const ServiceOptions& options);

// The request's `timeout` field if it has one and it is set (it must be
// positive), else the default.
absl::StatusOr<absl::Duration> RequestTimeout(const google::protobuf::Message& request,
                                              const ServiceOptions& options);

// The request as the extension's params: its proto3 JSON without lease_id.
// INVALID_ARGUMENT if it has none (a field out of its type's range).
absl::StatusOr<nlohmann::json> RequestParams(const google::protobuf::Message& request);

// Reads the extension's result (JSON text) into `response` as its proto3
// JSON; unknown fields are ignored, "null" leaves it empty. INTERNAL when
// the text is not JSON or does not fit.
absl::Status FillResponse(const std::string& result_json, google::protobuf::Message* response);

// RESOURCE_EXHAUSTED for a result of `size` bytes above `limit`.
absl::Status ResultTooLarge(size_t size, size_t limit);

// Runs `command` on the window of `request.lease_id()`, finishing by
// `call_deadline` or the command's timeout, whichever is first. `done` is
// called exactly once, on any thread, with the response or the error.
// `principal` is the caller's (server/auth.h); the lease must be theirs.
template <typename Request, typename Response>
void StartCommand(pool::Pool& pool, const ServiceOptions& options,
                  const Command<Request, Response>& command, const Request& request,
                  absl::Time call_deadline,
                  std::type_identity_t<absl::AnyInvocable<void(absl::StatusOr<Response>) &&>> reply,
                  absl::string_view principal = "") {
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
  absl::Status checked = CheckRequest(request, options);
  if (checked.ok() && command.check != nullptr) checked = command.check(request, options);
  absl::StatusOr<absl::Duration> timeout = RequestTimeout(request, options);
  if (checked.ok() && !timeout.ok()) checked = timeout.status();
  absl::StatusOr<nlohmann::json> params = checked.ok() ? RequestParams(request) : checked;
  if (!params.ok()) {
    std::move(done)(params.status());
    return;
  }
  if (command.extend != nullptr) command.extend(request, *params);
  absl::StatusOr<pool::LeaseUse> use = pool.Use(pool::LeaseId(request.lease_id()), principal);
  if (!use.ok()) {
    std::move(done)(use.status());
    return;
  }
  *window_id = use->window_id();
  absl::Time deadline = std::min(call_deadline, started + *timeout);
  pool::CommandGate* gate = IsWait(command.method) ? nullptr : options.command_gate;
  const size_t result_limit = ResultLimit(command.method, options);
  auto run = [&pool, gate, method = command.method, params = *std::move(params), deadline,
              result_limit, use = *std::move(use),
              done = std::move(done)](absl::Status admitted) mutable {
    if (!admitted.ok()) {
      std::move(done)(admitted);
      return;
    }
    absl::Time admitted_at = absl::Now();
    // The extension bounds its own wait a little earlier, so that a slow
    // page comes back as the extension's precise error rather than a bare
    // timeout (a tenth of the time, 50 to 250 ms: enough for a loaded machine).
    absl::Duration left = deadline - admitted_at;
    absl::Duration margin = std::clamp(left / 10, absl::Milliseconds(50), absl::Milliseconds(250));
    params["timeout_ms"] = std::max<int64_t>(1, absl::ToInt64Milliseconds(left - margin));
    params["max_result_bytes"] = result_limit;
    pool::Window& window = use.window();
    window.Call(method, params.dump(), deadline,
                [&pool, gate, method, admitted_at, result_limit, use = std::move(use),
                 done = std::move(done)](absl::StatusOr<std::string> result) mutable {
                  if (gate != nullptr) {
                    gate->Done(method,
                               result.ok() && IsSampled(method)
                                   ? std::optional<absl::Duration>(absl::Now() - admitted_at)
                                   : std::nullopt);
                  }
                  if (result.status().code() == absl::StatusCode::kDeadlineExceeded) {
                    // A slow page, or a hung window: a health probe tells which.
                    pool.Suspect(use.window_id());
                  }
                  // Over before the caller hears of it: a Release sent on
                  // the reply must return the window at once.
                  use.End();
                  if (!result.ok()) {
                    std::move(done)(result.status());
                    return;
                  }
                  if (result->size() > result_limit) {  // The extension should have refused.
                    std::move(done)(ResultTooLarge(result->size(), result_limit));
                    return;
                  }
                  Response response;
                  absl::Status filled = FillResponse(*result, &response);
                  if (filled.ok()) {
                    std::move(done)(std::move(response));
                  } else {
                    std::move(done)(filled);
                  }
                });
  };
  if (gate == nullptr) {
    std::move(run)(absl::OkStatus());
  } else {
    gate->Enter(request.lease_id(), deadline, std::move(run));
  }
}

}  // namespace foxpool::server
