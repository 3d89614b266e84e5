#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"

namespace foxpool::cli {

// The gRPC calls in flight that an interrupt may cancel. Thread-safe.
class CallCanceller {
 public:
  // A call about to start. Once CancelAll has run, it is cancelled at once
  // (it then fails CANCELLED without being sent).
  void Add(grpc::ClientContext* context);
  void Remove(grpc::ClientContext* context);
  // Cancels every call in flight and every later one.
  void CancelAll();

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Registers a call with a CallCanceller for as long as it lives.
class ScopedCall {
 public:
  ScopedCall(CallCanceller& canceller, grpc::ClientContext* context)
      : canceller_(canceller), context_(context) {
    canceller_.Add(context_);
  }
  ~ScopedCall() { canceller_.Remove(context_); }
  ScopedCall(const ScopedCall&) = delete;
  ScopedCall& operator=(const ScopedCall&) = delete;

 private:
  CallCanceller& canceller_;
  grpc::ClientContext* const context_;
};

// What SIGINT and SIGTERM do to a foxpool command: rather than killing the
// process (which would leave leases held until they expire), each signal is
// counted and handed to a hook, by default one that cancels every call in
// flight so that the command can release its lease and exit 130.
//
// Construct it first in main, before any thread starts: it blocks the two
// signals in the calling thread, and so in every thread started later
// (gRPC's included), and waits for them on a thread of its own. The hook
// runs on that thread; the other members are thread-safe.
class Interrupts {
 public:
  using Hook = std::function<void(int count)>;

  Interrupts();
  ~Interrupts();
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // Replaces the hook; an empty one restores the default.
  void SetHook(Hook hook);

  // Signals received so far, and when the first one came.
  int count() const;
  absl::Time first_at() const;

  // Waits up to `timeout` for a signal; true if one has come.
  bool WaitForInterrupt(absl::Duration timeout) const;

  CallCanceller& calls() { return calls_; }

 private:
  void Watch();

  CallCanceller calls_;
  // Held while the hook runs, so that once SetHook returns the old hook is
  // not running and never will.
  absl::Mutex hook_mu_;
  Hook hook_ ABSL_GUARDED_BY(hook_mu_);
  mutable absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time first_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace foxpool::cli
