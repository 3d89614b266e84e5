#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "firefox/firefox_window.h"
#include "firefox/hub.h"
#include "firefox/profile_store.h"
#include "firefox/seed_profile.h"
#include "firefox/url_policy.h"
#include "pool/window.h"

namespace foxpool::firefox {

struct LauncherOptions {
  std::string firefox_binary = "/usr/bin/firefox-esr";
  // Where this server's instance directory (and in it each window's
  // profile) is made.
  std::filesystem::path profile_root = std::filesystem::temp_directory_path();
  int width = 1280;
  int height = 800;
  absl::Duration start_timeout = absl::Seconds(30);
  // user_pref lines added to every profile after foxpool's own
  // (--firefox_prefs), checked by CheckPreferences.
  std::string extra_prefs;
  // Where the windows' pages may go (written into each profile).
  UrlPolicy url_policy;
  // Named persistent profiles; null: Acquire(profile) is refused.
  ProfileStore* profiles = nullptr;
  // Throwaway windows start from a seed profile (SeedProfile), made once the
  // first window is ready.
  bool seed_profiles = true;
};

// Starts Firefox windows for the pool: the pool's WindowFactory.
//
// Owns this server's instance directory `<profile_root>/foxpool-<pid>-<rand>`
// and holds an flock on its `lock` file for as long as the process lives.
// Init() removes instance directories whose lock nobody holds: what a server
// that died without cleaning up (kill -9, OOM) left behind, never another
// live server's. Throwaway windows after the first start from the seed
// profile it makes there (SeedProfile), unless options.seed_profiles is off.
// Thread-safe.
class Launcher : public pool::WindowFactory {
 public:
  Launcher(boost::asio::io_context& io, Hub& hub, LauncherOptions options);
  ~Launcher() override;

  absl::Status Init();
  const std::filesystem::path& instance_dir() const { return instance_dir_; }

  // A window on a persistent profile waits for the profile's previous window
  // (if one is still quitting) and, if it fails to start, is started once
  // more on the profile restored from its snapshot.
  void Start(pool::WindowId id, const pool::WindowSpec& spec, StartDone ready,
             DiedCallback died) override;

  // Kills every window this launcher started, waits (up to `timeout`) until
  // each process is reaped and its profile removed, then removes the
  // instance directory. The io_context must still run. True when all went.
  bool Shutdown(absl::Duration timeout);

  // The live windows' Firefox main processes (each leads its own process
  // group), for memory sampling and status.
  struct WindowProcess {
    pool::WindowId id;
    pid_t pid;
    SessionId session;
  };
  std::vector<WindowProcess> Processes() const;

 private:
  void OnGone(pool::WindowId id, bool clean);
  WindowOptions OptionsFor(std::filesystem::path profile_dir, bool keep_profile) const;
  void Launch(pool::WindowId id, std::filesystem::path profile_dir, bool keep_profile,
              StartDone ready, DiedCallback died);
  void StartOnProfile(pool::WindowId id, const std::string& profile, StartDone ready,
                      DiedCallback died);
  // Callbacks shared by the attempts to start one window on a profile.
  struct ProfileStart {
    std::string profile;
    std::filesystem::path dir;
    StartDone ready;
    DiedCallback died;
  };
  void LaunchOnProfile(pool::WindowId id, std::shared_ptr<ProfileStart> start, bool may_retry);
  // A throwaway window started (or not), from the seed or not.
  void OnThrowawayStarted(bool seeded, const absl::Status& status);
  bool NoneLiveLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  boost::asio::io_context& io_;
  Hub& hub_;
  const LauncherOptions options_;
  std::filesystem::path instance_dir_;
  int lock_fd_ = -1;
  std::shared_ptr<SeedProfile> seed_;  // Null when options_.seed_profiles is off.

  mutable absl::Mutex mu_;
  absl::flat_hash_map<pool::WindowId, std::weak_ptr<FirefoxWindow>> live_ ABSL_GUARDED_BY(mu_);
  // Live windows on persistent profiles, and the profile of each.
  absl::flat_hash_map<pool::WindowId, std::string> profile_of_ ABSL_GUARDED_BY(mu_);
  // Windows whose start failed and that start again once they are gone.
  absl::flat_hash_map<pool::WindowId, std::shared_ptr<ProfileStart>> retry_ ABSL_GUARDED_BY(mu_);
  // Starts waiting for a profile's previous window to be gone.
  absl::flat_hash_map<std::string, absl::AnyInvocable<void() &&>> waiting_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// The version in application.ini beside the (symlink-resolved) Firefox
// binary, e.g. "153.7.0"; "unknown" when there is none.
std::string FirefoxVersion(const std::filesystem::path& binary);

}  // namespace foxpool::firefox
