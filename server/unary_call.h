#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace foxpool::server {

// A unary reactor that finishes exactly once, from whichever completion
// comes first: the result, the call's cancellation (client gone, deadline
// passed, server shutting down), or an error found up front.
//
// Shared ownership keeps it alive for callbacks that outlive the RPC: gRPC's
// reference is dropped in OnDone, the callbacks' when they run. Whoever wins
// TryFinish writes the response and finishes; everyone else leaves the
// response alone (after OnDone it is gone). Thread-safe.
class UnaryCall : public grpc::ServerUnaryReactor, public std::enable_shared_from_this<UnaryCall> {
 public:
  // `context` is needed only by OnFinished hooks that ask whether the
  // status reached the client.
  static std::shared_ptr<UnaryCall> Create(grpc::CallbackServerContext* context = nullptr);

  // Runs `fill` (which writes the response and returns the status) and
  // finishes, unless the call has already been finished. True if it did.
  bool TryFinish(absl::AnyInvocable<grpc::Status() &&> fill);
  bool TryFinish(grpc::Status status);

  // Runs `hook` when the call is cancelled (now, if it already was).
  void OnCancelled(std::function<void()> hook);

  // Runs `hook` once the RPC is over, with whether it failed before its
  // status reached the client (ServerContext::IsCancelled). Set it before
  // finishing.
  void OnFinished(std::function<void(bool cancelled)> hook);

  void OnCancel() override;
  void OnDone() override;

 private:
  explicit UnaryCall(grpc::CallbackServerContext* context) : context_(context) {}

  grpc::CallbackServerContext* const context_;

  std::atomic<bool> finished_{false};
  std::shared_ptr<UnaryCall> self_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(mu_);
  std::function<void(bool)> finished_hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::server
