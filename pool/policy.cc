#include "pool/policy.h"

#include <algorithm>

namespace foxpool::pool {

int DesiredWindows(const SizePolicy& policy, int busy, int waiters) {
  int ceiling = std::max(policy.size, policy.max_windows);
  int want = busy + std::max(policy.min_idle, waiters);
  return std::clamp(want, policy.size, ceiling);
}

std::optional<Recycle> RecycleReason(const RecyclePolicy& policy, const WindowFacts& facts) {
  if (policy.max_leases > 0 && facts.leases_served >= policy.max_leases) {
    return Recycle::kMaxLeases;
  }
  if (policy.max_memory_bytes > 0 && facts.memory_bytes > policy.max_memory_bytes) {
    return Recycle::kMaxMemory;
  }
  if (policy.max_age > absl::ZeroDuration() && facts.age >= policy.max_age) {
    return Recycle::kMaxAge;
  }
  return std::nullopt;
}

size_t PickIdle(const std::vector<uint64_t>& memory) {
  constexpr uint64_t kStep = uint64_t{64} << 20;
  size_t best = 0;
  for (size_t i = 1; i < memory.size(); ++i) {
    if (memory[i] / kStep < memory[best] / kStep) best = i;
  }
  return best;
}

}  // namespace foxpool::pool
