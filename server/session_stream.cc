#include "server/session_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/browser_pool_service.h"
#include "server/grpc_status.h"

namespace foxpool::server {
namespace {

// Puts a command's outcome into a result: its status, and on success the
// response in the oneof member `set` writes.
template <typename Response>
v1::SessionResponse ResultOf(uint64_t id, absl::StatusOr<Response> outcome,
                             void (*set)(v1::SessionResult*, Response&&)) {
  v1::SessionResponse out;
  v1::SessionResult* result = out.mutable_result();
  result->set_id(id);
  if (!outcome.ok()) {
    result->set_code(static_cast<int32_t>(outcome.status().code()));
    result->set_message(std::string(outcome.status().message()));
  } else {
    set(result, *std::move(outcome));
  }
  return out;
}

}  // namespace

std::shared_ptr<SessionStream> SessionStream::Start(pool::Pool& pool, const ServiceOptions& options,
                                                    grpc::CallbackServerContext* context,
                                                    OnGone on_gone, Caller caller) {
  std::shared_ptr<SessionStream> stream(
      new SessionStream(pool, options, context, std::move(on_gone), std::move(caller)));
  stream->self_ = stream;
  return stream;
}

void SessionStream::Begin() { StartRead(&request_); }

SessionStream::SessionStream(pool::Pool& pool, const ServiceOptions& options,
                             grpc::CallbackServerContext* context, OnGone on_gone, Caller caller)
    : pool_(pool),
      options_(options),
      context_(context),
      on_gone_(std::move(on_gone)),
      caller_(std::move(caller)) {}

void SessionStream::OnReadDone(bool ok) {
  if (!ok) {
    // The client closed its side (or is gone): the lease ends with it.
    End(grpc::Status::OK);
    return;
  }
  State state;
  {
    absl::MutexLock lock(&mu_);
    state = state_;
  }
  if (state == State::kAwaitingAcquire) {
    if (!request_.has_acquire()) {
      End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "the first message of a Session must be acquire"));
      return;
    }
    HandleAcquire(request_.acquire());
  } else if (state == State::kLeased) {
    if (!request_.has_command()) {
      End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "only the first message of a Session may be acquire"));
      return;
    }
    HandleCommand(request_.command());
  }
}

void SessionStream::HandleAcquire(const v1::AcquireRequest& request) {
  absl::StatusOr<pool::AcquireOptions> options =
      AcquireOptionsFrom(request, CallDeadline(*context_), context_->peer(), caller_);
  if (!options.ok()) {
    End(ToGrpcStatus(options.status()));
    return;
  }
  options->held_by_stream = true;
  for (int kind : request.events()) events_.insert(kind);
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kWaiting;
  }
  pool::Pool::WaitTicket ticket = pool_.Acquire(
      *std::move(options), ConfigureOnGrant(
                               pool_, request,
                               [self = shared_from_this()](absl::StatusOr<pool::Grant> grant) {
                                 self->OnGranted(std::move(grant));
                               },
                               caller_.principal));
  bool ended_while_waiting;
  {
    absl::MutexLock lock(&mu_);
    ticket_ = ticket;
    ended_while_waiting = state_ == State::kEnding && lease_.empty();
  }
  // Cancelled before the ticket was known: withdraw it now. If a window was
  // granted meanwhile, OnGranted hands it back.
  if (ended_while_waiting) pool_.CancelWait(ticket);
}

void SessionStream::OnGranted(absl::StatusOr<pool::Grant> grant) {
  bool stream_gone;
  {
    absl::MutexLock lock(&mu_);
    stream_gone = state_ != State::kWaiting;
    if (!stream_gone && grant.ok()) {
      lease_ = grant->lease;
      state_ = State::kLeased;
    } else if (!stream_gone) {
      // Under the lock: nobody can finish the stream (and free the
      // context) until the hint is added.
      AddRetryHint(grant.status(), *context_);
    }
  }
  if (stream_gone) {
    // The stream ended while it waited: the window goes straight back,
    // untouched, so without a reset.
    if (grant.ok()) (void)pool_.Release(grant->lease, pool::ReleaseMode::kKeep, caller_.principal);
    return;
  }
  if (!grant.ok()) {
    End(ToGrpcStatus(grant.status()));
    return;
  }
  // What happens in the window reaches the holder while the stream lasts,
  // if it asked for it.
  absl::StatusOr<pool::LeaseUse> use = events_.empty()
                                           ? absl::StatusOr<pool::LeaseUse>(absl::CancelledError())
                                           : pool_.Use(grant->lease, caller_.principal);
  if (use.ok()) {
    std::weak_ptr<SessionStream> weak = weak_from_this();
    use->window().SetEventSink([weak](std::string json) {
      if (auto self = weak.lock()) self->OnWindowEvent(json);
    });
  }
  v1::SessionResponse response;
  FillAcquireResponse(*grant, response.mutable_acquired());
  Send(std::move(response), /*then_read=*/true);
}

void SessionStream::OnWindowEvent(const std::string& json) {
  v1::SessionResponse response;
  if (!FillResponse(json, response.mutable_event()).ok() ||
      !events_.contains(response.event().kind())) {
    return;  // Not asked for, or not an event this server knows how to read.
  }
  {
    // A client that does not read its stream must not make the server
    // hoard its window's console output: beyond this, events are dropped.
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= kMaxQueuedEvents) return;
  }
  Send(std::move(response), /*then_read=*/false);
}

void SessionStream::HandleCommand(const v1::SessionCommand& command) {
  std::string lease;
  {
    absl::MutexLock lock(&mu_);
    lease = lease_.value();
  }
  uint64_t id = command.id();
  absl::Time deadline = CallDeadline(*context_);
  auto self = shared_from_this();
  // Runs one command spec on the stream's lease and answers with its result.
  auto run = [&]<typename Request, typename Response>(
                 const Command<Request, Response>& spec, Request request,
                 void (*set)(v1::SessionResult*, Response &&)) {
    request.set_lease_id(lease);
    StartCommand(
        pool_, options_, spec, request, deadline,
        [self, id, set](absl::StatusOr<Response> outcome) {
          self->Send(ResultOf(id, std::move(outcome), set), /*then_read=*/true);
        },
        caller_.principal);
  };
  switch (command.command_case()) {
#define FOXPOOL_SESSION_CASE(Name, field, Request, Response)                        \
  case v1::SessionCommand::k##Name:                                                 \
    run(                                                                            \
        k##Name, command.field(), +[](v1::SessionResult* r, v1::Response&& value) { \
          *r->mutable_##field() = std::move(value);                                 \
        });                                                                         \
    break;
    FOXPOOL_COMMANDS(FOXPOOL_SESSION_CASE)
#undef FOXPOOL_SESSION_CASE
    default: {
      v1::SessionResponse out;
      out.mutable_result()->set_id(id);
      out.mutable_result()->set_code(grpc::StatusCode::INVALID_ARGUMENT);
      out.mutable_result()->set_message("the command is empty or unknown to this server");
      Send(std::move(out), /*then_read=*/true);
    }
  }
}

void SessionStream::Notify(v1::SessionNotice notice) {
  v1::SessionResponse response;
  *response.mutable_notice() = std::move(notice);
  Send(std::move(response), /*then_read=*/false);
}

void SessionStream::Send(v1::SessionResponse response, bool then_read) {
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || state_ == State::kEnding) return;
    queue_.push_back(std::move(response));
    if (!writing_) WriteNextLocked();
    read = then_read && state_ == State::kLeased;
  }
  if (read) StartRead(&request_);
}

void SessionStream::WriteNextLocked() {
  writing_ = true;
  StartWrite(&queue_.front());
}

void SessionStream::OnWriteDone(bool ok) {
  bool broken = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) {
      queue_.clear();
      broken = state_ != State::kEnding;
    }
    if (!queue_.empty()) {
      WriteNextLocked();
    } else if (state_ == State::kEnding && !finished_) {
      finished_ = true;
      Finish(final_status_);
    }
  }
  if (broken) End(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
}

void SessionStream::OnCancel() {
  End(grpc::Status(grpc::StatusCode::CANCELLED, "the Session was cancelled"));
}

void SessionStream::End(grpc::Status status) {
  State was;
  pool::LeaseId lease;
  pool::Pool::WaitTicket ticket;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kEnding) return;
    was = state_;
    state_ = State::kEnding;
    final_status_ = std::move(status);
    lease = lease_;
    ticket = ticket_;
  }
  if (was == State::kWaiting && ticket != 0) pool_.CancelWait(ticket);
  if (was == State::kLeased) {
    if (absl::StatusOr<pool::LeaseUse> use = pool_.Use(lease, caller_.principal); use.ok()) {
      use->window().SetEventSink(nullptr);
    }
    (void)pool_.Release(lease, pool::ReleaseMode::kReset, caller_.principal);
  }
  absl::MutexLock lock(&mu_);
  if (!writing_ && !finished_) {
    finished_ = true;
    Finish(final_status_);
  }
}

void SessionStream::OnDone() {
  if (on_gone_) on_gone_(this);
  std::shared_ptr<SessionStream> self = std::move(self_);
}

}  // namespace foxpool::server
