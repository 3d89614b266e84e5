#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace foxpool::firefox {

// Memory as the kernel accounts it, read from /proc and cgroup v2 files.
// Plain functions of the files they read; safe from any thread. Each read
// costs a few file reads per process, so callers sample on an interval.

// Proportional set size of every process in process group `pgid` (a window's
// Firefox and its content processes), in bytes: shared pages are split
// between the processes that map them, so windows' sums add up honestly.
// NOT_FOUND when no process of the group is left.
absl::StatusOr<uint64_t> ProcessGroupPss(pid_t pgid, const std::filesystem::path& proc = "/proc");

// Resident set size of this process, in bytes (0 if unreadable).
uint64_t SelfResidentBytes(const std::filesystem::path& proc = "/proc");

struct SystemMemory {
  uint64_t used_bytes = 0;
  uint64_t limit_bytes = 0;
  // "cgroup" (a memory.max limit applies) or "meminfo" (the whole machine).
  std::string source;
  double used_ratio() const {
    return limit_bytes == 0 ? 0.0 : static_cast<double>(used_bytes) / limit_bytes;
  }
};

// The memory this process may use and how much of it is used: the nearest
// cgroup v2 memory.max above this process when one is set (used = its
// memory.current less inactive file cache, the "working set" the OOM killer
// and kubelet look at), else the machine's MemTotal and MemTotal -
// MemAvailable.
absl::StatusOr<SystemMemory> ReadSystemMemory(
    const std::filesystem::path& proc = "/proc",
    const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// How many times the OOM killer fired in this process's cgroup (v2
// memory.events "oom_kill"); nullopt where that is not readable.
std::optional<uint64_t> OomKillCount(const std::filesystem::path& proc = "/proc",
                                     const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// --- parsers, exposed for tests ---
// The "Pss:" line of smaps_rollup, in bytes.
absl::StatusOr<uint64_t> ParsePss(absl::string_view smaps_rollup);
// The value of `key` ("MemTotal") in a /proc/meminfo-style or
// memory.stat-style text, in the file's unit (kB for meminfo, bytes for
// memory.stat).
absl::StatusOr<uint64_t> ParseKeyedValue(absl::string_view text, absl::string_view key);

}  // namespace foxpool::firefox
