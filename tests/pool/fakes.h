#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/ids.h"
#include "pool/scheduler.h"
#include "pool/window.h"

// Test doubles for the pool's seams: a manual clock, a window the test
// drives by hand and a factory that starts such windows when the test says.
// All three are thread-safe and never call back into the code under test
// while holding their own lock, as the real implementations promise.
namespace foxpool::pool::testing {

// A Scheduler whose clock moves only when the test calls Advance. Timers run
// on the thread that calls Advance, never inside RunAfter.
class FakeScheduler final : public Scheduler {
 public:
  // The clock starts far from the Unix epoch so that a stray zero time shows.
  explicit FakeScheduler(absl::Time start = absl::FromUnixSeconds(1'700'000'000));

  absl::Time Now() override;
  // A negative delay is due at once (on the next Advance, even by zero).
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) override;

  // Moves the clock forward by `by` and runs every timer that falls due, in
  // due order (ties in the order they were set), including timers that those
  // callbacks set if they too fall due. While a timer runs, Now() reads its
  // due time; afterwards it reads the old time plus `by`.
  void Advance(absl::Duration by);

  size_t pending_timers() const;
  // Due time of the earliest pending timer.
  std::optional<absl::Time> next_due() const;

 private:
  // Keyed by (due, sequence) so that equal due times keep their set order.
  using TimerKey = std::pair<absl::Time, uint64_t>;

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<TimerKey, absl::AnyInvocable<void()>> timers_ ABSL_GUARDED_BY(mu_);
};

// A Window that records what the pool asks of it. Resets either complete
// inside Reset with a configured status, or are held until the test calls
// CompleteReset, so that a test can look at a window while it resets.
// Calls are recorded and held until CompleteCall; Close fails held calls.
class FakeWindow final : public Window {
 public:
  struct RecordedCall {
    std::string method;
    std::string params_json;
    absl::Time deadline;
  };

  explicit FakeWindow(WindowId id, bool hold_resets = false);

  void Call(std::string method, std::string params_json, absl::Time deadline,
            CallDone done) override;
  void Reset(absl::Time deadline, ResetDone done) override;
  void Close() override;

  // Resets from now on complete at once with `status`.
  void CompleteResetsWith(absl::Status status);
  // Resets from now on wait for CompleteReset.
  void HoldResets();
  // Completes the oldest held reset with `status`; false if none is held.
  bool CompleteReset(absl::Status status = absl::OkStatus());
  // Answers the oldest held call; false if none is held.
  bool CompleteCall(absl::StatusOr<std::string> result);

  WindowId id() const { return id_; }
  int reset_count() const;
  int held_resets() const;
  // The deadline of every Reset, in call order.
  std::vector<absl::Time> reset_deadlines() const;
  std::vector<RecordedCall> calls() const;
  bool closed() const;
  int close_count() const;

 private:
  const WindowId id_;
  mutable absl::Mutex mu_;
  bool hold_resets_ ABSL_GUARDED_BY(mu_);
  absl::Status reset_status_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> reset_deadlines_ ABSL_GUARDED_BY(mu_);
  std::vector<ResetDone> held_resets_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedCall> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<CallDone> held_calls_ ABSL_GUARDED_BY(mu_);
  int close_count_ ABSL_GUARDED_BY(mu_) = 0;
};

// A WindowFactory that records every Start, numbered from 0 in call order.
// By default the test completes each start (CompleteStart, FailStart); in
// auto-start mode Start answers at once with a new FakeWindow. Every window
// it made stays reachable by id, also after the pool has closed it.
class FakeWindowFactory final : public WindowFactory {
 public:
  void Start(WindowId id, const WindowSpec& spec, StartDone ready, DiedCallback died) override;
  // The profile each start asked for, in start order.
  std::vector<std::string> start_profiles() const;

  void set_auto_start(bool on);
  // Whether windows made from now on hold their resets (see FakeWindow).
  void set_hold_resets(bool hold);

  int start_count() const;
  // The window id of start `i`.
  WindowId start_id(int i) const;
  // Indices of the starts not yet completed or failed, oldest first.
  std::vector<int> pending_starts() const;

  // Completes start `i` with a new FakeWindow and returns it; null when there
  // is no such start or it was already answered.
  std::shared_ptr<FakeWindow> CompleteStart(int i);
  // Fails start `i`; false when there is no such start or it was answered.
  bool FailStart(int i, absl::Status why);
  // The window dies on its own: runs its died callback. False (and nothing
  // happens) when the window never started, was closed, or already died.
  bool Kill(WindowId id, absl::Status why);

  // The window made for `id`, or null if none was.
  std::shared_ptr<FakeWindow> window(WindowId id) const;

 private:
  struct StartRecord {
    WindowId id;
    std::string profile;
    StartDone ready;  // Empty once answered.
  };

  // Takes start `i`'s callback, or an empty one if there is none to take.
  StartDone TakeReady(int i);

  mutable absl::Mutex mu_;
  bool auto_start_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_resets_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<StartRecord> starts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WindowId, DiedCallback> died_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WindowId, std::shared_ptr<FakeWindow>> windows_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::pool::testing
