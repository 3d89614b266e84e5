#include "firefox/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <system_error>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pool/ids.h"
#include "spdlog/spdlog.h"

namespace foxpool::firefox {
namespace {

constexpr char kInstancePrefix[] = "foxpool-";

// True when no live process holds the instance directory's lock.
bool IsStale(const std::filesystem::path& dir) {
  int fd = open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // No lock file: a directory half made or half removed. Only call it
    // stale when it is old enough not to be one being made right now.
    std::error_code ec;
    auto written = std::filesystem::last_write_time(dir, ec);
    return !ec && std::filesystem::file_time_type::clock::now() - written > std::chrono::minutes(1);
  }
  bool stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return stale;
}

// Kills every process whose command line names a profile inside `dir`:
// Firefox processes of a dead server that outlived it (PR_SET_PDEATHSIG
// normally prevents that). Scoped to `dir`, which is stale, so another live
// server's windows are never touched. Returns how many were killed.
int KillProcessesUsing(const std::filesystem::path& dir) {
  std::string prefix = dir.string() + "/";
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid) || pid == getpid()) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string arg;
    bool uses = false;
    while (!uses && std::getline(in, arg, '\0')) uses = absl::StartsWith(arg, prefix);
    if (uses && kill(pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

}  // namespace

Launcher::Launcher(boost::asio::io_context& io, Hub& hub, LauncherOptions options)
    : io_(io), hub_(hub), options_(std::move(options)) {}

Launcher::~Launcher() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status Launcher::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.profile_root, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create profile root ", options_.profile_root.string(), ": ", ec.message()));
  }
  for (const auto& entry : std::filesystem::directory_iterator(options_.profile_root, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !absl::StartsWith(name, kInstancePrefix)) continue;
    if (!IsStale(entry.path())) continue;
    int killed = KillProcessesUsing(entry.path());
    spdlog::warn("removing {} left by a server that is gone{}", entry.path().string(),
                 killed > 0 ? absl::StrCat(" (killed ", killed, " of its Firefox processes)") : "");
    std::filesystem::remove_all(entry.path(), ec);
  }
  instance_dir_ =
      options_.profile_root / absl::StrCat(kInstancePrefix, getpid(), "-", pool::RandomHex(4));
  std::filesystem::create_directory(instance_dir_, ec);
  // Every window's hub secret is in its profile: the server's user only.
  if (!ec) {
    std::filesystem::permissions(instance_dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", instance_dir_.string(), ": ", ec.message()));
  }
  lock_fd_ = open((instance_dir_ / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::InternalError("cannot lock " + (instance_dir_ / "lock").string());
  }
  if (options_.seed_profiles) {
    // Kept (not removed when its Firefox is gone) and quit gracefully.
    seed_ = std::make_shared<SeedProfile>(
        io_, hub_, OptionsFor(instance_dir_ / "seed", /*keep_profile=*/true));
  }
  return absl::OkStatus();
}

void Launcher::Start(pool::WindowId id, const pool::WindowSpec& spec, StartDone ready,
                     DiedCallback died) {
  if (spec.profile.empty()) {
    Launch(id, instance_dir_ / id.ToString(), /*keep_profile=*/false, std::move(ready),
           std::move(died));
    return;
  }
  if (options_.profiles == nullptr) {
    std::move(ready)(absl::FailedPreconditionError("persistent profiles are off (no --state_dir)"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [other, profile] : profile_of_) {
      if (profile != spec.profile) continue;
      // Its previous window still quits (and saves it): start after it.
      waiting_[spec.profile] = [this, id, profile = spec.profile, ready = std::move(ready),
                                died = std::move(died)]() mutable {
        StartOnProfile(id, profile, std::move(ready), std::move(died));
      };
      return;
    }
  }
  StartOnProfile(id, spec.profile, std::move(ready), std::move(died));
}

void Launcher::StartOnProfile(pool::WindowId id, const std::string& profile, StartDone ready,
                              DiedCallback died) {
  absl::StatusOr<ProfileStore::Prepared> prepared = options_.profiles->Prepare(profile);
  if (!prepared.ok()) {
    std::move(ready)(prepared.status());
    return;
  }
  auto start = std::make_shared<ProfileStart>(
      ProfileStart{profile, prepared->dir, std::move(ready), std::move(died)});
  LaunchOnProfile(id, std::move(start), /*may_retry=*/true);
}

void Launcher::LaunchOnProfile(pool::WindowId id, std::shared_ptr<ProfileStart> start,
                               bool may_retry) {
  {
    absl::MutexLock lock(&mu_);
    profile_of_[id] = start->profile;
  }
  StartDone ready = [this, id, start,
                     may_retry](absl::StatusOr<std::shared_ptr<pool::Window>> window) mutable {
    if (window.ok() || !may_retry) {
      std::move(start->ready)(std::move(window));
      return;
    }
    spdlog::warn("window {} did not start on profile {}: {}; restoring the profile", id.ToString(),
                 start->profile, std::string(window.status().message()));
    absl::MutexLock lock(&mu_);
    retry_[id] = start;  // OnGone restores the profile and starts again.
  };
  DiedCallback died = [start](absl::Status why) mutable { std::move(start->died)(std::move(why)); };
  Launch(id, start->dir, /*keep_profile=*/true, std::move(ready), std::move(died));
}

WindowOptions Launcher::OptionsFor(std::filesystem::path profile_dir, bool keep_profile) const {
  return {
      .firefox_binary = options_.firefox_binary,
      .profile_dir = std::move(profile_dir),
      .width = options_.width,
      .height = options_.height,
      .start_timeout = options_.start_timeout,
      // A persistent profile is saved as Firefox quits: give it time.
      .close_grace = keep_profile ? absl::Seconds(5) : absl::Seconds(1),
      .keep_profile = keep_profile,
      .extra_prefs = options_.extra_prefs,
      .url_policy = options_.url_policy,
  };
}

void Launcher::Launch(pool::WindowId id, std::filesystem::path profile_dir, bool keep_profile,
                      StartDone ready, DiedCallback died) {
  WindowOptions window_options = OptionsFor(std::move(profile_dir), keep_profile);
  if (!keep_profile && seed_ != nullptr) {
    window_options.seed = seed_->Ready();
    ready = [this, seeded = !window_options.seed.empty(), ready = std::move(ready)](
                absl::StatusOr<std::shared_ptr<pool::Window>> window) mutable {
      OnThrowawayStarted(seeded, window.status());
      std::move(ready)(std::move(window));
    };
  }
  auto window = std::make_shared<FirefoxWindow>(io_, hub_, id, std::move(window_options),
                                                [this, id](bool clean) { OnGone(id, clean); });
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      profile_of_.erase(id);
      std::move(ready)(absl::UnavailableError("the server is shutting down"));
      return;
    }
    live_[id] = window;
  }
  window->Launch(std::move(ready), std::move(died));
}

void Launcher::OnGone(pool::WindowId id, bool clean) {
  std::string profile;
  std::shared_ptr<ProfileStart> retry;
  absl::AnyInvocable<void() &&> next;
  bool shut_down;
  {
    absl::MutexLock lock(&mu_);
    live_.erase(id);
    shut_down = shut_down_;
    auto it = profile_of_.find(id);
    if (it == profile_of_.end()) return;
    profile = it->second;
    profile_of_.erase(it);
    if (auto r = retry_.find(id); r != retry_.end()) {
      retry = std::move(r->second);
      retry_.erase(r);
    } else if (auto w = waiting_.find(profile); w != waiting_.end()) {
      next = std::move(w->second);
      waiting_.erase(w);
    }
  }
  if (retry != nullptr) {
    absl::Status restored = shut_down
                                ? absl::UnavailableError("the server is shutting down")
                                : options_.profiles->Restore(profile, "its window did not start");
    if (restored.ok()) {
      LaunchOnProfile(id, std::move(retry), /*may_retry=*/false);
      return;
    }
    options_.profiles->Finished(profile, /*clean_exit=*/false);
    std::move(retry->ready)(restored);
    return;
  }
  options_.profiles->Finished(profile, clean);
  if (next) std::move(next)();
}

void Launcher::OnThrowawayStarted(bool seeded, const absl::Status& status) {
  if (status.ok()) {
    if (seeded) seed_->Started(true);
    // The first window is ready: now the seed may take its turn.
    seed_->Make();
    return;
  }
  auto reason = status.GetPayload(pool::kWindowFailurePayload);
  if (seeded && reason.has_value() && (*reason == "start_failed" || *reason == "start_timeout")) {
    seed_->Started(false);
  }
}

bool Launcher::NoneLiveLocked() const { return live_.empty(); }

std::vector<Launcher::WindowProcess> Launcher::Processes() const {
  absl::MutexLock lock(&mu_);
  std::vector<WindowProcess> processes;
  for (const auto& [id, weak] : live_) {
    if (auto window = weak.lock(); window != nullptr && window->pid() != 0) {
      processes.push_back(WindowProcess{id, window->pid(), window->session()});
    }
  }
  return processes;
}

bool Launcher::Shutdown(absl::Duration timeout) {
  std::vector<std::shared_ptr<FirefoxWindow>> persistent, throwaway;
  absl::flat_hash_map<std::string, absl::AnyInvocable<void() &&>> waiting;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (const auto& [id, weak] : live_) {
      if (auto window = weak.lock()) {
        (profile_of_.contains(id) ? persistent : throwaway).push_back(std::move(window));
      }
    }
    waiting.swap(waiting_);
  }
  // Starts that waited for a profile's previous window: each is now told
  // that the server shuts down.
  for (auto& [profile, start] : waiting) std::move(start)();
  // A persistent profile is saved as Firefox quits; a throwaway one is
  // deleted anyway.
  for (auto& window : persistent) window->Close();
  for (auto& window : throwaway) window->CloseNow();
  persistent.clear();
  throwaway.clear();
  bool all_gone = seed_ == nullptr || seed_->Stop(timeout);
  {
    absl::MutexLock lock(&mu_);
    all_gone &= mu_.AwaitWithTimeout(absl::Condition(this, &Launcher::NoneLiveLocked), timeout);
  }
  if (!all_gone) spdlog::error("some Firefox windows did not exit in time");
  // The killed windows left their profiles to this one pass; a window
  // closed just before (recycled, shrunk) may still be removing its own,
  // which can make a pass fail on an entry gone under it: try again.
  std::error_code ec;
  for (int pass = 0; pass < 5; ++pass) {
    std::filesystem::remove_all(instance_dir_, ec);
    if (!ec) break;
  }
  if (ec) spdlog::error("could not remove {}: {}", instance_dir_.string(), ec.message());
  return all_gone;
}

std::string FirefoxVersion(const std::filesystem::path& binary) {
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::canonical(binary, ec);
  if (ec) return "unknown";
  std::ifstream ini(resolved.parent_path() / "application.ini");
  std::string line;
  bool in_app = false;
  while (std::getline(ini, line)) {
    if (absl::StartsWith(line, "[")) in_app = line == "[App]";
    if (in_app && absl::StartsWith(line, "Version=")) return line.substr(8);
  }
  return "unknown";
}

}  // namespace foxpool::firefox
