#include "pool/pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pool/policy.h"

namespace foxpool::pool {
namespace {

absl::string_view StateName(int state) {
  static constexpr const char* kNames[] = {"starting", "idle", "leased", "resetting"};
  return kNames[state];
}

}  // namespace

LeaseUse::LeaseUse(LeaseUse&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      lease_(std::move(other.lease_)),
      id_(other.id_),
      window_(std::move(other.window_)) {}

LeaseUse::~LeaseUse() { End(); }

void LeaseUse::End() {
  if (Pool* pool = std::exchange(pool_, nullptr); pool != nullptr) pool->EndUse(lease_, id_);
}

Pool::Pool(PoolOptions options, WindowFactory& factory, Scheduler& scheduler,
           PoolObserver* observer, const CommandGate* commands)
    : options_(std::move(options)),
      factory_(factory),
      scheduler_(scheduler),
      observer_(observer),
      commands_(commands) {}

Pool::~Pool() { Shutdown(); }

void Pool::RunAll(Deferred& later) {
  for (auto& fn : later) std::move(fn)();
  later.clear();
}

void Pool::Start() {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    TopUpLocked(later);
  }
  RunAll(later);
  if (options_.upkeep_interval > absl::ZeroDuration()) {
    scheduler_.RunAfter(options_.upkeep_interval, [this] { Upkeep(); });
  }
}

void Pool::StartWindowLocked(absl::Duration delay, Deferred& later, std::string profile) {
  WindowId id(next_window_++);
  Slot slot;
  slot.profile = std::move(profile);
  slots_.emplace(id, std::move(slot));
  if (delay <= absl::ZeroDuration()) {
    later.push_back([this, id] { LaunchNow(id); });
  } else {
    scheduler_.RunAfter(delay, [this, id] { LaunchNow(id); });
  }
}

void Pool::LaunchNow(WindowId id) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    launch_queue_.push_back(id);
    LaunchQueuedLocked(later);
  }
  RunAll(later);
}

int Pool::StartingLimitLocked() const {
  // A launch takes about two core-seconds. Until one window serves, one
  // launch at a time: the first window is ready sooner alone than beside
  // another launch. Then, while commands wait for the browsers already
  // serving, one at a time again.
  bool serving = std::any_of(slots_.begin(), slots_.end(), [](const auto& entry) {
    return entry.second.state == State::kIdle || entry.second.state == State::kLeased;
  });
  if (serving && commands_ != nullptr && commands_->stats().queued > 0) return 1;
  if (!serving && options_.max_starting > 0) return 1;
  return options_.max_starting;
}

void Pool::LaunchQueuedLocked(Deferred& later) {
  const int limit = StartingLimitLocked();
  while (!launch_queue_.empty() && (limit <= 0 || static_cast<int>(launching_.size()) < limit)) {
    WindowId id = launch_queue_.front();
    launch_queue_.pop_front();
    auto it = slots_.find(id);
    if (it == slots_.end()) continue;  // Shut down while backing off or queued.
    if (memory_short_ && it->second.profile.empty()) {
      // Started again by TopUpLocked once memory allows.
      slots_.erase(it);
      continue;
    }
    LaunchLocked(id, later);
  }
}

void Pool::LaunchLocked(WindowId id, Deferred& later) {
  Slot& slot = slots_.at(id);
  slot.launched_at = scheduler_.Now();
  launching_.insert(id);
  later.push_back([this, id, spec = WindowSpec{slot.profile}] {
    factory_.Start(
        id, spec,
        [this, id](absl::StatusOr<std::shared_ptr<Window>> window) {
          OnWindowStarted(id, std::move(window));
        },
        [this, id](absl::Status why) { OnWindowDied(id, std::move(why)); });
  });
}

void Pool::OnWindowStarted(WindowId id, absl::StatusOr<std::shared_ptr<Window>> window) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    // The factory answers every start exactly once: the next may go (below,
    // once this window counts as serving or not).
    launching_.erase(id);
    auto it = slots_.find(id);
    if (it == slots_.end() || shut_down_) {
      if (window.ok()) later.push_back([w = *window] { w->Close(); });
      if (it != slots_.end()) slots_.erase(it);
    } else if (!window.ok() && !it->second.profile.empty()) {
      // A profile's window is started for its callers, who hear why not.
      std::string profile = it->second.profile;
      slots_.erase(it);
      ++windows_failed_total_;
      FailProfileWaitersLocked(
          profile,
          absl::UnavailableError(absl::StrCat("the window for profile ", profile,
                                              " did not start: ", window.status().message())),
          later);
      if (observer_ != nullptr) {
        later.push_back([this, id, why = window.status()] { observer_->OnWindowFailed(id, why); });
      }
    } else if (!window.ok()) {
      slots_.erase(it);
      ++windows_failed_total_;
      ++consecutive_failures_;
      absl::Duration backoff = options_.respawn_backoff_initial;
      for (int i = 1; i < consecutive_failures_ && backoff < options_.respawn_backoff_max; ++i) {
        backoff *= 2;
      }
      backoff = std::min(backoff, options_.respawn_backoff_max);
      StartWindowLocked(backoff, later);
      if (observer_ != nullptr) {
        later.push_back([this, id, why = window.status()] { observer_->OnWindowFailed(id, why); });
        if (consecutive_failures_ >= options_.crash_loop_after) {
          later.push_back([this, failures = consecutive_failures_, backoff] {
            observer_->OnCrashLoop(failures, backoff);
          });
        }
      }
    } else {
      consecutive_failures_ = 0;
      Slot& slot = it->second;
      slot.window = *std::move(window);
      slot.ready_at = scheduler_.Now();
      slot.last_probe = slot.ready_at;
      if (observer_ != nullptr) {
        later.push_back([this, id, took = slot.ready_at - slot.launched_at] {
          observer_->OnWindowReady(id, took);
        });
      }
      MakeIdleLocked(id, later);
      CloseRetiredLocked(later);
    }
    LaunchQueuedLocked(later);
  }
  RunAll(later);
}

void Pool::OnWindowDied(WindowId id, absl::Status why) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    Slot& slot = it->second;
    ++windows_failed_total_;
    EndLeaseOfLostWindowLocked(id, slot,
                               absl::AbortedError(absl::StrCat("the lease's window ", id.ToString(),
                                                               " died: ", why.message())),
                               later);
    idle_.erase(std::remove(idle_.begin(), idle_.end(), id), idle_.end());
    if (observer_ != nullptr) {
      later.push_back([this, id, why] { observer_->OnWindowFailed(id, why); });
    }
    RemoveWindowLocked(id, /*replace=*/true, later);
  }
  RunAll(later);
}

void Pool::EndLeaseOfLostWindowLocked(WindowId id, Slot& slot, const absl::Status& why,
                                      Deferred& later) {
  if (slot.state != State::kLeased || slot.lease.empty()) return;
  if (leases_.contains(slot.lease)) DropLeaseLocked(slot.lease, slot, why);
  if (observer_ != nullptr) {
    later.push_back([this, lease = slot.lease, id, why, held = scheduler_.Now() - slot.leased_at] {
      observer_->OnLeaseEnded(lease, id, LeaseEnd::kWindowDied, held, why);
    });
  }
}

void Pool::RemoveWindowLocked(WindowId id, bool replace, Deferred& later) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  if (it->second.window != nullptr) {
    later.push_back([w = std::move(it->second.window)] { w->Close(); });
  }
  std::string profile = std::move(it->second.profile);
  slots_.erase(it);
  idle_.erase(std::remove(idle_.begin(), idle_.end(), id), idle_.end());
  ServeProfileWaitersLocked(profile, later);
  if (replace) TopUpLocked(later);
}

void Pool::MakeIdleLocked(WindowId id, Deferred& later) {
  Slot& slot = slots_.at(id);
  // The first caller waiting for this kind of window: a pool window or this
  // profile's.
  auto first = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& waiter) {
    return waiter.options.profile == slot.profile;
  });
  if (first != waiters_.end() && !draining_) {
    Waiter waiter = std::move(*first);
    waiters_.erase(first);
    Grant grant = LeaseLocked(id, slot, waiter.options, waiter.enqueued);
    later.push_back([done = std::move(waiter.done), grant]() mutable { std::move(done)(grant); });
    if (observer_ != nullptr) {
      later.push_back([this, grant] { observer_->OnLeaseGranted(grant); });
    }
    return;
  }
  slot.state = State::kIdle;
  slot.idle_since = scheduler_.Now();
  if (slot.profile.empty()) idle_.push_back(id);  // Profile windows wait for their own.
}

std::optional<WindowId> Pool::ProfileWindowLocked(const std::string& profile) const {
  for (const auto& [id, slot] : slots_) {
    if (slot.profile == profile) return id;
  }
  return std::nullopt;
}

void Pool::ServeProfileWaitersLocked(const std::string& profile, Deferred& later) {
  if (profile.empty() || shut_down_ || draining_ || ProfileWindowLocked(profile).has_value()) {
    return;
  }
  bool waited_for = std::any_of(waiters_.begin(), waiters_.end(), [&](const Waiter& waiter) {
    return waiter.options.profile == profile;
  });
  if (waited_for) StartWindowLocked(absl::ZeroDuration(), later, profile);
}

void Pool::FailProfileWaitersLocked(const std::string& profile, const absl::Status& why,
                                    Deferred& later) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->options.profile != profile) {
      ++it;
      continue;
    }
    later.push_back([done = std::move(it->done), why]() mutable { std::move(done)(why); });
    it = waiters_.erase(it);
  }
}

Grant Pool::LeaseLocked(WindowId id, Slot& slot, const AcquireOptions& options,
                        absl::Time enqueued) {
  absl::Time now = scheduler_.Now();
  LeaseId lease = LeaseId::Random();
  // At least 1 ms, at most the maximum (which wins if configured lower).
  absl::Duration idle_timeout = std::min(
      std::max(options.idle_timeout.value_or(options_.default_idle_timeout), absl::Milliseconds(1)),
      options_.max_idle_timeout);
  slot.state = State::kLeased;
  ++slot.leases_served;
  slot.lease = lease;
  slot.leased_at = now;
  slot.last_used = now;
  slot.idle_timeout = idle_timeout;
  slot.in_flight = 0;
  slot.commands_used = 0;
  slot.labels = options.labels;
  slot.holder = options.holder;
  slot.principal = options.principal;
  slot.request_id = options.request_id;
  slot.held_by_stream = options.held_by_stream;
  slot.release_requested = false;
  leases_.emplace(lease, id);
  if (!options.request_id.empty()) by_request_[options.request_id] = lease;
  scheduler_.RunAfter(options.held_by_stream ? options_.max_lease_duration
                                             : std::min(idle_timeout, options_.max_lease_duration),
                      [this, lease] { CheckLeaseExpiry(lease); });
  return Grant{lease, id, now - enqueued, idle_timeout};
}

Grant Pool::RegrantLocked(WindowId id, Slot& slot) {
  slot.last_used = scheduler_.Now();
  return Grant{slot.lease, id, absl::ZeroDuration(), slot.idle_timeout};
}

void Pool::DropLeaseLocked(const LeaseId& lease, Slot& slot, const absl::Status& why) {
  leases_.erase(lease);
  ended_.Remember(lease, why);
  if (!slot.request_id.empty()) {
    auto it = by_request_.find(slot.request_id);
    if (it != by_request_.end() && it->second == lease) by_request_.erase(it);
    slot.request_id.clear();
  }
}

void Pool::FinishLeaseLocked(WindowId id, Slot& slot, ReleaseMode mode, LeaseEnd reason,
                             absl::Status why, Deferred& later) {
  if (slot.in_flight > 0) {
    // Commands still run on the window: return it when the last one ends,
    // so that it is never reset or re-leased under them.
    slot.release_requested = true;
    slot.release_mode = mode;
    slot.release_reason = reason;
    slot.release_why = std::move(why);
  } else {
    EndLeaseLocked(id, slot, mode, reason, std::move(why), later);
  }
}

void Pool::NoteRefusalLocked(AcquireRefusal why, absl::Duration waited, Deferred& later) {
  if (observer_ == nullptr) return;
  later.push_back([this, why, waited] { observer_->OnAcquireRefused(why, waited); });
}

absl::Status Pool::RefusalLocked(const std::string& why) const {
  absl::Status refused = absl::ResourceExhaustedError(why);
  refused.SetPayload(kRetryAfterPayload,
                     absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(ExpectedWaitLocked()))));
  return refused;
}

absl::Duration Pool::ExpectedWaitLocked() const {
  if (!idle_.empty()) return absl::ZeroDuration();
  // Windows free up, on average, one every average_lease_ / windows; the
  // newcomer waits behind everyone queued.
  int64_t windows = std::max<int64_t>(1, static_cast<int64_t>(slots_.size()));
  absl::Duration wait = average_lease_ * static_cast<int64_t>(waiters_.size() + 1) / windows;
  return std::clamp(wait, absl::Milliseconds(10),
                    std::max(options_.max_wait, absl::Milliseconds(10)));
}

Pool::WaitTicket Pool::Acquire(AcquireOptions options, AcquireDone done) {
  Deferred later;
  WaitTicket ticket;
  {
    absl::MutexLock lock(&mu_);
    ticket = next_ticket_++;
    absl::Time now = scheduler_.Now();
    absl::Status refused;
    AcquireRefusal refusal = AcquireRefusal::kNoWait;
    auto same_request =
        options.request_id.empty() ? by_request_.end() : by_request_.find(options.request_id);
    auto same_waiter = options.request_id.empty()
                           ? waiters_.end()
                           : std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
                               return w.options.request_id == options.request_id;
                             });
    if (draining_) {
      refused = absl::UnavailableError("the server is draining");
      refusal = AcquireRefusal::kDraining;
    } else if ((same_request != by_request_.end() &&
                slots_.at(leases_.at(same_request->second)).principal != options.principal) ||
               (same_waiter != waiters_.end() &&
                same_waiter->options.principal != options.principal)) {
      // A request id names one caller's Acquire: nobody else may take it over.
      refused = absl::PermissionDeniedError("request_id belongs to another principal's Acquire");
      refusal = AcquireRefusal::kNotOwner;
    } else if (same_request != by_request_.end()) {
      // A retry of an Acquire that got its lease: the same lease again.
      WindowId id = leases_.at(same_request->second);
      Grant grant = RegrantLocked(id, slots_.at(id));
      later.push_back([done = std::move(done), grant]() mutable { std::move(done)(grant); });
    } else if (same_waiter != waiters_.end()) {
      // A retry of an Acquire still waiting: it takes over that place in the
      // queue, under a new ticket, and the first call is told why it lost it.
      later.push_back([old = std::move(same_waiter->done)]() mutable {
        std::move(old)(absl::AbortedError("replaced by a retry with the same request_id"));
      });
      NoteRefusalLocked(AcquireRefusal::kReplaced, now - same_waiter->enqueued, later);
      same_waiter->ticket = ticket;
      same_waiter->done = std::move(done);
      same_waiter->options.deadline = std::min(options.deadline, now + options_.max_wait);
      scheduler_.RunAfter(same_waiter->options.deadline - now,
                          [this, ticket] { CheckWaiter(ticket); });
    } else if (!options.profile.empty()) {
      std::optional<WindowId> window = ProfileWindowLocked(options.profile);
      int profile_windows =
          static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& entry) {
            return !entry.second.profile.empty();
          }));
      if (window.has_value() && slots_.at(*window).state == State::kIdle) {
        Grant grant = LeaseLocked(*window, slots_.at(*window), options, now);
        later.push_back([done = std::move(done), grant]() mutable { std::move(done)(grant); });
        if (observer_ != nullptr) {
          later.push_back([this, grant] { observer_->OnLeaseGranted(grant); });
        }
      } else if (!window.has_value() && profile_windows >= options_.max_profile_windows) {
        refusal = AcquireRefusal::kQueueFull;
        refused = RefusalLocked(absl::StrCat("windows run on ", profile_windows,
                                             " profiles already, the most allowed"));
      } else if (!window.has_value() && memory_short_) {
        refusal = AcquireRefusal::kMemory;
        refused = RefusalLocked("memory is short (above --memory_threshold): no window starts");
      } else if (options.deadline <= now) {
        refused = RefusalLocked(absl::StrCat("profile ", options.profile,
                                             "'s window is busy and the caller chose not to wait"));
      } else if (static_cast<int>(waiters_.size()) >= options_.max_queue) {
        refusal = AcquireRefusal::kQueueFull;
        refused = RefusalLocked(
            absl::StrCat("the wait queue is full (", waiters_.size(), " callers waiting)"));
      } else {
        // Waits for the profile's window: the one that runs, or one started now.
        std::string profile = options.profile;
        EnqueueLocked(ticket, std::move(options), now, std::move(done));
        ServeProfileWaitersLocked(profile, later);
      }
    } else if (!idle_.empty()) {
      WindowId id = TakeIdleLocked();
      Grant grant = LeaseLocked(id, slots_.at(id), options, now);
      later.push_back([done = std::move(done), grant]() mutable { std::move(done)(grant); });
      TopUpLocked(later);  // Keeps the idle reserve (min_idle).
      if (observer_ != nullptr) {
        later.push_back([this, grant] { observer_->OnLeaseGranted(grant); });
      }
    } else if (options.deadline <= now) {
      refused = RefusalLocked("no window is idle and the caller chose not to wait");
    } else if (options.fail_fast && options.deadline - now < ExpectedWaitLocked()) {
      refusal = AcquireRefusal::kWaitTooLong;
      refused = RefusalLocked(absl::StrCat("the expected wait (",
                                           absl::FormatDuration(ExpectedWaitLocked()),
                                           ") is longer than the caller's deadline allows"));
    } else if (memory_short_ && options_.refuse_when_memory_short) {
      refusal = AcquireRefusal::kMemory;
      refused = RefusalLocked(
          "memory is short (above --memory_threshold): no window is idle and no new one starts");
    } else if (static_cast<int>(waiters_.size()) >= options_.max_queue) {
      refusal = AcquireRefusal::kQueueFull;
      refused = RefusalLocked(
          absl::StrCat("the wait queue is full (", waiters_.size(), " callers waiting)"));
    } else {
      EnqueueLocked(ticket, std::move(options), now, std::move(done));
      TopUpLocked(later);  // Grows the pool if it may.
    }
    if (!refused.ok()) {
      later.push_back([done = std::move(done), refused]() mutable { std::move(done)(refused); });
      NoteRefusalLocked(refusal, absl::ZeroDuration(), later);
    }
  }
  RunAll(later);
  return ticket;
}

void Pool::EnqueueLocked(WaitTicket ticket, AcquireOptions options, absl::Time now,
                         AcquireDone done) {
  options.deadline = std::min(options.deadline, now + options_.max_wait);
  absl::Duration wait = options.deadline - now;
  waiters_.push_back(Waiter{ticket, std::move(options), now, std::move(done)});
  scheduler_.RunAfter(wait, [this, ticket] { CheckWaiter(ticket); });
}

void Pool::CheckWaiter(WaitTicket ticket) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = FindWaiterLocked(ticket);
    if (it == waiters_.end()) return;
    absl::Time now = scheduler_.Now();
    if (now < it->options.deadline) {
      scheduler_.RunAfter(it->options.deadline - now, [this, ticket] { CheckWaiter(ticket); });
      return;
    }
    absl::Status expired = absl::DeadlineExceededError(
        absl::StrCat("no window became idle within ", absl::FormatDuration(now - it->enqueued),
                     " (", slots_.size(), " windows, none idle)"));
    later.push_back([done = std::move(it->done), expired]() mutable { std::move(done)(expired); });
    NoteRefusalLocked(AcquireRefusal::kDeadline, now - it->enqueued, later);
    waiters_.erase(it);
  }
  RunAll(later);
}

std::list<Pool::Waiter>::iterator Pool::FindWaiterLocked(WaitTicket ticket) {
  return std::find_if(waiters_.begin(), waiters_.end(),
                      [&](const Waiter& w) { return w.ticket == ticket; });
}

bool Pool::CancelWait(WaitTicket ticket) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = FindWaiterLocked(ticket);
    if (it == waiters_.end()) return false;
    later.push_back([done = std::move(it->done)]() mutable {
      std::move(done)(absl::CancelledError("the caller stopped waiting"));
    });
    NoteRefusalLocked(AcquireRefusal::kCancelled, scheduler_.Now() - it->enqueued, later);
    waiters_.erase(it);
  }
  RunAll(later);
  return true;
}

absl::Status Pool::LeaseErrorLocked(const LeaseId& lease) const {
  absl::Status ended = ended_.Find(lease);
  if (!ended.ok()) return ended;
  return absl::NotFoundError("unknown lease id");
}

absl::Status Pool::CheckOwner(const Slot& slot, absl::string_view principal) {
  if (slot.principal == principal) return absl::OkStatus();
  return absl::PermissionDeniedError("lease belongs to another principal");
}

absl::StatusOr<LeaseUse> Pool::Use(const LeaseId& lease, absl::string_view principal) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(lease);
  if (it == leases_.end()) return LeaseErrorLocked(lease);
  Slot& slot = slots_.at(it->second);
  if (absl::Status s = CheckOwner(slot, principal); !s.ok()) return s;
  if (options_.max_commands_per_lease > 0 &&
      slot.commands_used >= options_.max_commands_per_lease) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the lease has used its ", options_.max_commands_per_lease,
                     " commands (--max_commands_per_lease); release it and acquire another"));
  }
  ++slot.commands_used;
  ++slot.in_flight;
  slot.last_used = scheduler_.Now();
  return LeaseUse(this, lease, it->second, slot.window);
}

void Pool::EndUse(const LeaseId& lease, WindowId id) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(id);
    // The lease may have ended (and the window been re-leased) meanwhile,
    // but not while this use counted as in flight on it.
    if (it != slots_.end() && it->second.state == State::kLeased && it->second.lease == lease) {
      Slot& slot = it->second;
      --slot.in_flight;
      slot.last_used = scheduler_.Now();
      if (slot.in_flight == 0 && slot.release_requested) {
        EndLeaseLocked(id, slot, slot.release_mode, slot.release_reason, slot.release_why, later);
      }
    }
  }
  RunAll(later);
}

absl::StatusOr<absl::Duration> Pool::Renew(const LeaseId& lease, absl::string_view principal) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(lease);
  if (it == leases_.end()) return LeaseErrorLocked(lease);
  Slot& slot = slots_.at(it->second);
  if (absl::Status s = CheckOwner(slot, principal); !s.ok()) return s;
  slot.last_used = scheduler_.Now();
  return slot.idle_timeout;
}

absl::Status Pool::Release(const LeaseId& lease, ReleaseMode mode, absl::string_view principal) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(lease);
    if (it == leases_.end()) {
      // Idempotent: a lease that already ended is released.
      if (!ended_.Find(lease).ok()) return absl::OkStatus();
      return absl::NotFoundError("unknown lease id");
    }
    WindowId id = it->second;
    Slot& slot = slots_.at(id);
    if (absl::Status s = CheckOwner(slot, principal); !s.ok()) return s;
    DropLeaseLocked(lease, slot, absl::FailedPreconditionError("the lease was released"));
    FinishLeaseLocked(id, slot, mode, LeaseEnd::kReleased, absl::OkStatus(), later);
  }
  RunAll(later);
  return absl::OkStatus();
}

void Pool::EndLeaseLocked(WindowId id, Slot& slot, ReleaseMode mode, LeaseEnd reason,
                          absl::Status why, Deferred& later) {
  absl::Duration lasted = scheduler_.Now() - slot.leased_at;
  if (observer_ != nullptr) {
    later.push_back([this, lease = slot.lease, id, reason, lasted, why] {
      observer_->OnLeaseEnded(lease, id, reason, lasted, why);
    });
  }
  average_lease_ = (average_lease_ * 4 + lasted) / 5;
  slot.lease = LeaseId();
  slot.labels.clear();
  slot.release_requested = false;
  slot.release_why = absl::OkStatus();
  if (shut_down_) {
    RemoveWindowLocked(id, /*replace=*/false, later);
    return;
  }
  if (slot.retiring) {
    // Told already; its replacement was started when it was marked.
    RemoveWindowLocked(id, /*replace=*/true, later);
    return;
  }
  if (!slot.profile.empty()) {
    // Kept warm for the profile's next lease, or closed: Firefox quits, and
    // the launcher saves the profile.
    if (mode == ReleaseMode::kKeep) {
      MakeIdleLocked(id, later);
    } else {
      RemoveWindowLocked(id, /*replace=*/false, later);
    }
    return;
  }
  std::optional<Recycle> recycle =
      mode == ReleaseMode::kRecycle
          ? std::optional<Recycle>(Recycle::kRequested)
          : RecycleReason(RecyclePolicy{options_.max_leases_per_window, options_.max_window_age,
                                        options_.max_window_memory},
                          WindowFacts{slot.leases_served, scheduler_.Now() - slot.ready_at,
                                      slot.memory_bytes});
  if (recycle.has_value()) {
    RecycleLocked(id, *recycle, /*replace=*/true, later);
    return;
  }
  switch (mode) {
    case ReleaseMode::kKeep:
      MakeIdleLocked(id, later);
      break;
    case ReleaseMode::kRecycle:
      break;  // Handled above.
    case ReleaseMode::kReset:
      slot.state = State::kResetting;
      slot.reset_started = scheduler_.Now();
      later.push_back([this, id, w = slot.window,
                       deadline = scheduler_.Now() + options_.reset_timeout] {
        w->Reset(deadline, [this, id](absl::Status status) { OnResetDone(id, std::move(status)); });
      });
      break;
  }
}

void Pool::OnResetDone(WindowId id, absl::Status status) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(id);
    if (it == slots_.end() || it->second.state != State::kResetting) return;
    if (status.ok()) {
      if (observer_ != nullptr) {
        later.push_back([this, id, took = scheduler_.Now() - it->second.reset_started] {
          observer_->OnWindowReset(id, took);
        });
      }
      MakeIdleLocked(id, later);
    } else {
      ++windows_failed_total_;
      RecycleLocked(id, Recycle::kResetFailed, /*replace=*/true, later);
    }
  }
  RunAll(later);
}

void Pool::CheckLeaseExpiry(LeaseId lease) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(lease);
    if (it == leases_.end()) return;
    WindowId id = it->second;
    Slot& slot = slots_.at(id);
    absl::Time now = scheduler_.Now();
    absl::Time hard_limit = slot.leased_at + options_.max_lease_duration;
    absl::Time idle_limit = slot.last_used + slot.idle_timeout;
    absl::Status why;
    LeaseEnd reason = LeaseEnd::kIdleTimeout;
    if (now >= hard_limit) {
      reason = LeaseEnd::kMaxDuration;
      why = absl::NotFoundError(
          absl::StrCat("the lease expired: it reached the maximum lease duration of ",
                       absl::FormatDuration(options_.max_lease_duration)));
    } else if (!slot.held_by_stream && slot.in_flight == 0 && now >= idle_limit) {
      why = absl::NotFoundError(absl::StrCat("the lease expired: no command or Renew for ",
                                             absl::FormatDuration(slot.idle_timeout)));
    } else {
      // A command in flight counts as use: look again one idle timeout on.
      absl::Time next =
          slot.held_by_stream
              ? hard_limit
              : std::min(hard_limit, slot.in_flight > 0 ? now + slot.idle_timeout : idle_limit);
      scheduler_.RunAfter(next - now, [this, lease] { CheckLeaseExpiry(lease); });
      return;
    }
    DropLeaseLocked(lease, slot, why);
    FinishLeaseLocked(id, slot, ReleaseMode::kReset, reason, why, later);
  }
  RunAll(later);
}

PoolStatus Pool::Status() const {
  absl::MutexLock lock(&mu_);
  PoolStatus status;
  for (const auto& [id, slot] : slots_) {
    switch (slot.state) {
      case State::kStarting:
        ++status.starting;
        break;
      case State::kIdle:
        ++status.idle;
        break;
      case State::kLeased:
        ++status.leased;
        break;
      case State::kResetting:
        ++status.resetting;
        break;
    }
  }
  for (const auto& [id, slot] : slots_) status.retiring += slot.retiring ? 1 : 0;
  status.target_size = options_.size;
  status.desired = DesiredLocked();
  status.memory_short = memory_short_;
  status.consecutive_start_failures = consecutive_failures_;
  status.queue_depth = static_cast<int>(waiters_.size());
  status.draining = draining_;
  status.windows_failed_total = windows_failed_total_;
  status.oldest_waiter_age =
      waiters_.empty() ? absl::ZeroDuration() : scheduler_.Now() - waiters_.front().enqueued;
  status.expected_wait = ExpectedWaitLocked();
  return status;
}

std::vector<LeaseInfo> Pool::Leases() const {
  absl::MutexLock lock(&mu_);
  absl::Time now = scheduler_.Now();
  std::vector<LeaseInfo> leases;
  for (const auto& [lease, id] : leases_) {
    const Slot& slot = slots_.at(id);
    leases.push_back(LeaseInfo{lease, id, slot.labels, slot.holder, now - slot.leased_at,
                               now - slot.last_used, slot.idle_timeout, slot.in_flight,
                               slot.profile, slot.principal});
  }
  std::sort(leases.begin(), leases.end(),
            [](const LeaseInfo& a, const LeaseInfo& b) { return a.age > b.age; });
  return leases;
}

std::vector<WindowInfo> Pool::Windows() const {
  absl::MutexLock lock(&mu_);
  absl::Time now = scheduler_.Now();
  std::vector<WindowInfo> windows;
  for (const auto& [id, slot] : slots_) {
    bool ready = slot.window != nullptr;
    windows.push_back(WindowInfo{id, StateName(static_cast<int>(slot.state)),
                                 ready ? now - slot.ready_at : absl::ZeroDuration(),
                                 slot.leases_served, slot.memory_bytes, slot.retiring,
                                 slot.profile});
  }
  std::sort(windows.begin(), windows.end(),
            [](const WindowInfo& a, const WindowInfo& b) { return a.id.value() < b.id.value(); });
  return windows;
}

absl::Status Pool::Revoke(WindowId window, std::optional<std::string> owner) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(window);
    if (it == slots_.end() || it->second.state != State::kLeased ||
        !leases_.contains(it->second.lease)) {
      return absl::NotFoundError(absl::StrCat("window ", window.ToString(), " is not leased"));
    }
    Slot& slot = it->second;
    if (owner.has_value()) {
      if (absl::Status s = CheckOwner(slot, *owner); !s.ok()) return s;
    }
    absl::Status why = absl::FailedPreconditionError("the lease was revoked by an operator");
    DropLeaseLocked(slot.lease, slot, why);
    FinishLeaseLocked(window, slot, ReleaseMode::kReset, LeaseEnd::kRevoked, why, later);
  }
  RunAll(later);
  return absl::OkStatus();
}

void Pool::Drain() {
  std::list<Waiter> refused;
  absl::Time now;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    refused.swap(waiters_);
    now = scheduler_.Now();
  }
  for (Waiter& waiter : refused) {
    std::move(waiter.done)(absl::UnavailableError("the server is draining"));
    if (observer_ != nullptr) {
      observer_->OnAcquireRefused(AcquireRefusal::kDraining, now - waiter.enqueued);
    }
  }
}

bool Pool::AwaitNoLeases(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &Pool::NoneLeasedLocked), timeout);
}

bool Pool::NoneLeasedLocked() const {
  return std::none_of(slots_.begin(), slots_.end(),
                      [](const auto& entry) { return entry.second.state == State::kLeased; });
}

void Pool::Shutdown() {
  Drain();
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    absl::Status why = absl::UnavailableError("the server shut down");
    absl::Time now = scheduler_.Now();
    for (const auto& [lease, id] : leases_) {
      ended_.Remember(lease, why);
      if (observer_ != nullptr) {
        later.push_back([this, lease = lease, id = id, why, held = now - slots_.at(id).leased_at] {
          observer_->OnLeaseEnded(lease, id, LeaseEnd::kShutdown, held, why);
        });
      }
    }
    leases_.clear();
    by_request_.clear();
    idle_.clear();
    for (auto& [id, slot] : slots_) {
      if (slot.window != nullptr) {
        later.push_back([w = std::move(slot.window)] { w->Close(); });
      }
    }
    slots_.clear();
  }
  RunAll(later);
}

}  // namespace foxpool::pool
