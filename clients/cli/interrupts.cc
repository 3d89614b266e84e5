#include "clients/cli/interrupts.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>
#include <utility>

namespace foxpool::cli {
namespace {

sigset_t InterruptSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void CallCanceller::Add(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) context->TryCancel();
  calls_.insert(context);
}

void CallCanceller::Remove(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  calls_.erase(context);
}

void CallCanceller::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* context : calls_) context->TryCancel();
}

Interrupts::Interrupts() {
  sigset_t signals = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  watcher_ = std::thread([this] { Watch(); });
}

Interrupts::~Interrupts() {
  stop_ = true;
  watcher_.join();
}

void Interrupts::SetHook(Hook hook) {
  absl::MutexLock lock(&hook_mu_);
  hook_ = std::move(hook);
}

int Interrupts::count() const {
  absl::MutexLock lock(&mu_);
  return count_;
}

absl::Time Interrupts::first_at() const {
  absl::MutexLock lock(&mu_);
  return first_at_;
}

bool Interrupts::WaitForInterrupt(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto interrupted = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ > 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&interrupted), timeout);
}

void Interrupts::Watch() {
  sigset_t signals = InterruptSignals();
  // Polls, so that the destructor can stop the thread without a signal.
  const timespec poll = {0, 100'000'000};
  while (!stop_) {
    if (sigtimedwait(&signals, nullptr, &poll) < 0) continue;  // EAGAIN, EINTR.
    int count;
    {
      absl::MutexLock lock(&mu_);
      if (++count_ == 1) first_at_ = absl::Now();
      count = count_;
    }
    absl::MutexLock lock(&hook_mu_);
    if (hook_) {
      hook_(count);
    } else {
      calls_.CancelAll();
    }
  }
}

}  // namespace foxpool::cli
