#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/scheduler.h"

namespace foxpool::pool {

// Admission control for window commands across every lease. The browsers
// give their best with only a few commands executing at once (on two cores,
// two to four); beyond that each command waits inside Firefox and
// throughput falls. So at most `limit` commands run at once; the rest wait
// here, in order per lease, leases taking turns (round robin), each until
// its deadline.
//
// With `adaptive`, the limit follows the browsers (in the manner of TCP
// Vegas): each finished command's latency is compared with the best seen
// for its method, and the limit grows while latencies stay near their best
// and shrinks when they inflate. Thread-safe; `start` callbacks run
// without the gate's lock held.
class CommandGate {
 public:
  struct Options {
    int initial_limit = 2;
    int min_limit = 1;
    int max_limit = 64;
    bool adaptive = true;
  };

  struct Stats {
    int limit = 0;
    int in_flight = 0;
    int queued = 0;
  };

  // Called once: with OK when the command may run (then Done must follow),
  // or DEADLINE_EXCEEDED when its deadline passed while it waited.
  using Start = absl::AnyInvocable<void(absl::Status) &&>;

  CommandGate(Options options, Scheduler& scheduler);

  // Runs `start` now if there is room, otherwise queues it behind the
  // lease's earlier commands.
  void Enter(const std::string& lease, absl::Time deadline, Start start);

  // A command that was let in has ended. `method` and `took` feed the
  // adaptive limit; an unset `took` (the command never reached a window, or
  // its time says nothing of the browser's load) only frees the room.
  void Done(const std::string& method, std::optional<absl::Duration> took);

  Stats stats() const;

 private:
  struct Entry {
    uint64_t id;
    Start start;
  };
  struct Best {
    absl::Duration current = absl::InfiniteDuration();  // This window's minimum.
    absl::Duration previous = absl::InfiniteDuration();
    int samples = 0;
  };

  void Expire(const std::string& lease, uint64_t id);
  // Takes the next entry in round-robin order, if the limit allows.
  std::optional<Entry> NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdaptLocked(const std::string& method, absl::Duration took)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Scheduler& scheduler_;

  mutable absl::Mutex mu_;
  int limit_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int queued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Waiting commands per lease, and the leases with any, in turn order.
  absl::flat_hash_map<std::string, std::deque<Entry>> waiting_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> turns_ ABSL_GUARDED_BY(mu_);
  // Adaptive state: each method's best latency, the smoothed inflation of
  // latencies over their best, and completions since the last change.
  absl::flat_hash_map<std::string, Best> best_ ABSL_GUARDED_BY(mu_);
  double inflation_ ABSL_GUARDED_BY(mu_) = 1.0;
  int since_change_ ABSL_GUARDED_BY(mu_) = 0;
  int peak_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace foxpool::pool
