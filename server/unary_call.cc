#include "server/unary_call.h"

#include <utility>

namespace foxpool::server {

std::shared_ptr<UnaryCall> UnaryCall::Create(grpc::CallbackServerContext* context) {
  std::shared_ptr<UnaryCall> call(new UnaryCall(context));
  call->self_ = call;
  return call;
}

bool UnaryCall::TryFinish(absl::AnyInvocable<grpc::Status() &&> fill) {
  if (finished_.exchange(true)) return false;
  Finish(std::move(fill)());
  return true;
}

bool UnaryCall::TryFinish(grpc::Status status) {
  return TryFinish([status = std::move(status)]() mutable { return std::move(status); });
}

void UnaryCall::OnCancelled(std::function<void()> hook) {
  bool run_now;
  {
    absl::MutexLock lock(&mu_);
    run_now = cancelled_;
    if (!run_now) cancel_hook_ = hook;
  }
  if (run_now) hook();
}

void UnaryCall::OnCancel() {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    hook = std::move(cancel_hook_);
  }
  if (hook) hook();
  TryFinish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
}

void UnaryCall::OnFinished(std::function<void(bool cancelled)> hook) {
  absl::MutexLock lock(&mu_);
  finished_hook_ = std::move(hook);
}

void UnaryCall::OnDone() {
  std::function<void(bool)> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = std::move(finished_hook_);
  }
  if (hook) hook(context_ != nullptr && context_->IsCancelled());
  // gRPC is done with this reactor; callbacks still holding a reference
  // keep the object (not the call) alive.
  std::shared_ptr<UnaryCall> self = std::move(self_);
}

}  // namespace foxpool::server
