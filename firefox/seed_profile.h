#pragma once

#include <filesystem>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "firefox/firefox_window.h"
#include "firefox/hub.h"

namespace foxpool::firefox {

// The seed profile that throwaway windows start from (kSeedEntries: the
// add-on registry and start-up caches; see CopySeed), made once per server
// start by a Firefox of its own: started on a fresh profile, asked to quit
// once it wrote its script caches (or after `cache_wait`), then pruned.
//
// A seed that fails to be made is off: windows get fresh profiles, as
// without one. So is a seed whose windows fail to start before one of them
// started: a Firefox that no longer takes it must not stop the pool.
// Thread-safe; callbacks hold the object alive, so it may outlive its owner.
class SeedProfile : public std::enable_shared_from_this<SeedProfile> {
 public:
  // `options.profile_dir` is where the seed is made; its Firefox is quit
  // gracefully, within `options.close_grace`.
  SeedProfile(boost::asio::io_context& io, Hub& hub, WindowOptions options,
              absl::Duration cache_wait = absl::Seconds(20));

  // Starts making the seed; later calls do nothing.
  void Make();

  // The seed's directory once made (and not off); empty before and after.
  std::filesystem::path Ready() const;

  // How a window started from the seed (Ready() was not empty) fared: `ok`
  // if it started, false if it failed to start (not if it was closed).
  void Started(bool ok);

  // Kills the seed's Firefox if it still runs and waits (up to `timeout`)
  // until it is gone. Afterwards the seed is off. True when it is gone.
  bool Stop(absl::Duration timeout);

 private:
  enum class State { kNone, kMaking, kReady, kOff };

  void WaitForCaches(absl::Time deadline);
  void OnGone(bool clean);
  bool GoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return window_ == nullptr; }

  boost::asio::io_context& io_;
  Hub& hub_;
  const WindowOptions options_;
  const absl::Duration cache_wait_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;  // On the strand.

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kNone;
  bool proven_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time started_ ABSL_GUARDED_BY(mu_);
  // The seed's Firefox while it runs.
  std::shared_ptr<FirefoxWindow> window_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::firefox
