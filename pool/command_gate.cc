#include "pool/command_gate.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace foxpool::pool {
namespace {

// A method's best latency is the minimum over its last two windows of this
// many samples, so that a best from an idle past is forgotten.
constexpr int kBestWindow = 200;
// Smoothing of the latency inflation (weight of each new sample).
constexpr double kSmoothing = 0.1;
// Commands estimated to wait inside the browsers: fewer than kGrowBelow
// and the limit may grow; more than half the limit (latencies over twice
// their best) and it shrinks.
constexpr double kGrowBelow = 1.0;

}  // namespace

CommandGate::CommandGate(Options options, Scheduler& scheduler)
    : options_(options),
      scheduler_(scheduler),
      limit_(std::clamp(options.initial_limit, options.min_limit, options.max_limit)) {}

void CommandGate::Enter(const std::string& lease, absl::Time deadline, Start start) {
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    // Room, and nobody waiting ahead: run at once.
    if (queued_ == 0 && in_flight_ < limit_) {
      ++in_flight_;
      peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
    } else {
      id = next_id_++;
      auto [it, first] = waiting_.try_emplace(lease);
      if (first) turns_.push_back(lease);
      it->second.push_back(Entry{id, std::move(start)});
      ++queued_;
    }
  }
  if (id == 0) {
    std::move(start)(absl::OkStatus());
    return;
  }
  if (deadline != absl::InfiniteFuture()) {
    scheduler_.RunAfter(deadline - scheduler_.Now(), [this, lease, id] { Expire(lease, id); });
  }
}

void CommandGate::Expire(const std::string& lease, uint64_t id) {
  Start start;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(lease);
    if (it == waiting_.end()) return;
    std::deque<Entry>& entries = it->second;
    auto entry = std::find_if(entries.begin(), entries.end(),
                              [id](const Entry& e) { return e.id == id; });
    if (entry == entries.end()) return;  // Let in meanwhile.
    start = std::move(entry->start);
    entries.erase(entry);
    --queued_;
    if (entries.empty()) {
      waiting_.erase(it);
      turns_.remove(lease);
    }
  }
  std::move(start)(absl::DeadlineExceededError(
      "the command waited for the browsers (too many commands in flight) until its deadline"));
}

std::optional<CommandGate::Entry> CommandGate::NextLocked() {
  if (queued_ == 0 || in_flight_ >= limit_) return std::nullopt;
  std::string lease = std::move(turns_.front());
  turns_.pop_front();
  auto it = waiting_.find(lease);
  Entry entry = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) {
    waiting_.erase(it);
  } else {
    turns_.push_back(std::move(lease));  // Its next command waits for its next turn.
  }
  --queued_;
  ++in_flight_;
  peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
  return entry;
}

void CommandGate::Done(const std::string& method, std::optional<absl::Duration> took) {
  std::vector<Entry> ready;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    if (took.has_value() && options_.adaptive) AdaptLocked(method, *took);
    while (std::optional<Entry> next = NextLocked()) ready.push_back(*std::move(next));
  }
  for (Entry& entry : ready) std::move(entry.start)(absl::OkStatus());
}

void CommandGate::AdaptLocked(const std::string& method, absl::Duration took) {
  Best& best = best_[method];
  best.current = std::min(best.current, took);
  if (++best.samples >= kBestWindow) {
    best.previous = best.current;
    best.current = absl::InfiniteDuration();
    best.samples = 0;
  }
  absl::Duration floor = std::min(best.current, best.previous);
  if (floor <= absl::ZeroDuration()) return;
  double inflation = std::max(1.0, absl::FDivDuration(took, floor));
  inflation_ = (1 - kSmoothing) * inflation_ + kSmoothing * inflation;
  // One decision per round of `limit` completions.
  if (++since_change_ < limit_) return;
  since_change_ = 0;
  // Little's law on the browsers: of `limit` commands in flight, the share
  // 1 - best/latency is waiting rather than being served.
  double waiting = limit_ * (1.0 - 1.0 / inflation_);
  bool limit_reached = peak_in_flight_ >= limit_;
  peak_in_flight_ = in_flight_;
  if (waiting > limit_ / 2.0 && limit_ > options_.min_limit) {
    --limit_;
  } else if (waiting < kGrowBelow && limit_reached && limit_ < options_.max_limit) {
    ++limit_;
  }
}

CommandGate::Stats CommandGate::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{limit_, in_flight_, queued_};
}

}  // namespace foxpool::pool
