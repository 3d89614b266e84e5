#include "firefox/profile_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace foxpool::firefox {
namespace {

namespace fs = std::filesystem;

// Replaces `to` with a copy of `from`, through a temporary sibling so that a
// crash half-way leaves the old `to` in place.
absl::Status CopyTree(const fs::path& from, const fs::path& to) {
  fs::path temp = to;
  temp += ".tmp";
  std::error_code ec;
  fs::remove_all(temp, ec);
  fs::copy(from, temp, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  // Firefox's lock files say "in use"; a copy is not.
  for (const char* lock : {"lock", ".parentlock"}) {
    std::error_code ignored;
    fs::remove(temp / lock, ignored);
  }
  if (ec) {
    fs::remove_all(temp, ec);
    return absl::InternalError(absl::StrCat("cannot copy ", from.string(), ": ", ec.message()));
  }
  fs::remove_all(to, ec);
  fs::rename(temp, to, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot rename ", temp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

bool QuickCheckPasses(const fs::path& file) {
  sqlite3* db = nullptr;
  bool ok = false;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* check = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, nullptr) == SQLITE_OK &&
        sqlite3_step(check) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(check, 0);
      ok = text != nullptr && std::string(reinterpret_cast<const char*>(text)) == "ok";
    }
    sqlite3_finalize(check);
  }
  sqlite3_close(db);
  return ok;
}

uint64_t TreeSize(const fs::path& dir) {
  uint64_t size = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) size += it->file_size(ec);
  }
  return size;
}

}  // namespace

ProfileStore::ProfileStore(fs::path state_dir, fs::path template_dir)
    : root_(std::move(state_dir) / "profiles"), template_(std::move(template_dir)) {}

ProfileStore::~ProfileStore() {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, fd] : locks_) close(fd);
}

absl::Status ProfileStore::CheckName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '-' && name.front() != '_';
  for (char c : name) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("profile name \"", name.substr(0, 80),
                   "\" is not 1-64 of a-z, 0-9, '-' and '_' starting with a letter or digit"));
}

std::vector<std::string> ProfileStore::CorruptDatabases(const fs::path& dir) {
  std::vector<std::string> corrupt;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".sqlite" &&
        !QuickCheckPasses(it->path())) {
      corrupt.push_back(fs::relative(it->path(), dir, ec).string());
    }
  }
  return corrupt;
}

absl::StatusOr<ProfileStore::Prepared> ProfileStore::Prepare(const std::string& name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (locks_.contains(name)) {
    return absl::FailedPreconditionError(absl::StrCat("profile ", name, " is in use"));
  }
  std::error_code ec;
  fs::create_directories(Dir(name), ec);
  // Cookies, storage and the window's hub secret live here: the server's
  // user only.
  if (!ec) fs::permissions(root_, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (!ec && !fs::exists(Dir(name) / "current")) {
    if (!template_.empty()) {
      if (absl::Status s = CopyTree(template_, Dir(name) / "current"); !s.ok()) return s;
      spdlog::info("profile {} created from the template {}", name, template_.string());
    } else {
      fs::create_directories(Dir(name) / "current", ec);
    }
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create profile ", name, ": ", ec.message()));
  int fd = open((Dir(name) / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (fd >= 0) close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("profile ", name, " is in use by another foxpool server"));
  }
  locks_[name] = fd;
  Prepared prepared{Dir(name) / "current", ""};
  // A Firefox that died leaves its lock files; no Firefox runs on it now.
  for (const char* stale : {"lock", ".parentlock"}) fs::remove(prepared.dir / stale, ec);
  std::vector<std::string> corrupt = CorruptDatabases(prepared.dir);
  if (!corrupt.empty()) {
    prepared.restored = absl::StrCat("corrupt ", absl::StrJoin(corrupt, ", "));
    if (absl::Status s = RestoreLocked(name, prepared.restored); !s.ok()) {
      close(fd);
      locks_.erase(name);
      return s;
    }
    ++restores_["corrupt"];
  }
  return prepared;
}

absl::Status ProfileStore::RestoreLocked(const std::string& name, absl::string_view why) {
  fs::path snapshot = Dir(name) / "snapshot";
  std::error_code ec;
  if (fs::exists(snapshot, ec)) {
    spdlog::warn("profile {} restored from its snapshot ({})", name, std::string(why));
    return CopyTree(snapshot, Dir(name) / "current");
  }
  spdlog::warn("profile {} has no snapshot to restore ({}): starting it empty", name,
               std::string(why));
  fs::remove_all(Dir(name) / "current", ec);
  fs::create_directories(Dir(name) / "current", ec);
  return ec ? absl::InternalError(ec.message()) : absl::OkStatus();
}

absl::Status ProfileStore::Restore(const std::string& name, absl::string_view why) {
  absl::MutexLock lock(&mu_);
  ++restores_["start_failed"];
  return RestoreLocked(name, why);
}

void ProfileStore::Finished(const std::string& name, bool clean_exit) {
  absl::MutexLock lock(&mu_);
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  if (clean_exit) {
    if (absl::Status s = CopyTree(Dir(name) / "current", Dir(name) / "snapshot"); !s.ok()) {
      spdlog::warn("profile {}: no snapshot taken: {}", name, std::string(s.message()));
    }
  }
  close(it->second);
  locks_.erase(it);
}

std::vector<ProfileStore::Info> ProfileStore::List() const {
  std::vector<Info> profiles;
  std::error_code ec;
  absl::MutexLock lock(&mu_);
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !CheckName(name).ok()) continue;
    Info info{name, TreeSize(entry.path() / "current"), fs::exists(entry.path() / "snapshot"),
              locks_.contains(name), absl::Time()};
    auto written = fs::last_write_time(entry.path() / "current", ec);
    if (!ec) {
      info.last_used = absl::FromChrono(std::chrono::file_clock::to_sys(written));
    }
    profiles.push_back(std::move(info));
  }
  std::sort(profiles.begin(), profiles.end(),
            [](const Info& a, const Info& b) { return a.name < b.name; });
  return profiles;
}

absl::Status ProfileStore::Delete(const std::string& name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  std::error_code ec;
  if (!fs::exists(Dir(name), ec)) {
    return absl::NotFoundError(absl::StrCat("no profile ", name));
  }
  if (locks_.contains(name)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "profile ", name, " has a window (leased, or kept warm): release it with mode reset"));
  }
  int fd = open((Dir(name) / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  bool free = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (fd >= 0) close(fd);
  if (!free) {
    return absl::FailedPreconditionError(
        absl::StrCat("profile ", name, " is in use by another foxpool server"));
  }
  fs::remove_all(Dir(name), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot delete ", name, ": ", ec.message()));
  return absl::OkStatus();
}

std::map<std::string, int64_t> ProfileStore::restores() const {
  absl::MutexLock lock(&mu_);
  return restores_;
}

}  // namespace foxpool::firefox
