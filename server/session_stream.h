#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "pool/pool.h"
#include "server/auth.h"
#include "server/commands.h"

namespace foxpool::server {

// One `Session` stream: acquires on its first message, runs later messages
// as commands on that lease in order, and releases the lease when the
// stream ends, however it ends.
//
// Reads are sequential: the next message is read only once the previous
// command's result is queued, which keeps commands in order and bounds
// memory. Writes go through a queue with one write in flight. Shared
// ownership keeps the object alive for pool and window callbacks that
// outlive the RPC; after Finish nothing touches the stream. Thread-safe.
class SessionStream : public grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse>,
                      public std::enable_shared_from_this<SessionStream> {
 public:
  using OnGone = std::function<void(SessionStream*)>;

  // The stream's lease is `caller`'s (server/auth.h).
  static std::shared_ptr<SessionStream> Start(pool::Pool& pool, const ServiceOptions& options,
                                              grpc::CallbackServerContext* context, OnGone on_gone,
                                              Caller caller = {});

  // Starts reading; call once, after registering the stream.
  void Begin();

  // Queues a notice to the client (no-op once the stream is ending).
  void Notify(v1::SessionNotice notice);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  enum class State { kAwaitingAcquire, kWaiting, kLeased, kEnding };

  SessionStream(pool::Pool& pool, const ServiceOptions& options,
                grpc::CallbackServerContext* context, OnGone on_gone, Caller caller);
  void HandleAcquire(const v1::AcquireRequest& request);
  void OnGranted(absl::StatusOr<pool::Grant> grant);
  void HandleCommand(const v1::SessionCommand& command);
  // An event from the leased window (SessionEvent as JSON).
  void OnWindowEvent(const std::string& json);
  static constexpr size_t kMaxQueuedEvents = 1000;
  // Queues a response and, optionally, reads the next message after it.
  void Send(v1::SessionResponse response, bool then_read);
  // Ends the lease (or the wait) and finishes once queued writes are out.
  void End(grpc::Status status);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  pool::Pool& pool_;
  const ServiceOptions& options_;
  grpc::CallbackServerContext* const context_;
  OnGone on_gone_;
  const Caller caller_;
  v1::SessionRequest request_;  // The read buffer; one read at a time.
  // The event kinds the holder asked for; set before the lease is granted.
  absl::flat_hash_set<int> events_;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kAwaitingAcquire;
  pool::Pool::WaitTicket ticket_ ABSL_GUARDED_BY(mu_) = 0;
  pool::LeaseId lease_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::SessionResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SessionStream> self_;
};

}  // namespace foxpool::server
