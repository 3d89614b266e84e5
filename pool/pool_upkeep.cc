// The pool's upkeep: how many windows it runs, health probes, recycling of
// old, large or unresponsive windows, and the memory guard. The rules
// themselves are in policy.h; this file applies them to the slots.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pool/policy.h"
#include "pool/pool.h"

namespace foxpool::pool {

int Pool::ActiveWindowsLocked() const {
  // Windows on persistent profiles come and go with their callers: they are
  // not the pool's.
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& entry) {
    return !entry.second.retiring && entry.second.profile.empty();
  }));
}

int Pool::DesiredLocked() const {
  int busy = 0;
  for (const auto& [id, slot] : slots_) {
    if (!slot.retiring && slot.profile.empty() &&
        (slot.state == State::kLeased || slot.state == State::kResetting)) {
      ++busy;
    }
  }
  int waiters = static_cast<int>(std::count_if(
      waiters_.begin(), waiters_.end(), [](const Waiter& w) { return w.options.profile.empty(); }));
  return DesiredWindows(SizePolicy{options_.size, options_.max_windows, options_.min_idle}, busy,
                        waiters);
}

void Pool::TopUpLocked(Deferred& later) {
  if (shut_down_ || draining_ || memory_short_) return;
  for (int missing = DesiredLocked() - ActiveWindowsLocked(); missing > 0; --missing) {
    StartWindowLocked(absl::ZeroDuration(), later);
  }
}

WindowId Pool::TakeIdleLocked() {
  std::vector<uint64_t> memory;
  memory.reserve(idle_.size());
  for (WindowId id : idle_) memory.push_back(slots_.at(id).memory_bytes);
  auto it = idle_.begin() + static_cast<std::ptrdiff_t>(PickIdle(memory));
  WindowId id = *it;
  idle_.erase(it);
  return id;
}

void Pool::RecycleLocked(WindowId id, Recycle why, bool replace, Deferred& later) {
  if (observer_ != nullptr) {
    later.push_back([this, id, why] { observer_->OnWindowRecycled(id, why); });
  }
  RemoveWindowLocked(id, replace, later);
}

void Pool::RetireLocked(WindowId id, Recycle why, Deferred& later) {
  Slot& slot = slots_.at(id);
  if (slot.retiring) return;
  if (memory_short_ && slot.state == State::kIdle) {
    // No room for an overlap: close first, start again when memory allows.
    RecycleLocked(id, why, /*replace=*/true, later);
    return;
  }
  slot.retiring = true;
  if (observer_ != nullptr) {
    later.push_back([this, id, why] { observer_->OnWindowRecycled(id, why); });
  }
  TopUpLocked(later);  // The replacement: the retiring window no longer counts.
}

void Pool::CloseRetiredLocked(Deferred& later) {
  for (WindowId id : idle_) {
    if (slots_.at(id).retiring) {
      RemoveWindowLocked(id, /*replace=*/false, later);
      return;
    }
  }
}

void Pool::ReportMemory(const MemoryReport& report) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    for (const auto& [id, bytes] : report.windows) {
      if (auto it = slots_.find(id); it != slots_.end()) it->second.memory_bytes = bytes;
    }
    memory_short_ = report.short_of_memory;
    if (memory_short_) {
      // The largest idle window goes first; one per report.
      auto largest = std::max_element(idle_.begin(), idle_.end(), [&](WindowId a, WindowId b) {
        return slots_.at(a).memory_bytes < slots_.at(b).memory_bytes;
      });
      if (largest != idle_.end()) {
        RecycleLocked(*largest, Recycle::kMemoryPressure, /*replace=*/false, later);
      }
    } else {
      if (options_.max_window_memory > 0 &&
          std::none_of(slots_.begin(), slots_.end(),
                       [](const auto& entry) { return entry.second.retiring; })) {
        for (const auto& [id, slot] : slots_) {
          if (slot.window != nullptr && slot.profile.empty() &&
              slot.memory_bytes > options_.max_window_memory) {
            RetireLocked(id, Recycle::kMaxMemory, later);
            break;  // Staggered: one replacement at a time.
          }
        }
      }
      TopUpLocked(later);
    }
  }
  RunAll(later);
}

void Pool::Upkeep() {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    absl::Time now = scheduler_.Now();
    bool retiring = false;
    std::optional<WindowId> surplus;
    std::vector<WindowId> unused_profiles;
    absl::Time oldest_idle = absl::InfiniteFuture();
    for (auto& [id, slot] : slots_) {
      retiring = retiring || slot.retiring;
      if (slot.state != State::kIdle || slot.retiring) continue;
      if (!slot.probing && now - slot.last_probe >= options_.probe_interval) ProbeLocked(id, later);
      if (!slot.profile.empty()) {
        // A profile's window kept warm closes (and saves it) when unused.
        if (slot.idle_since <= now - options_.shrink_after) unused_profiles.push_back(id);
        continue;
      }
      if (slot.idle_since <= now - options_.shrink_after && slot.idle_since < oldest_idle) {
        surplus = id;
        oldest_idle = slot.idle_since;
      }
    }
    for (WindowId id : unused_profiles) RemoveWindowLocked(id, /*replace=*/false, later);
    if (surplus.has_value() && ActiveWindowsLocked() > DesiredLocked()) {
      RecycleLocked(*surplus, Recycle::kSurplus, /*replace=*/false, later);
    } else if (!retiring && options_.max_window_age > absl::ZeroDuration()) {
      // Staggered: one replacement at a time, the oldest first.
      std::optional<WindowId> oldest;
      for (const auto& [id, slot] : slots_) {
        if (slot.window == nullptr || !slot.profile.empty() ||
            now - slot.ready_at < options_.max_window_age) {
          continue;
        }
        if (!oldest.has_value() || slot.ready_at < slots_.at(*oldest).ready_at) oldest = id;
      }
      if (oldest.has_value()) RetireLocked(*oldest, Recycle::kMaxAge, later);
    }
    TopUpLocked(later);
    // Launches held back while commands waited go once they no longer do.
    LaunchQueuedLocked(later);
    scheduler_.RunAfter(options_.upkeep_interval, [this] { Upkeep(); });
  }
  RunAll(later);
}

void Pool::Suspect(WindowId window) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(window);
    if (it == slots_.end() || it->second.window == nullptr || it->second.probing) return;
    ProbeLocked(window, later);
  }
  RunAll(later);
}

void Pool::ProbeLocked(WindowId id, Deferred& later) {
  Slot& slot = slots_.at(id);
  slot.probing = true;
  slot.last_probe = scheduler_.Now();
  // "ping" runs a trivial script in the window's page: it fails when the
  // browser, the extension or the page's content process does not answer.
  later.push_back([this, id, w = slot.window, deadline = slot.last_probe + options_.probe_timeout] {
    w->Call("ping", "{}", deadline,
            [this, id](absl::StatusOr<std::string> result) { OnProbeDone(id, result.status()); });
  });
}

void Pool::OnProbeDone(WindowId id, absl::Status status) {
  Deferred later;
  {
    absl::MutexLock lock(&mu_);
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    Slot& slot = it->second;
    slot.probing = false;
    if (status.ok() || shut_down_) return;
    absl::Status why = absl::AbortedError(
        absl::StrCat("window ", id.ToString(), " stopped responding (a health probe got ",
                     absl::StatusCodeToString(status.code()), ": ", status.message(), ")"));
    EndLeaseOfLostWindowLocked(id, slot, why, later);
    ++windows_failed_total_;
    RecycleLocked(id, Recycle::kUnresponsive, /*replace=*/true, later);
  }
  RunAll(later);
}

}  // namespace foxpool::pool
