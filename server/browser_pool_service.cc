#include "server/browser_pool_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"
#include "server/png.h"
#include "server/unary_call.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

constexpr size_t kMaxLabels = 16;
constexpr size_t kMaxLabelKey = 63;
constexpr size_t kMaxLabelValue = 255;
constexpr size_t kMaxRequestId = 128;

grpc::ServerUnaryReactor* FinishNow(const absl::Status& status) {
  auto call = UnaryCall::Create();
  call->TryFinish(ToGrpcStatus(status));
  return call.get();
}

absl::Status CheckLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > kMaxLabels) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxLabels, " labels"));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty() || key.size() > kMaxLabelKey || value.size() > kMaxLabelValue) {
      return absl::InvalidArgumentError(absl::StrCat("label keys must have 1 to ", kMaxLabelKey,
                                                     " bytes and values at most ", kMaxLabelValue));
    }
  }
  return absl::OkStatus();
}

// Only web pages and the blank page: file:, chrome:, about:config and
// friends would hand the caller the server's files or browser internals.
absl::Status CheckUrl(const std::string& url) {
  if (url == "about:blank") return absl::OkStatus();
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "http://") || absl::StartsWith(lower, "https://")) {
    return absl::OkStatus();
  }
  if (url.empty()) return absl::InvalidArgumentError("url is empty");
  return absl::InvalidArgumentError(absl::StrCat(
      "URL scheme not allowed (use http, https or about:blank): ", url.substr(0, 100)));
}

absl::StatusOr<absl::Duration> OptionalTimeout(bool has, const google::protobuf::Duration& d,
                                               absl::Duration fallback, const char* name) {
  if (!has) return fallback;
  absl::Duration value = FromProto(d);
  if (value <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive"));
  }
  return value;
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// A string field of a command result.
std::string Text(const nlohmann::json& result, const char* key) {
  auto it = result.is_object() ? result.find(key) : result.end();
  return it != result.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

BrowserPoolService::BrowserPoolService(pool::Pool& pool, ServiceOptions options)
    : pool_(pool), options_(options) {}

grpc::ServerUnaryReactor* BrowserPoolService::Acquire(grpc::CallbackServerContext* context,
                                                      const v1::AcquireRequest* request,
                                                      v1::AcquireResponse* response) {
  if (absl::Status s = CheckLabels(request->labels()); !s.ok()) return FinishNow(s);
  pool::AcquireOptions options;
  options.deadline = CallDeadline(*context);
  if (request->has_max_wait()) {
    absl::Duration max_wait = FromProto(request->max_wait());
    if (max_wait < absl::ZeroDuration()) {
      return FinishNow(absl::InvalidArgumentError("max_wait must not be negative"));
    }
    options.deadline = std::min(options.deadline, absl::Now() + max_wait);
  }
  if (request->has_idle_timeout()) {
    absl::Duration idle = FromProto(request->idle_timeout());
    if (idle <= absl::ZeroDuration()) {
      return FinishNow(absl::InvalidArgumentError("idle_timeout must be positive"));
    }
    options.idle_timeout = idle;
  }
  if (request->request_id().size() > kMaxRequestId) {
    return FinishNow(absl::InvalidArgumentError(
        absl::StrCat("request_id has more than ", kMaxRequestId, " bytes")));
  }
  options.request_id = request->request_id();
  options.labels.insert(request->labels().begin(), request->labels().end());
  options.holder = context->peer();

  auto call = UnaryCall::Create();
  pool::Pool::WaitTicket ticket = pool_.Acquire(
      std::move(options), [this, call, context, response](absl::StatusOr<pool::Grant> grant) {
        bool delivered = call->TryFinish([&]() -> grpc::Status {
          if (!grant.ok()) {
            if (auto retry = grant.status().GetPayload(pool::kRetryAfterPayload)) {
              context->AddTrailingMetadata("retry-after-ms", std::string(*retry));
            }
            return ToGrpcStatus(grant.status());
          }
          response->set_lease_id(grant->lease.value());
          response->set_window_id(grant->window.ToString());
          ToProto(grant->waited, response->mutable_waited());
          ToProto(grant->idle_timeout, response->mutable_idle_timeout());
          return grpc::Status::OK;
        });
        // The caller left at the moment a window came free: the window goes
        // straight back (untouched, so without a reset), never into a lease
        // nobody holds.
        if (!delivered && grant.ok()) {
          (void)pool_.Release(grant->lease, pool::ReleaseMode::kKeep);
        }
      });
  call->OnCancelled([this, ticket] { pool_.CancelWait(ticket); });
  return call.get();
}

grpc::ServerUnaryReactor* BrowserPoolService::Renew(grpc::CallbackServerContext* context,
                                                    const v1::RenewRequest* request,
                                                    v1::RenewResponse* response) {
  if (request->lease_id().empty()) {
    return FinishNow(absl::InvalidArgumentError("lease_id is empty"));
  }
  absl::StatusOr<absl::Duration> idle = pool_.Renew(pool::LeaseId(request->lease_id()));
  if (!idle.ok()) return FinishNow(idle.status());
  ToProto(*idle, response->mutable_idle_timeout());
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::Release(grpc::CallbackServerContext* context,
                                                      const v1::ReleaseRequest* request,
                                                      v1::ReleaseResponse* response) {
  if (request->lease_id().empty()) {
    return FinishNow(absl::InvalidArgumentError("lease_id is empty"));
  }
  pool::ReleaseMode mode;
  switch (request->mode()) {
    case v1::RELEASE_MODE_RESET_UNSPECIFIED:
      mode = pool::ReleaseMode::kReset;
      break;
    case v1::RELEASE_MODE_KEEP:
      mode = pool::ReleaseMode::kKeep;
      break;
    case v1::RELEASE_MODE_RECYCLE:
      mode = pool::ReleaseMode::kRecycle;
      break;
    default:
      return FinishNow(
          absl::InvalidArgumentError(absl::StrCat("unknown release mode ", request->mode())));
  }
  return FinishNow(pool_.Release(pool::LeaseId(request->lease_id()), mode));
}

template <typename Response>
grpc::ServerUnaryReactor* BrowserPoolService::RunCommand(grpc::CallbackServerContext* context,
                                                         const std::string& lease_id,
                                                         std::string method, nlohmann::json params,
                                                         absl::Duration timeout, Response* response,
                                                         Fill<Response> fill) {
  if (lease_id.empty()) return FinishNow(absl::InvalidArgumentError("lease_id is empty"));
  absl::StatusOr<pool::LeaseUse> use = pool_.Use(pool::LeaseId(lease_id));
  if (!use.ok()) return FinishNow(use.status());
  absl::Time deadline = std::min(CallDeadline(*context), absl::Now() + timeout);
  // The extension bounds its own wait a little earlier, so that a slow page
  // comes back as the extension's precise error rather than a bare timeout.
  params["timeout_ms"] = std::max<int64_t>(1, Millis(deadline - absl::Now()) - 50);
  auto call = UnaryCall::Create();
  pool::Window& window = use->window();
  absl::Time started = absl::Now();
  window.Call(
      method, params.dump(), deadline,
      [call, response, method, started, use = *std::move(use),
       fill = std::move(fill)](absl::StatusOr<std::string> result) mutable {
        spdlog::debug("{} finished in {}: {}", method, absl::FormatDuration(absl::Now() - started),
                      result.status().ToString());
        call->TryFinish([&]() -> grpc::Status {
          if (!result.ok()) return ToGrpcStatus(result.status());
          nlohmann::json json = nlohmann::json::parse(*result, nullptr, false);
          if (json.is_discarded()) {
            return ToGrpcStatus(absl::InternalError("the window answered with invalid JSON"));
          }
          return ToGrpcStatus(std::move(fill)(json, response));
        });
      });
  return call.get();
}

grpc::ServerUnaryReactor* BrowserPoolService::Navigate(grpc::CallbackServerContext* context,
                                                       const v1::NavigateRequest* request,
                                                       v1::NavigateResponse* response) {
  if (absl::Status s = CheckUrl(request->url()); !s.ok()) return FinishNow(s);
  absl::StatusOr<absl::Duration> timeout = OptionalTimeout(
      request->has_timeout(), request->timeout(), options_.default_command_timeout, "timeout");
  if (!timeout.ok()) return FinishNow(timeout.status());
  return RunCommand<v1::NavigateResponse>(
      context, request->lease_id(), "navigate", {{"url", request->url()}}, *timeout, response,
      [](const nlohmann::json& result, v1::NavigateResponse* out) {
        out->set_url(Text(result, "url"));
        out->set_title(Text(result, "title"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BrowserPoolService::GetTitle(grpc::CallbackServerContext* context,
                                                       const v1::GetTitleRequest* request,
                                                       v1::GetTitleResponse* response) {
  return RunCommand<v1::GetTitleResponse>(
      context, request->lease_id(), "title", nlohmann::json::object(),
      options_.default_command_timeout, response,
      [](const nlohmann::json& result, v1::GetTitleResponse* out) {
        out->set_title(Text(result, "title"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BrowserPoolService::GetUrl(grpc::CallbackServerContext* context,
                                                     const v1::GetUrlRequest* request,
                                                     v1::GetUrlResponse* response) {
  return RunCommand<v1::GetUrlResponse>(context, request->lease_id(), "url",
                                        nlohmann::json::object(), options_.default_command_timeout,
                                        response,
                                        [](const nlohmann::json& result, v1::GetUrlResponse* out) {
                                          out->set_url(Text(result, "url"));
                                          return absl::OkStatus();
                                        });
}

grpc::ServerUnaryReactor* BrowserPoolService::GetContent(grpc::CallbackServerContext* context,
                                                         const v1::GetContentRequest* request,
                                                         v1::GetContentResponse* response) {
  return RunCommand<v1::GetContentResponse>(
      context, request->lease_id(), "content", nlohmann::json::object(),
      options_.default_command_timeout, response,
      [](const nlohmann::json& result, v1::GetContentResponse* out) {
        out->set_html(Text(result, "html"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BrowserPoolService::Evaluate(grpc::CallbackServerContext* context,
                                                       const v1::EvaluateRequest* request,
                                                       v1::EvaluateResponse* response) {
  if (request->expression().empty()) {
    return FinishNow(absl::InvalidArgumentError("expression is empty"));
  }
  if (request->expression().size() > options_.max_script_bytes) {
    return FinishNow(absl::InvalidArgumentError(
        absl::StrCat("expression has ", request->expression().size(), " bytes; the limit is ",
                     options_.max_script_bytes)));
  }
  nlohmann::json args = nlohmann::json::array();
  if (!request->args_json().empty()) {
    args = nlohmann::json::parse(request->args_json(), nullptr, false);
    if (args.is_discarded() || !args.is_array()) {
      return FinishNow(absl::InvalidArgumentError("args_json must be a JSON array"));
    }
  }
  absl::StatusOr<absl::Duration> timeout = OptionalTimeout(
      request->has_timeout(), request->timeout(), options_.default_command_timeout, "timeout");
  if (!timeout.ok()) return FinishNow(timeout.status());
  return RunCommand<v1::EvaluateResponse>(
      context, request->lease_id(), "evaluate",
      {{"expression", request->expression()}, {"args", std::move(args)}}, *timeout, response,
      [](const nlohmann::json& result, v1::EvaluateResponse* out) {
        out->set_result_json(Text(result, "json"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BrowserPoolService::Screenshot(grpc::CallbackServerContext* context,
                                                         const v1::ScreenshotRequest* request,
                                                         v1::ScreenshotResponse* response) {
  if (request->format() != v1::IMAGE_FORMAT_PNG_UNSPECIFIED) {
    return FinishNow(absl::InvalidArgumentError("only PNG screenshots are supported"));
  }
  return RunCommand<v1::ScreenshotResponse>(
      context, request->lease_id(), "screenshot", nlohmann::json::object(),
      options_.default_command_timeout, response,
      [](const nlohmann::json& result, v1::ScreenshotResponse* out) {
        std::string image;
        if (!absl::Base64Unescape(Text(result, "base64"), &image)) {
          return absl::InternalError("the window sent a screenshot that is not base64");
        }
        absl::StatusOr<PngSize> size = ReadPngSize(image);
        if (!size.ok()) return size.status();
        out->set_format(v1::IMAGE_FORMAT_PNG_UNSPECIFIED);
        out->set_width(size->width);
        out->set_height(size->height);
        out->set_image(std::move(image));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BrowserPoolService::GetPoolStatus(grpc::CallbackServerContext* context,
                                                            const v1::GetPoolStatusRequest* request,
                                                            v1::GetPoolStatusResponse* response) {
  pool::PoolStatus status = pool_.Status();
  response->set_starting(status.starting);
  response->set_idle(status.idle);
  response->set_leased(status.leased);
  response->set_resetting(status.resetting);
  response->set_target_size(status.target_size);
  response->set_queue_depth(status.queue_depth);
  response->set_draining(status.draining);
  response->set_windows_failed_total(status.windows_failed_total);
  ToProto(status.oldest_waiter_age, response->mutable_oldest_waiter_age());
  ToProto(status.expected_wait, response->mutable_expected_wait());
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::ListLeases(grpc::CallbackServerContext* context,
                                                         const v1::ListLeasesRequest* request,
                                                         v1::ListLeasesResponse* response) {
  for (const pool::LeaseInfo& lease : pool_.Leases()) {
    v1::LeaseInfo* out = response->add_leases();
    out->set_lease_id_prefix(lease.lease.value().substr(0, 8));
    out->set_window_id(lease.window.ToString());
    out->mutable_labels()->insert(lease.labels.begin(), lease.labels.end());
    out->set_holder(lease.holder);
    ToProto(lease.age, out->mutable_age());
    ToProto(lease.idle_for, out->mutable_idle_for());
    ToProto(lease.idle_timeout, out->mutable_idle_timeout());
    out->set_commands_in_flight(lease.commands_in_flight);
  }
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::Revoke(grpc::CallbackServerContext* context,
                                                     const v1::RevokeRequest* request,
                                                     v1::RevokeResponse* response) {
  // Window ids read "w<N>"; anything else names no window.
  int64_t number = 0;
  const std::string& id = request->window_id();
  if (id.size() < 2 || id[0] != 'w' || !absl::SimpleAtoi(id.substr(1), &number) || number <= 0) {
    return FinishNow(absl::InvalidArgumentError("window_id must look like \"w3\""));
  }
  return FinishNow(pool_.Revoke(pool::WindowId(number)));
}

}  // namespace foxpool::server
