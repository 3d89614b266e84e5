#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "firefox/launcher.h"
#include "firefox/memory.h"
#include "pool/ids.h"

namespace foxpool::server {

struct MemorySnapshot {
  absl::Time taken;
  struct Window {
    pool::WindowId id;
    pid_t pid = 0;
    uint64_t pss_bytes = 0;
  };
  std::vector<Window> windows;  // in window id order
  uint64_t windows_pss_bytes = 0;
  uint64_t server_rss_bytes = 0;
  std::optional<firefox::SystemMemory> system;
  // Set above the threshold, cleared again only below threshold - 0.05, so
  // that a ratio hovering at the threshold does not flap.
  bool pressure = false;
};

struct MemorySamplerOptions {
  absl::Duration interval = absl::Seconds(5);
  double threshold = 0.75;
};

// Samples the windows' PSS, the server's RSS and system (or cgroup) memory on
// its own thread every interval; Latest() is the last sample. Reading
// smaps_rollup walks a process's page tables, so it is kept off the event
// loops. Thread-safe; the destructor stops the thread.
class MemorySampler {
 public:
  using ProcessList = std::function<std::vector<firefox::Launcher::WindowProcess>()>;
  // Hears each sample, on the sampler's thread (the pool's memory policy).
  using OnSample = std::function<void(const MemorySnapshot&)>;

  MemorySampler(MemorySamplerOptions options, ProcessList processes, OnSample on_sample = {});
  ~MemorySampler();

  // Takes a first sample now, then one per interval.
  void Start();
  MemorySnapshot Latest() const;
  const MemorySamplerOptions& options() const { return options_; }

 private:
  void Sample();

  const MemorySamplerOptions options_;
  const ProcessList processes_;
  const OnSample on_sample_;
  mutable absl::Mutex mu_;
  MemorySnapshot latest_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The pressure flag after `ratio` was seen, given the flag before.
bool NextPressure(bool before, double ratio, double threshold);

}  // namespace foxpool::server
