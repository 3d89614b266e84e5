#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/command_gate.h"
#include "pool/ended_leases.h"
#include "pool/ids.h"
#include "pool/observer.h"
#include "pool/scheduler.h"
#include "pool/window.h"

namespace foxpool::pool {

struct PoolOptions {
  // Windows the pool keeps warm (starting, idle, leased or resetting).
  int size = 2;
  // Growth: while callers wait (or fewer than `min_idle` windows are idle or
  // starting), the pool starts more windows, up to `max_windows` (values
  // below `size` mean no growth). Idle windows above `size` close after
  // `shrink_after` unused.
  int max_windows = 0;
  int min_idle = 0;
  absl::Duration shrink_after = absl::Minutes(5);
  // Recycling: a window that served this many leases, is this old, or whose
  // memory exceeds this many bytes is closed and replaced (0: no limit).
  int max_leases_per_window = 0;
  absl::Duration max_window_age = absl::ZeroDuration();
  uint64_t max_window_memory = 0;
  // Commands one lease may send (0: no limit); then RESOURCE_EXHAUSTED.
  int64_t max_commands_per_lease = 0;
  // Upkeep runs this often (zero: never): health probes, age recycling,
  // shrinking. Probes go to idle windows not probed for `probe_interval`;
  // one that misses `probe_timeout` marks its window unresponsive.
  absl::Duration upkeep_interval = absl::ZeroDuration();
  absl::Duration probe_interval = absl::Seconds(10);
  absl::Duration probe_timeout = absl::Seconds(5);
  // While memory is short (ReportMemory), an Acquire that finds no idle
  // window is refused (RESOURCE_EXHAUSTED) instead of waiting.
  bool refuse_when_memory_short = false;
  // Failed starts in a row that count as a crash loop.
  int crash_loop_after = 3;
  // Windows on persistent profiles that may run at once (beyond the pool).
  int max_profile_windows = 8;
  // Windows launching at once (0: no limit). A launch costs about two
  // core-seconds, so a burst of them starves everything else: the rest
  // wait, in order, for a launch to end (ready or failed). With a limit,
  // one at a time until a window serves (the first is ready sooner alone);
  // with or without, one at a time while the command gate (Pool's
  // `commands`) holds commands back.
  int max_starting = 0;
  // Callers that may wait in Acquire at once; one more is refused.
  int max_queue = 8;
  // Upper bound on any wait in Acquire, whatever the caller asks.
  absl::Duration max_wait = absl::Minutes(5);
  // Idle timeout of a lease when the caller does not choose one, and the
  // largest it may choose.
  absl::Duration default_idle_timeout = absl::Seconds(60);
  absl::Duration max_idle_timeout = absl::Minutes(30);
  // No lease lasts longer, however busy it is.
  absl::Duration max_lease_duration = absl::Hours(1);
  // How long a reset may take before the window is recycled instead.
  absl::Duration reset_timeout = absl::Seconds(15);
  // Backoff between failed starts: doubles from `initial` up to `max`, and
  // falls back to zero after a window starts.
  absl::Duration respawn_backoff_initial = absl::Milliseconds(250);
  absl::Duration respawn_backoff_max = absl::Seconds(30);
};

enum class ReleaseMode { kReset, kKeep, kRecycle };

struct AcquireOptions {
  // When the caller stops waiting. Capped by PoolOptions::max_wait.
  absl::Time deadline = absl::InfiniteFuture();
  // Unset: PoolOptions::default_idle_timeout. Clamped to the maximum.
  std::optional<absl::Duration> idle_timeout;
  std::map<std::string, std::string> labels;
  // Who asked (the gRPC peer), for logs and status.
  std::string holder;
  // The authenticated caller ("" when authentication is off). Only the same
  // principal may use, renew or release the lease (PERMISSION_DENIED).
  std::string principal;
  // Client-chosen id that makes Acquire idempotent: while the lease it got
  // lives, an Acquire with the same id gets the same lease; while it waits,
  // a retry takes over its place in the queue. Must be unique and hard to
  // guess (a UUID): whoever knows it gets the lease.
  std::string request_id;
  // The lease lives as long as a stream that holds it: no idle timeout (the
  // stream's end releases it), only the maximum lease duration.
  bool held_by_stream = false;
  // Refuse at once (RESOURCE_EXHAUSTED, with a retry hint) rather than
  // queue when the expected wait is longer than the time to the deadline.
  bool fail_fast = false;
  // A named persistent profile (see WindowSpec): the caller gets that
  // profile's window, started for it if none runs, or waits while another
  // lease holds it. Release with kKeep leaves the window warm for the next
  // lease of the profile; kReset and kRecycle close it (Firefox quits and
  // the profile is saved). A warm window closes after shrink_after unused.
  std::string profile;
};

// What an Acquire hands out.
struct Grant {
  LeaseId lease;
  WindowId window;
  absl::Duration waited;
  absl::Duration idle_timeout;
};

struct PoolStatus {
  int starting = 0;
  int idle = 0;
  int leased = 0;
  int resetting = 0;
  // Windows being replaced: still serving, closed once no longer needed.
  int retiring = 0;
  int target_size = 0;
  // What the pool wants now: target_size, or more while callers wait.
  int desired = 0;
  bool memory_short = false;
  // Failed starts in a row (0 once a window starts); at crash_loop_after or
  // more, windows are crash-looping.
  int consecutive_start_failures = 0;
  int queue_depth = 0;
  bool draining = false;
  int64_t windows_failed_total = 0;
  // How long the first waiter has waited (zero when nobody waits).
  absl::Duration oldest_waiter_age;
  // Estimated wait for a caller arriving now (zero when a window is idle).
  absl::Duration expected_wait;
};

// One lease, as an operator sees it.
struct LeaseInfo {
  LeaseId lease;
  WindowId window;
  std::map<std::string, std::string> labels;
  std::string holder;
  absl::Duration age;
  absl::Duration idle_for;
  absl::Duration idle_timeout;
  int commands_in_flight = 0;
  std::string profile;
  std::string principal;  // AcquireOptions::principal
};

// One window, as an operator sees it.
struct WindowInfo {
  WindowId id;
  absl::string_view state;  // "starting", "idle", "leased" or "resetting"
  // Since the window became ready; zero while it starts.
  absl::Duration age;
  int leases_served = 0;
  uint64_t memory_bytes = 0;  // last sample; 0 before the first
  bool retiring = false;
  std::string profile;  // empty: a throwaway profile
};

// What the memory sampler saw, for the pool's recycling and guard.
struct MemoryReport {
  std::vector<std::pair<WindowId, uint64_t>> windows;  // PSS bytes
  // Memory is short (above the threshold, with hysteresis): start no window,
  // close the largest idle one per report.
  bool short_of_memory = false;
};

// RESOURCE_EXHAUSTED refusals of Acquire carry this payload: the suggested
// time before retrying, in milliseconds, as decimal text.
inline constexpr char kRetryAfterPayload[] = "type.foxpool.dev/retry-after-ms";

class Pool;

// Holds a lease's window for the length of one command: the lease cannot
// expire while a command is in flight, and its idle timer restarts when the
// command ends. Move-only; must not outlive the Pool.
class LeaseUse {
 public:
  LeaseUse(LeaseUse&& other) noexcept;
  LeaseUse& operator=(LeaseUse&&) = delete;
  ~LeaseUse();
  // Ends the use now rather than at destruction; later calls do nothing.
  // Call it before answering the caller: its next RPC (a Release, a
  // GetPoolStatus) must find the command over.
  void End();
  Window& window() const { return *window_; }
  WindowId window_id() const { return id_; }

 private:
  friend class Pool;
  LeaseUse(Pool* pool, LeaseId lease, WindowId id, std::shared_ptr<Window> window)
      : pool_(pool), lease_(std::move(lease)), id_(id), window_(std::move(window)) {}
  Pool* pool_;
  LeaseId lease_;
  WindowId id_;
  std::shared_ptr<Window> window_;
};

// A fixed-size pool of windows leased one caller at a time.
//
// Windows move starting → idle → leased → resetting → idle; a window that
// dies or fails its reset is closed and replaced (with backoff when starts
// keep failing). Callers that find no idle window wait in a bounded FIFO
// queue until their deadline. Leases expire after an idle timeout.
//
// Thread-safe: every method may be called from any thread. Callbacks (the
// Acquire continuation, observer methods) run without the pool's lock held.
// The pool must outlive the scheduler's pending timers and the factory's
// pending callbacks (stop both before destroying it).
class Pool {
 public:
  using AcquireDone = absl::AnyInvocable<void(absl::StatusOr<Grant>) &&>;
  using WaitTicket = uint64_t;

  // `commands`, when there is a command gate: launches yield to the
  // commands it holds back (PoolOptions::max_starting).
  Pool(PoolOptions options, WindowFactory& factory, Scheduler& scheduler,
       PoolObserver* observer = nullptr, const CommandGate* commands = nullptr);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Starts the windows. Call once.
  void Start();

  // Leases an idle window, or queues the caller. `done` is called exactly
  // once: with a grant, or with RESOURCE_EXHAUSTED (queue full), UNAVAILABLE
  // (draining), DEADLINE_EXCEEDED (wait ended) or CANCELLED (CancelWait). It
  // may be called before Acquire returns. The ticket identifies the wait.
  WaitTicket Acquire(AcquireOptions options, AcquireDone done);

  // Withdraws a waiting caller, whose `done` then gets CANCELLED. Returns
  // false when the caller is no longer waiting (already granted or failed):
  // then whoever holds the grant must release it.
  bool CancelWait(WaitTicket ticket);

  // Looks a lease up for one command. Errors: NOT_FOUND (unknown or
  // expired), FAILED_PRECONDITION (released), ABORTED (its window died),
  // PERMISSION_DENIED (`principal` is not the lease's).
  absl::StatusOr<LeaseUse> Use(const LeaseId& lease, absl::string_view principal = "");

  // Restarts the lease's idle timer; returns the idle timeout.
  absl::StatusOr<absl::Duration> Renew(const LeaseId& lease, absl::string_view principal = "");

  // Ends a lease. Releasing an already released lease succeeds.
  absl::Status Release(const LeaseId& lease, ReleaseMode mode, absl::string_view principal = "");

  PoolStatus Status() const;

  // Every live lease, oldest first.
  std::vector<LeaseInfo> Leases() const;

  // Every window, in id order.
  std::vector<WindowInfo> Windows() const;

  // Ends the lease on `window` for its holder (whose next command gets
  // FAILED_PRECONDITION saying so) and resets the window. NOT_FOUND if the
  // window is not leased. With `owner`, only a lease of that principal
  // (else PERMISSION_DENIED); without, any.
  absl::Status Revoke(WindowId window, std::optional<std::string> owner = std::nullopt);

  // Takes a memory sample: recycles windows above max_window_memory and,
  // while memory is short, holds back starts and closes the largest idle
  // window (one per report, so that each close shows in the next sample).
  void ReportMemory(const MemoryReport& report);

  // A command on `window` missed its deadline: probe it now. If the probe
  // fails too, the window is unresponsive: its lease (if any) ends with
  // ABORTED saying so, and it is closed and replaced.
  void Suspect(WindowId window);

  // Stops admitting: waiting and new callers get UNAVAILABLE; leases go on.
  void Drain();

  // Blocks until no lease is held or `timeout` passes; true when none is.
  bool AwaitNoLeases(absl::Duration timeout);

  // Closes every window and starts no more. Leases end with UNAVAILABLE.
  void Shutdown();

 private:
  friend class LeaseUse;
  enum class State { kStarting, kIdle, kLeased, kResetting };

  struct Slot {
    State state = State::kStarting;
    std::shared_ptr<Window> window;
    absl::Time launched_at;  // When the factory was asked to start it.
    absl::Time ready_at;
    absl::Time reset_started;
    absl::Time idle_since;
    absl::Time last_probe;
    int leases_served = 0;
    uint64_t memory_bytes = 0;
    // Being replaced: closed once its replacement is ready (if idle then)
    // or at the end of its lease.
    bool retiring = false;
    bool probing = false;
    std::string profile;  // Its persistent profile; empty for pool windows.
    // While leased:
    LeaseId lease;
    absl::Time leased_at;
    absl::Time last_used;
    absl::Duration idle_timeout;
    int in_flight = 0;
    int64_t commands_used = 0;
    std::map<std::string, std::string> labels;
    std::string holder;
    std::string principal;
    std::string request_id;
    bool held_by_stream = false;
    bool release_requested = false;
    ReleaseMode release_mode = ReleaseMode::kReset;
    LeaseEnd release_reason = LeaseEnd::kReleased;
    absl::Status release_why;
  };

  struct Waiter {
    WaitTicket ticket;
    AcquireOptions options;
    absl::Time enqueued;
    AcquireDone done;
  };

  // Work to do once the lock is released: callbacks and window calls.
  using Deferred = std::vector<absl::AnyInvocable<void() &&>>;

  void StartWindowLocked(absl::Duration delay, Deferred& later, std::string profile = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // --- persistent profiles ---
  // The window running on `profile`, if any.
  std::optional<WindowId> ProfileWindowLocked(const std::string& profile) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Starts a window for `profile` when callers wait for it and none runs.
  void ServeProfileWaitersLocked(const std::string& profile, Deferred& later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers every caller waiting for `profile` with `why`.
  void FailProfileWaitersLocked(const std::string& profile, const absl::Status& why,
                                Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LaunchNow(WindowId id);
  // Hands window `id` to the factory (after `later` runs).
  void LaunchLocked(WindowId id, Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Launches queued windows while the limit allows.
  void LaunchQueuedLocked(Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWindowStarted(WindowId id, absl::StatusOr<std::shared_ptr<Window>> w);
  void OnWindowDied(WindowId id, absl::Status why);
  void OnResetDone(WindowId id, absl::Status status);
  // Hands a window that just became idle to the first waiter, or parks it.
  void MakeIdleLocked(WindowId id, Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Grant LeaseLocked(WindowId id, Slot& slot, const AcquireOptions& options, absl::Time enqueued)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the lease on `slot` and returns its window per `mode`.
  void EndLeaseLocked(WindowId id, Slot& slot, ReleaseMode mode, LeaseEnd reason, absl::Status why,
                      Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveWindowLocked(WindowId id, bool replace, Deferred& later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The leased window `id` is lost (died, or stopped responding): its lease
  // ends for the observer, and later calls on it get `why`.
  void EndLeaseOfLostWindowLocked(WindowId id, Slot& slot, const absl::Status& why, Deferred& later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a caller until `options.deadline` (capped by max_wait).
  void EnqueueLocked(WaitTicket ticket, AcquireOptions options, absl::Time now, AcquireDone done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes `id` on purpose, telling the observer why.
  void RecycleLocked(WindowId id, Recycle why, bool replace, Deferred& later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // --- upkeep (pool_upkeep.cc) ---
  // Starts windows until the pool has as many as it wants (none while
  // memory is short, draining or shut down).
  void TopUpLocked(Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int ActiveWindowsLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int DesiredLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Marks `id` for replacement (or closes it at once when it is idle and the
  // pool cannot start a replacement).
  void RetireLocked(WindowId id, Recycle why, Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A window became ready: close one idle retiring window it replaces.
  void CloseRetiredLocked(Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Upkeep();
  void ProbeLocked(WindowId id, Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnProbeDone(WindowId id, absl::Status status);
  // The idle window to lease next (see PickIdle); idle_ must not be empty.
  WindowId TakeIdleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The waiter with `ticket`, or waiters_.end(). The queue is short (it is
  // bounded by max_queue), so a scan is cheaper than an index.
  std::list<Waiter>::iterator FindWaiterLocked(WaitTicket ticket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckWaiter(WaitTicket ticket);
  void CheckLeaseExpiry(LeaseId lease);
  // Takes `lease` (held on `slot`) out of the books: commands on it now
  // fail with `why`, and its request id is free again.
  void DropLeaseLocked(const LeaseId& lease, Slot& slot, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `slot`'s lease and returns its window now, or when its last
  // in-flight command ends.
  void FinishLeaseLocked(WindowId id, Slot& slot, ReleaseMode mode, LeaseEnd reason,
                         absl::Status why, Deferred& later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the observer, once the lock is released, that an Acquire got
  // nothing. The caller's `done` must be queued in `later` first.
  void NoteRefusalLocked(AcquireRefusal why, absl::Duration waited, Deferred& later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration ExpectedWaitLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // RESOURCE_EXHAUSTED saying `why`, with the retry hint.
  absl::Status RefusalLocked(const std::string& why) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Grant RegrantLocked(WindowId id, Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndUse(const LeaseId& lease, WindowId id);
  absl::Status LeaseErrorLocked(const LeaseId& lease) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // PERMISSION_DENIED unless `principal` holds the lease on `slot`.
  static absl::Status CheckOwner(const Slot& slot, absl::string_view principal);
  bool NoneLeasedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many windows may launch at once now (0: no limit).
  int StartingLimitLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static void RunAll(Deferred& later);

  const PoolOptions options_;
  WindowFactory& factory_;
  Scheduler& scheduler_;
  PoolObserver* const observer_;
  const CommandGate* const commands_;  // Its lock is taken inside ours.

  mutable absl::Mutex mu_;
  int64_t next_window_ ABSL_GUARDED_BY(mu_) = 1;
  WaitTicket next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  // Node-based so that a Slot& stays valid while windows are added.
  absl::node_hash_map<WindowId, Slot> slots_ ABSL_GUARDED_BY(mu_);
  // Idle windows, least recently used first.
  std::deque<WindowId> idle_ ABSL_GUARDED_BY(mu_);
  // Windows the factory is starting, and those waiting for their turn
  // (max_starting).
  absl::flat_hash_set<WindowId> launching_ ABSL_GUARDED_BY(mu_);
  std::deque<WindowId> launch_queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<LeaseId, WindowId> leases_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, LeaseId> by_request_ ABSL_GUARDED_BY(mu_);
  // Moving average of how long leases last, for the retry hint.
  absl::Duration average_lease_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  std::list<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  EndedLeases ended_ ABSL_GUARDED_BY(mu_);
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool memory_short_ ABSL_GUARDED_BY(mu_) = false;
  int64_t windows_failed_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace foxpool::pool
