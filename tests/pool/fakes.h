#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "pool/pool.h"
#include "pool/scheduler.h"
#include "pool/window.h"

namespace foxpool::pool::testing {

// A manual clock: timers run only when the test advances time, in due order.
class FakeScheduler : public Scheduler {
 public:
  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) override {
    absl::MutexLock lock(&mu_);
    timers_.emplace(std::make_pair(now_ + delay, next_++), std::move(fn));
  }

  // Moves the clock forward, running every timer that falls due (including
  // timers those timers set), each with the clock at its due time.
  void Advance(absl::Duration by) {
    absl::Time until;
    {
      absl::MutexLock lock(&mu_);
      until = now_ + by;
    }
    for (;;) {
      absl::AnyInvocable<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        if (timers_.empty() || timers_.begin()->first.first > until) {
          now_ = until;
          return;
        }
        auto it = timers_.begin();
        now_ = std::max(now_, it->first.first);
        fn = std::move(it->second);
        timers_.erase(it);
      }
      fn();
    }
  }

  size_t pending() {
    absl::MutexLock lock(&mu_);
    return timers_.size();
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'000'000);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void()>> timers_
      ABSL_GUARDED_BY(mu_);
};

// A window whose resets the test completes by hand (or at once, when
// `auto_reset` is set).
class FakeWindow : public Window {
 public:
  explicit FakeWindow(WindowId id) : id_(id) {}

  void Call(std::string method, std::string params_json, absl::Time deadline,
            CallDone done) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(method);
    pending_calls_.push_back(std::move(done));
  }

  void Reset(absl::Time deadline, ResetDone done) override {
    ResetDone now;
    {
      absl::MutexLock lock(&mu_);
      ++resets_;
      if (auto_reset_) {
        now = std::move(done);
      } else {
        pending_resets_.push_back(std::move(done));
      }
    }
    if (now) std::move(now)(reset_result_);
  }

  void Close() override {
    absl::MutexLock lock(&mu_);
    ++closes_;
  }

  // Completes the oldest pending reset with `status`.
  void CompleteReset(absl::Status status = absl::OkStatus()) {
    ResetDone done;
    {
      absl::MutexLock lock(&mu_);
      done = std::move(pending_resets_.front());
      pending_resets_.erase(pending_resets_.begin());
    }
    std::move(done)(status);
  }

  void set_auto_reset(bool on, absl::Status result = absl::OkStatus()) {
    absl::MutexLock lock(&mu_);
    auto_reset_ = on;
    reset_result_ = result;
  }

  WindowId id() const { return id_; }
  int resets() {
    absl::MutexLock lock(&mu_);
    return resets_;
  }
  int closes() {
    absl::MutexLock lock(&mu_);
    return closes_;
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const WindowId id_;
  absl::Mutex mu_;
  bool auto_reset_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status reset_result_ ABSL_GUARDED_BY(mu_);
  int resets_ ABSL_GUARDED_BY(mu_) = 0;
  int closes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<CallDone> pending_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<ResetDone> pending_resets_ ABSL_GUARDED_BY(mu_);
};

// Records every Start; starts complete at once (auto mode) or when the test
// says so. Keeps every window it made, by id.
class FakeWindowFactory : public WindowFactory {
 public:
  void Start(WindowId id, StartDone ready, DiedCallback died) override {
    bool complete_now;
    {
      absl::MutexLock lock(&mu_);
      starts_.push_back(Pending{id, std::move(ready)});
      died_[id.value()] = std::move(died);
      complete_now = auto_start_;
    }
    if (complete_now) CompleteStart(id);
  }

  void set_auto_start(bool on) {
    absl::MutexLock lock(&mu_);
    auto_start_ = on;
  }

  // Completes the start of `id` with a new FakeWindow.
  void CompleteStart(WindowId id) {
    auto window = std::make_shared<FakeWindow>(id);
    StartDone ready = Take(id);
    {
      absl::MutexLock lock(&mu_);
      windows_[id.value()] = window;
    }
    std::move(ready)(std::static_pointer_cast<Window>(window));
  }

  void FailStart(WindowId id, absl::Status why) { Take(id)(std::move(why)); }

  // The window dies on its own.
  void Kill(WindowId id, absl::Status why) {
    DiedCallback died;
    {
      absl::MutexLock lock(&mu_);
      died = std::move(died_.at(id.value()));
    }
    std::move(died)(std::move(why));
  }

  std::shared_ptr<FakeWindow> window(WindowId id) {
    absl::MutexLock lock(&mu_);
    auto it = windows_.find(id.value());
    return it == windows_.end() ? nullptr : it->second;
  }
  // Ids of starts not yet completed, oldest first.
  std::vector<WindowId> pending_starts() {
    absl::MutexLock lock(&mu_);
    std::vector<WindowId> ids;
    for (const auto& p : starts_) ids.push_back(p.id);
    return ids;
  }
  int completed_starts() {
    absl::MutexLock lock(&mu_);
    return completed_starts_;
  }

 private:
  struct Pending {
    WindowId id;
    StartDone ready;
  };

  StartDone Take(WindowId id) {
    absl::MutexLock lock(&mu_);
    for (auto it = starts_.begin(); it != starts_.end(); ++it) {
      if (it->id == id) {
        StartDone ready = std::move(it->ready);
        starts_.erase(it);
        ++completed_starts_;
        return ready;
      }
    }
    std::abort();  // The test completed a start that was never made.
  }

  absl::Mutex mu_;
  bool auto_start_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<Pending> starts_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, DiedCallback> died_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::shared_ptr<FakeWindow>> windows_ ABSL_GUARDED_BY(mu_);
  int completed_starts_ ABSL_GUARDED_BY(mu_) = 0;
};

// Collects the outcome of one Acquire.
struct AcquireResult {
  bool done = false;
  absl::StatusOr<Grant> grant = absl::UnknownError("not done");
  Pool::AcquireDone Callback() {
    return [this](absl::StatusOr<Grant> g) {
      done = true;
      grant = std::move(g);
    };
  }
};

}  // namespace foxpool::pool::testing
