#include "server/browser_pool_service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/auth.h"
#include "server/grpc_status.h"
#include "server/unary_call.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

// Who a Session stream counts against: the authenticated principal, else
// the client's address without its port ("ipv4:10.0.0.7").
std::string PeerKey(const Caller& caller, const grpc::CallbackServerContext& context) {
  if (!caller.principal.empty()) return "principal:" + caller.principal;
  std::string peer = context.peer();
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    peer = peer.substr(0, peer.rfind(':'));
  }
  return peer;
}

constexpr size_t kMaxLabels = 16;
constexpr size_t kMaxLabelKey = 63;
constexpr size_t kMaxLabelValue = 255;
constexpr size_t kMaxRequestId = 128;
// Grants with less time than this before the caller's deadline are not sent.
constexpr absl::Duration kGrantMargin = absl::Milliseconds(5);

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

// Who is calling (server/auth.h); everyone is the anonymous admin when
// authentication is off.
absl::StatusOr<Caller> CallerOf(const ServiceOptions& options,
                                const grpc::CallbackServerContext& context) {
  if (options.authenticator == nullptr) return Caller{.principal = "", .admin = true};
  return options.authenticator->Authenticate(context);
}

}  // namespace

BrowserPoolService::BrowserPoolService(pool::Pool& pool, ServiceOptions options,
                                       firefox::ProfileStore* profiles)
    : pool_(pool), options_(options), profiles_(profiles) {}

absl::StatusOr<pool::AcquireOptions> AcquireOptionsFrom(const v1::AcquireRequest& request,
                                                        absl::Time call_deadline,
                                                        std::string holder, const Caller& caller) {
  if (absl::Status s = CheckLabels(request.labels()); !s.ok()) return s;
  pool::AcquireOptions options;
  options.deadline = call_deadline;
  if (request.has_max_wait()) {
    absl::Duration max_wait = FromProto(request.max_wait());
    if (max_wait < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("max_wait must not be negative");
    }
    options.deadline = std::min(options.deadline, absl::Now() + max_wait);
  }
  if (request.has_idle_timeout()) {
    absl::Duration idle = FromProto(request.idle_timeout());
    if (idle <= absl::ZeroDuration())
      return absl::InvalidArgumentError("idle_timeout must be positive");
    options.idle_timeout = idle;
  }
  if (request.request_id().size() > kMaxRequestId) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id has more than ", kMaxRequestId, " bytes"));
  }
  options.request_id = request.request_id();
  options.fail_fast = request.fail_fast();
  if (request.has_dialogs()) {
    if (absl::Status s = RequestParams(request.dialogs()).status(); !s.ok()) return s;
  }
  if (!request.profile().empty()) {
    if (absl::Status s = firefox::ProfileStore::CheckName(request.profile()); !s.ok()) return s;
    options.profile = ProfileNameFor(caller.principal, request.profile());
    if (!firefox::ProfileStore::CheckName(options.profile).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "profile names have at most ", 64 - (options.profile.size() - request.profile().size()),
          " characters when the server authenticates callers"));
    }
  }
  options.labels.insert(request.labels().begin(), request.labels().end());
  options.holder =
      caller.principal.empty() ? std::move(holder) : absl::StrCat(caller.principal, " ", holder);
  options.principal = caller.principal;
  return options;
}

void FillAcquireResponse(const pool::Grant& grant, v1::AcquireResponse* response) {
  response->set_lease_id(grant.lease.value());
  response->set_window_id(grant.window.ToString());
  ToProto(grant.waited, response->mutable_waited());
  ToProto(grant.idle_timeout, response->mutable_idle_timeout());
}

pool::Pool::AcquireDone ConfigureOnGrant(pool::Pool& pool, const v1::AcquireRequest& request,
                                         pool::Pool::AcquireDone deliver, std::string principal) {
  if (!request.has_dialogs()) return deliver;
  static constexpr absl::Duration kTimeout = absl::Seconds(5);
  // AcquireOptionsFrom has checked that the policy has params.
  nlohmann::json params = {{"policy", *RequestParams(request.dialogs())},
                           {"timeout_ms", absl::ToInt64Milliseconds(kTimeout)}};
  return [&pool, params = std::move(params), deliver = std::move(deliver),
          principal = std::move(principal)](absl::StatusOr<pool::Grant> grant) mutable {
    if (!grant.ok()) {
      std::move(deliver)(std::move(grant));
      return;
    }
    absl::StatusOr<pool::LeaseUse> use = pool.Use(grant->lease, principal);
    if (!use.ok()) {
      std::move(deliver)(use.status());
      return;
    }
    pool::Window& window = use->window();
    window.Call(
        kSetDialogPolicy.method, params.dump(), absl::Now() + kTimeout,
        [&pool, use = *std::move(use), grant = *std::move(grant), deliver = std::move(deliver),
         principal](absl::StatusOr<std::string> result) mutable {
          use.End();
          if (result.ok()) {
            std::move(deliver)(std::move(grant));
            return;
          }
          (void)pool.Release(grant.lease, pool::ReleaseMode::kReset, principal);
          std::move(deliver)(absl::Status(result.status().code(),
                                          absl::StrCat("could not set the lease's dialog policy: ",
                                                       result.status().message())));
        });
  };
}

grpc::ServerUnaryReactor* BrowserPoolService::Acquire(grpc::CallbackServerContext* context,
                                                      const v1::AcquireRequest* request,
                                                      v1::AcquireResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  absl::StatusOr<pool::AcquireOptions> options =
      AcquireOptionsFrom(*request, CallDeadline(*context), context->peer(), *caller);
  if (!options.ok()) return FinishNow(options.status());
  auto call = UnaryCall::Create(context);
  pool::Pool::WaitTicket ticket = pool_.Acquire(
      *std::move(options),
      ConfigureOnGrant(
          pool_, *request,
          [this, call, context, response,
           principal = caller->principal](absl::StatusOr<pool::Grant> grant) {
            bool too_late = false;
            bool finished = call->TryFinish([&]() -> grpc::Status {
              if (!grant.ok()) {
                AddRetryHint(grant.status(), *context);
                return ToGrpcStatus(grant.status());
              }
              // A grant sent moments before the caller's deadline may arrive
              // after the caller gave up: keep the window instead.
              if (CallDeadline(*context) - absl::Now() < kGrantMargin) {
                too_late = true;
                return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                    "a window came free as the deadline passed");
              }
              FillAcquireResponse(*grant, response);
              // If the answer still did not reach the caller (cancelled, reset
              // connection, deadline), nobody holds the lease: take it back.
              call->OnFinished([this, lease = grant->lease, principal](bool cancelled) {
                if (!cancelled) return;
                spdlog::info("lease {} was never delivered: returning its window",
                             lease.value().substr(0, 8));
                (void)pool_.Release(lease, pool::ReleaseMode::kKeep, principal);
              });
              return grpc::Status::OK;
            });
            // Whenever the caller did not get the grant, the window goes
            // straight back (untouched, so without a reset), never into a lease
            // nobody holds.
            if ((!finished || too_late) && grant.ok()) {
              (void)pool_.Release(grant->lease, pool::ReleaseMode::kKeep, principal);
            }
          },
          caller->principal));
  call->OnCancelled([this, ticket] { pool_.CancelWait(ticket); });
  return call.get();
}

grpc::ServerUnaryReactor* BrowserPoolService::Renew(grpc::CallbackServerContext* context,
                                                    const v1::RenewRequest* request,
                                                    v1::RenewResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  if (request->lease_id().empty()) {
    return FinishNow(absl::InvalidArgumentError("lease_id is empty"));
  }
  absl::StatusOr<absl::Duration> idle =
      pool_.Renew(pool::LeaseId(request->lease_id()), caller->principal);
  if (!idle.ok()) return FinishNow(idle.status());
  ToProto(*idle, response->mutable_idle_timeout());
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::Release(grpc::CallbackServerContext* context,
                                                      const v1::ReleaseRequest* request,
                                                      v1::ReleaseResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
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
  return FinishNow(pool_.Release(pool::LeaseId(request->lease_id()), mode, caller->principal));
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* BrowserPoolService::Unary(grpc::CallbackServerContext* context,
                                                    const Command<Request, Response>& command,
                                                    const Request& request, Response* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  auto call = UnaryCall::Create();
  StartCommand(
      pool_, options_, command, request, CallDeadline(*context),
      [call, response](absl::StatusOr<Response> result) {
        call->TryFinish([&]() -> grpc::Status {
          if (!result.ok()) return ToGrpcStatus(result.status());
          *response = *std::move(result);
          return grpc::Status::OK;
        });
      },
      caller->principal);
  return call.get();
}

#define FOXPOOL_DEFINE_RPC(Name, field, Request, Response)                                        \
  grpc::ServerUnaryReactor* BrowserPoolService::Name(                                             \
      grpc::CallbackServerContext* context, const v1::Request* request, v1::Response* response) { \
    return Unary(context, k##Name, *request, response);                                           \
  }
FOXPOOL_COMMANDS(FOXPOOL_DEFINE_RPC)
#undef FOXPOOL_DEFINE_RPC

grpc::ServerUnaryReactor* BrowserPoolService::GetPoolStatus(grpc::CallbackServerContext* context,
                                                            const v1::GetPoolStatusRequest* request,
                                                            v1::GetPoolStatusResponse* response) {
  if (absl::StatusOr<Caller> caller = CallerOf(options_, *context); !caller.ok()) {
    return FinishNow(caller.status());
  }
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

grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse>* BrowserPoolService::Session(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) {
    return new RefusedStream<v1::SessionRequest, v1::SessionResponse>(
        ToGrpcStatus(caller.status()));
  }
  std::string peer = PeerKey(*caller, *context);
  {
    absl::MutexLock lock(&streams_mu_);
    if (int& open = streams_per_peer_[peer]; open < options_.max_streams_per_peer) {
      ++open;
    } else {
      return new RefusedStream<v1::SessionRequest, v1::SessionResponse>(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       absl::StrCat("this caller already has ", open,
                                    " Session streams open (--max_streams_per_peer)")));
    }
  }
  std::shared_ptr<SessionStream> stream = SessionStream::Start(
      pool_, options_, context,
      [this, peer](SessionStream* gone) {
        absl::MutexLock lock(&streams_mu_);
        streams_.erase(gone);
        if (--streams_per_peer_[peer] == 0) streams_per_peer_.erase(peer);
      },
      *std::move(caller));
  {
    absl::MutexLock lock(&streams_mu_);
    streams_.emplace(stream.get(), stream);
  }
  stream->Begin();
  return stream.get();
}

void BrowserPoolService::NotifyDraining(absl::Duration time_left) {
  std::vector<std::shared_ptr<SessionStream>> streams;
  {
    absl::MutexLock lock(&streams_mu_);
    for (const auto& [raw, weak] : streams_) {
      if (auto stream = weak.lock()) streams.push_back(std::move(stream));
    }
  }
  v1::SessionNotice notice;
  notice.set_kind(v1::SessionNotice::KIND_DRAINING);
  notice.set_message("the server is shutting down: finish your work and close the stream");
  ToProto(time_left, notice.mutable_time_left());
  for (auto& stream : streams) stream->Notify(notice);
}

grpc::ServerUnaryReactor* BrowserPoolService::Drain(grpc::CallbackServerContext* context,
                                                    const v1::DrainRequest* request,
                                                    v1::DrainResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  const std::string& peer = context->peer();
  if (!caller->principal.empty()) {
    // Authenticated: admins may drain from anywhere, nobody else at all.
    if (!caller->admin) {
      return FinishNow(absl::PermissionDeniedError("only admin principals may drain the server"));
    }
  } else if (!absl::StartsWith(peer, "ipv4:127.") && !absl::StartsWith(peer, "ipv6:[::1]") &&
             !absl::StartsWith(peer, "unix:")) {
    return FinishNow(absl::PermissionDeniedError(
        absl::StrCat("only callers on this machine may drain the server, not ", peer)));
  }
  spdlog::info("Drain requested by {} {}", caller->principal, peer);
  // The same path as SIGTERM: the main thread waits for that signal.
  kill(getpid(), SIGTERM);
  ToProto(options_.drain_timeout, response->mutable_drain_timeout());
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::ListLeases(grpc::CallbackServerContext* context,
                                                         const v1::ListLeasesRequest* request,
                                                         v1::ListLeasesResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  for (const pool::LeaseInfo& lease : pool_.Leases()) {
    if (!caller->admin && lease.principal != caller->principal) continue;
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
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  // Window ids read "w<N>"; anything else names no window.
  int64_t number = 0;
  const std::string& id = request->window_id();
  if (id.size() < 2 || id[0] != 'w' || !absl::SimpleAtoi(id.substr(1), &number) || number <= 0) {
    return FinishNow(absl::InvalidArgumentError("window_id must look like \"w3\""));
  }
  return FinishNow(
      pool_.Revoke(pool::WindowId(number),
                   caller->admin ? std::nullopt : std::optional<std::string>(caller->principal)));
}

}  // namespace foxpool::server

namespace foxpool::server {

grpc::ServerUnaryReactor* BrowserPoolService::ListProfiles(grpc::CallbackServerContext* context,
                                                           const v1::ListProfilesRequest* request,
                                                           v1::ListProfilesResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  if (profiles_ != nullptr) {
    for (const firefox::ProfileStore::Info& info : profiles_->List()) {
      // Each principal sees its own profiles, by the names it gave them.
      std::optional<std::string> name = ProfileNameOf(caller->principal, info.name);
      if (!name.has_value()) continue;
      v1::ProfileInfo* out = response->add_profiles();
      out->set_name(*name);
      out->set_size_bytes(static_cast<int64_t>(info.size_bytes));
      out->set_has_snapshot(info.has_snapshot);
      out->set_in_use(info.in_use);
      out->mutable_last_used()->set_seconds(absl::ToUnixSeconds(info.last_used));
    }
  }
  return FinishNow(absl::OkStatus());
}

grpc::ServerUnaryReactor* BrowserPoolService::DeleteProfile(grpc::CallbackServerContext* context,
                                                            const v1::DeleteProfileRequest* request,
                                                            v1::DeleteProfileResponse* response) {
  absl::StatusOr<Caller> caller = CallerOf(options_, *context);
  if (!caller.ok()) return FinishNow(caller.status());
  if (profiles_ == nullptr) {
    return FinishNow(absl::FailedPreconditionError("persistent profiles are off"));
  }
  return FinishNow(profiles_->Delete(ProfileNameFor(caller->principal, request->name())));
}

}  // namespace foxpool::server
