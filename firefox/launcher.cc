#include "firefox/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <system_error>
#include <utility>

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
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", instance_dir_.string(), ": ", ec.message()));
  }
  lock_fd_ = open((instance_dir_ / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::InternalError("cannot lock " + (instance_dir_ / "lock").string());
  }
  return absl::OkStatus();
}

void Launcher::Start(pool::WindowId id, StartDone ready, DiedCallback died) {
  WindowOptions window_options{
      .firefox_binary = options_.firefox_binary,
      .profile_dir = instance_dir_ / id.ToString(),
      .width = options_.width,
      .height = options_.height,
      .start_timeout = options_.start_timeout,
  };
  auto window = std::make_shared<FirefoxWindow>(io_, hub_, id, std::move(window_options),
                                                [this, id] { OnGone(id); });
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      std::move(ready)(absl::UnavailableError("the server is shutting down"));
      return;
    }
    live_[id] = window;
  }
  window->Launch(std::move(ready), std::move(died));
}

void Launcher::OnGone(pool::WindowId id) {
  absl::MutexLock lock(&mu_);
  live_.erase(id);
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
  std::vector<std::shared_ptr<FirefoxWindow>> windows;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (const auto& [id, weak] : live_) {
      if (auto window = weak.lock()) windows.push_back(std::move(window));
    }
  }
  for (auto& window : windows) window->Close();
  windows.clear();
  bool all_gone;
  {
    absl::MutexLock lock(&mu_);
    all_gone = mu_.AwaitWithTimeout(absl::Condition(this, &Launcher::NoneLiveLocked), timeout);
  }
  if (!all_gone) spdlog::error("some Firefox windows did not exit in time");
  std::error_code ec;
  std::filesystem::remove_all(instance_dir_, ec);
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
