#include "tests/pool/fakes.h"

#include <algorithm>
#include <utility>

namespace foxpool::pool::testing {

// FakeScheduler -------------------------------------------------------------

FakeScheduler::FakeScheduler(absl::Time start) : now_(start) {}

absl::Time FakeScheduler::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeScheduler::RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) {
  absl::MutexLock lock(&mu_);
  absl::Time due = now_ + std::max(delay, absl::ZeroDuration());
  timers_.emplace(TimerKey(due, next_sequence_++), std::move(fn));
}

void FakeScheduler::Advance(absl::Duration by) {
  absl::Time until;
  {
    absl::MutexLock lock(&mu_);
    until = now_ + std::max(by, absl::ZeroDuration());
  }
  for (;;) {
    absl::AnyInvocable<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto first = timers_.begin();
      if (first == timers_.end() || first->first.first > until) {
        now_ = std::max(now_, until);
        return;
      }
      now_ = std::max(now_, first->first.first);
      fn = std::move(first->second);
      timers_.erase(first);
    }
    // Outside the lock: the callback may call Now() or RunAfter().
    fn();
  }
}

size_t FakeScheduler::pending_timers() const {
  absl::MutexLock lock(&mu_);
  return timers_.size();
}

std::optional<absl::Time> FakeScheduler::next_due() const {
  absl::MutexLock lock(&mu_);
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

// FakeWindow ----------------------------------------------------------------

FakeWindow::FakeWindow(WindowId id, bool hold_resets) : id_(id), hold_resets_(hold_resets) {}

void FakeWindow::Call(std::string method, std::string params_json, absl::Time deadline,
                      CallDone done) {
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(RecordedCall{std::move(method), std::move(params_json), deadline});
    closed = close_count_ > 0;
    if (!closed) held_calls_.push_back(std::move(done));
  }
  if (closed) std::move(done)(absl::UnavailableError("the window is closed"));
}

void FakeWindow::Reset(absl::Time deadline, ResetDone done) {
  absl::Status now;
  {
    absl::MutexLock lock(&mu_);
    reset_deadlines_.push_back(deadline);
    if (hold_resets_) {
      held_resets_.push_back(std::move(done));
      return;
    }
    now = reset_status_;
  }
  std::move(done)(std::move(now));
}

void FakeWindow::Close() {
  std::vector<CallDone> failed;
  {
    absl::MutexLock lock(&mu_);
    ++close_count_;
    failed.swap(held_calls_);
  }
  for (CallDone& done : failed) std::move(done)(absl::UnavailableError("the window was closed"));
}

void FakeWindow::CompleteResetsWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  hold_resets_ = false;
  reset_status_ = std::move(status);
}

void FakeWindow::HoldResets() {
  absl::MutexLock lock(&mu_);
  hold_resets_ = true;
}

bool FakeWindow::CompleteReset(absl::Status status) {
  ResetDone done;
  {
    absl::MutexLock lock(&mu_);
    if (held_resets_.empty()) return false;
    done = std::move(held_resets_.front());
    held_resets_.erase(held_resets_.begin());
  }
  std::move(done)(std::move(status));
  return true;
}

bool FakeWindow::CompleteCall(absl::StatusOr<std::string> result) {
  CallDone done;
  {
    absl::MutexLock lock(&mu_);
    if (held_calls_.empty()) return false;
    done = std::move(held_calls_.front());
    held_calls_.erase(held_calls_.begin());
  }
  std::move(done)(std::move(result));
  return true;
}

int FakeWindow::reset_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(reset_deadlines_.size());
}

int FakeWindow::held_resets() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(held_resets_.size());
}

std::vector<absl::Time> FakeWindow::reset_deadlines() const {
  absl::MutexLock lock(&mu_);
  return reset_deadlines_;
}

std::vector<FakeWindow::RecordedCall> FakeWindow::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

bool FakeWindow::closed() const {
  absl::MutexLock lock(&mu_);
  return close_count_ > 0;
}

int FakeWindow::close_count() const {
  absl::MutexLock lock(&mu_);
  return close_count_;
}

// FakeWindowFactory ---------------------------------------------------------

void FakeWindowFactory::Start(WindowId id, const WindowSpec& spec, StartDone ready,
                              DiedCallback died) {
  int index;
  {
    absl::MutexLock lock(&mu_);
    index = static_cast<int>(starts_.size());
    starts_.push_back(StartRecord{id, spec.profile, std::move(ready)});
    died_[id] = std::move(died);
    if (!auto_start_) return;
  }
  CompleteStart(index);
}

void FakeWindowFactory::set_auto_start(bool on) {
  absl::MutexLock lock(&mu_);
  auto_start_ = on;
}

void FakeWindowFactory::set_hold_resets(bool hold) {
  absl::MutexLock lock(&mu_);
  hold_resets_ = hold;
}

std::vector<std::string> FakeWindowFactory::start_profiles() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> profiles;
  for (const StartRecord& start : starts_) profiles.push_back(start.profile);
  return profiles;
}

int FakeWindowFactory::start_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(starts_.size());
}

WindowId FakeWindowFactory::start_id(int i) const {
  absl::MutexLock lock(&mu_);
  if (i < 0 || i >= static_cast<int>(starts_.size())) return WindowId();
  return starts_[i].id;
}

std::vector<int> FakeWindowFactory::pending_starts() const {
  absl::MutexLock lock(&mu_);
  std::vector<int> pending;
  for (int i = 0; i < static_cast<int>(starts_.size()); ++i) {
    if (starts_[i].ready != nullptr) pending.push_back(i);
  }
  return pending;
}

FakeWindowFactory::StartDone FakeWindowFactory::TakeReady(int i) {
  if (i < 0 || i >= static_cast<int>(starts_.size())) return nullptr;
  return std::move(starts_[i].ready);
}

std::shared_ptr<FakeWindow> FakeWindowFactory::CompleteStart(int i) {
  StartDone ready;
  std::shared_ptr<FakeWindow> window;
  {
    absl::MutexLock lock(&mu_);
    ready = TakeReady(i);
    if (ready == nullptr) return nullptr;
    window = std::make_shared<FakeWindow>(starts_[i].id, hold_resets_);
    windows_[window->id()] = window;
  }
  std::move(ready)(std::shared_ptr<Window>(window));
  return window;
}

bool FakeWindowFactory::FailStart(int i, absl::Status why) {
  StartDone ready;
  {
    absl::MutexLock lock(&mu_);
    ready = TakeReady(i);
    if (ready == nullptr) return false;
    died_.erase(starts_[i].id);  // A window that never started cannot die.
  }
  std::move(ready)(std::move(why));
  return true;
}

bool FakeWindowFactory::Kill(WindowId id, absl::Status why) {
  DiedCallback died;
  {
    absl::MutexLock lock(&mu_);
    auto window = windows_.find(id);
    auto callback = died_.find(id);
    if (window == windows_.end() || callback == died_.end()) return false;
    if (window->second->closed()) return false;  // Not called after Close().
    died = std::move(callback->second);
    died_.erase(callback);
  }
  std::move(died)(std::move(why));
  return true;
}

std::shared_ptr<FakeWindow> FakeWindowFactory::window(WindowId id) const {
  absl::MutexLock lock(&mu_);
  auto it = windows_.find(id);
  return it == windows_.end() ? nullptr : it->second;
}

}  // namespace foxpool::pool::testing
