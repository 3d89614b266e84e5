#include "server/memory_sampler.h"

#include <algorithm>
#include <utility>

namespace foxpool::server {

bool NextPressure(bool before, double ratio, double threshold) {
  constexpr double kHysteresis = 0.05;
  return before ? ratio >= threshold - kHysteresis : ratio >= threshold;
}

MemorySampler::MemorySampler(MemorySamplerOptions options, ProcessList processes,
                             OnSample on_sample)
    : options_(options), processes_(std::move(processes)), on_sample_(std::move(on_sample)) {}

MemorySampler::~MemorySampler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void MemorySampler::Start() {
  Sample();
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    for (;;) {
      // Wakes early only to stop.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval);
      if (stop_) return;
      mu_.Unlock();
      Sample();
      mu_.Lock();
    }
  });
}

void MemorySampler::Sample() {
  MemorySnapshot next;
  next.taken = absl::Now();
  for (const auto& process : processes_()) {
    absl::StatusOr<uint64_t> pss = firefox::ProcessGroupPss(process.pid);
    if (!pss.ok()) continue;  // Gone since it was listed.
    next.windows.push_back({process.id, process.pid, *pss});
    next.windows_pss_bytes += *pss;
  }
  std::sort(next.windows.begin(), next.windows.end(),
            [](const auto& a, const auto& b) { return a.id.value() < b.id.value(); });
  next.server_rss_bytes = firefox::SelfResidentBytes();
  if (absl::StatusOr<firefox::SystemMemory> system = firefox::ReadSystemMemory(); system.ok()) {
    next.system = *system;
  }
  {
    absl::MutexLock lock(&mu_);
    next.pressure =
        next.system.has_value()
            ? NextPressure(latest_.pressure, next.system->used_ratio(), options_.threshold)
            : latest_.pressure;
    latest_ = next;
  }
  if (on_sample_) on_sample_(next);
}

MemorySnapshot MemorySampler::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

}  // namespace foxpool::server
