#include "firefox/memory.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace foxpool::firefox {
namespace {

std::optional<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The process group of /proc/<pid>/stat's process. The command name (field
// 2) may hold spaces and parentheses, so fields are counted after the last
// ')': state, ppid, pgrp.
std::optional<pid_t> ProcessGroupOf(const std::filesystem::path& stat_path) {
  std::optional<std::string> stat = ReadFile(stat_path);
  if (!stat) return std::nullopt;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(close + 1), ' ', absl::SkipEmpty());
  int pgrp = 0;
  if (fields.size() < 3 || !absl::SimpleAtoi(fields[2], &pgrp)) return std::nullopt;
  return pgrp;
}

// This process's cgroup v2 directory.
std::optional<std::filesystem::path> OwnCgroup(const std::filesystem::path& proc,
                                               const std::filesystem::path& root) {
  std::optional<std::string> self = ReadFile(proc / "self/cgroup");
  if (!self) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*self, '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) {
      return root / std::filesystem::path(std::string(line)).relative_path();
    }
  }
  return std::nullopt;
}

// Walks from this process's cgroup up to the root and returns the first
// directory with a numeric memory.max.
std::optional<std::filesystem::path> LimitedCgroup(const std::filesystem::path& proc,
                                                   const std::filesystem::path& root) {
  std::optional<std::filesystem::path> dir = OwnCgroup(proc, root);
  while (dir.has_value()) {
    std::optional<std::string> max = ReadFile(*dir / "memory.max");
    uint64_t limit = 0;
    if (max && absl::SimpleAtoi(absl::StripAsciiWhitespace(*max), &limit)) return dir;
    if (*dir == root || !dir->has_parent_path() || dir->parent_path() == *dir) break;
    dir = dir->parent_path();
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<uint64_t> ParseKeyedValue(absl::string_view text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    absl::ConsumePrefix(&line, ":");
    if (line.empty() || (line.front() != ' ' && line.front() != '\t')) continue;  // "Pss_Anon".
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint64_t value = 0;
    if (!words.empty() && absl::SimpleAtoi(words[0], &value)) return value;
  }
  return absl::NotFoundError(absl::StrCat("no ", key, " value"));
}

absl::StatusOr<uint64_t> ParsePss(absl::string_view smaps_rollup) {
  absl::StatusOr<uint64_t> kb = ParseKeyedValue(smaps_rollup, "Pss");
  if (!kb.ok()) return kb.status();
  return *kb * 1024;
}

absl::StatusOr<uint64_t> ProcessGroupPss(pid_t pgid, const std::filesystem::path& proc) {
  uint64_t total = 0;
  bool found = false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(proc, ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (ProcessGroupOf(entry.path() / "stat") != pgid) continue;
    // A process may exit between the two reads; it then simply adds nothing.
    std::optional<std::string> rollup = ReadFile(entry.path() / "smaps_rollup");
    if (!rollup) continue;
    absl::StatusOr<uint64_t> pss = ParsePss(*rollup);
    if (!pss.ok()) continue;
    total += *pss;
    found = true;
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list ", proc.string()));
  if (!found) return absl::NotFoundError(absl::StrCat("no process in group ", pgid));
  return total;
}

std::optional<uint64_t> OomKillCount(const std::filesystem::path& proc,
                                     const std::filesystem::path& cgroup_root) {
  std::optional<std::filesystem::path> dir = OwnCgroup(proc, cgroup_root);
  if (!dir) return std::nullopt;
  std::optional<std::string> events = ReadFile(*dir / "memory.events");
  if (!events) return std::nullopt;
  absl::StatusOr<uint64_t> kills = ParseKeyedValue(*events, "oom_kill");
  if (!kills.ok()) return std::nullopt;
  return *kills;
}

uint64_t SelfResidentBytes(const std::filesystem::path& proc) {
  std::optional<std::string> status = ReadFile(proc / "self/status");
  if (!status) return 0;
  absl::StatusOr<uint64_t> kb = ParseKeyedValue(*status, "VmRSS");
  return kb.ok() ? *kb * 1024 : 0;
}

absl::StatusOr<SystemMemory> ReadSystemMemory(const std::filesystem::path& proc,
                                              const std::filesystem::path& cgroup_root) {
  if (std::optional<std::filesystem::path> dir = LimitedCgroup(proc, cgroup_root)) {
    std::optional<std::string> max = ReadFile(*dir / "memory.max");
    std::optional<std::string> current = ReadFile(*dir / "memory.current");
    std::optional<std::string> stat = ReadFile(*dir / "memory.stat");
    uint64_t limit = 0;
    uint64_t used = 0;
    if (max && current && absl::SimpleAtoi(absl::StripAsciiWhitespace(*max), &limit) &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(*current), &used)) {
      absl::StatusOr<uint64_t> inactive =
          stat ? ParseKeyedValue(*stat, "inactive_file") : absl::NotFoundError("");
      if (inactive.ok() && *inactive <= used) used -= *inactive;
      return SystemMemory{used, limit, "cgroup"};
    }
  }
  std::optional<std::string> meminfo = ReadFile(proc / "meminfo");
  if (!meminfo) return absl::UnavailableError("cannot read " + (proc / "meminfo").string());
  absl::StatusOr<uint64_t> total = ParseKeyedValue(*meminfo, "MemTotal");
  absl::StatusOr<uint64_t> available = ParseKeyedValue(*meminfo, "MemAvailable");
  if (!total.ok() || !available.ok() || *available > *total) {
    return absl::DataLossError("meminfo has no usable MemTotal/MemAvailable");
  }
  return SystemMemory{(*total - *available) * 1024, *total * 1024, "meminfo"};
}

}  // namespace foxpool::firefox
