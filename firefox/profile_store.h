#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace foxpool::firefox {

// Named persistent profiles under `<state_dir>/profiles/<name>/`:
//   current/   the Firefox profile a window runs on (cookies, storage, logins)
//   snapshot/  a copy of current/ taken after the last clean exit
//   lock       flock'ed while a window of this server runs on it, so that
//              two servers sharing a state directory never share a profile
//
// A profile is created on first use (a copy of the template, or empty; the
// launcher writes foxpool's preferences and extension into it at every
// start). Before each
// start its SQLite databases get `PRAGMA quick_check`; a profile that fails
// it, or fails to start, is restored from its snapshot (or emptied when it
// has none). Thread-safe.
class ProfileStore {
 public:
  // Nothing is created until a profile is first used. A new profile is a
  // copy of `template_dir` when one is given (an operator's seed: settings,
  // certificates, a logged-in session), else empty.
  explicit ProfileStore(std::filesystem::path state_dir, std::filesystem::path template_dir = {});
  ~ProfileStore();

  // 1–64 of [a-z0-9_-], starting with a letter or digit. INVALID_ARGUMENT.
  static absl::Status CheckName(absl::string_view name);

  struct Prepared {
    std::filesystem::path dir;  // current/
    // Why it was restored before this start ("" if it was not).
    std::string restored;
  };
  // Locks `name` and readies its current/ for a start (see above).
  // FAILED_PRECONDITION when another server holds it.
  absl::StatusOr<Prepared> Prepare(const std::string& name);
  // Restores `name` (locked by Prepare) from its snapshot after a failed start.
  absl::Status Restore(const std::string& name, absl::string_view why);
  // Its window is gone: snapshot current/ if the exit was clean, unlock.
  void Finished(const std::string& name, bool clean_exit);

  struct Info {
    std::string name;
    uint64_t size_bytes = 0;
    bool has_snapshot = false;
    bool in_use = false;
    absl::Time last_used;  // the current/ directory's modification time
  };
  std::vector<Info> List() const;
  // NOT_FOUND, or FAILED_PRECONDITION while a window uses it.
  absl::Status Delete(const std::string& name);

  // Restores since start, by reason ("corrupt", "start_failed").
  std::map<std::string, int64_t> restores() const;

  // Names of the SQLite files in `dir` (recursively) that fail quick_check.
  static std::vector<std::string> CorruptDatabases(const std::filesystem::path& dir);

 private:
  std::filesystem::path Dir(const std::string& name) const { return root_ / name; }
  absl::Status RestoreLocked(const std::string& name, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::filesystem::path root_;  // <state_dir>/profiles
  const std::filesystem::path template_;
  mutable absl::Mutex mu_;
  std::map<std::string, int> locks_ ABSL_GUARDED_BY(mu_);  // name -> flock'ed fd
  std::map<std::string, int64_t> restores_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::firefox
