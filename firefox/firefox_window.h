#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "firefox/channel.h"
#include "firefox/hub.h"
#include "firefox/process.h"
#include "firefox/url_policy.h"
#include "pool/window.h"

namespace foxpool::firefox {

struct WindowOptions {
  std::string firefox_binary = "/usr/bin/firefox-esr";
  // The window's own profile directory; created by Launch, removed when the
  // browser is gone.
  std::filesystem::path profile_dir;
  int width = 1280;
  int height = 800;
  // From launch until the extension has connected and the first reset passed.
  absl::Duration start_timeout = absl::Seconds(30);
  // How long a ready window may stay disconnected before it counts as dead.
  absl::Duration reconnect_grace = absl::Seconds(5);
  // Close() asks Firefox to quit (through the extension) and kills its
  // process group if it is still there after this long. Zero: kill at once.
  absl::Duration close_grace = absl::Seconds(1);
  // A persistent profile: left in place when the browser is gone, and not
  // reset at start (the first check is a ping, so its data stays).
  bool keep_profile = false;
  // user_pref lines added to the profile after foxpool's own.
  std::string extra_prefs;
  // Where the window's pages may go; its extension enforces it.
  UrlPolicy url_policy;
  // A seed profile (see CopySeed) the new profile starts from; empty: none.
  std::filesystem::path seed;
};

// One headless Firefox process group with its own profile, driven through
// its extension's channel on the hub.
//
// Life: Launch() writes the profile, starts Firefox and waits for the
// extension to connect and pass a first reset; then `ready` gets the window.
// When the process exits (crash, kill, Close), the group is killed, the
// process reaped, the profile removed, and `died` (or `ready`, if it was
// still starting) hears why; `on_gone` runs last. State lives on a strand;
// the public methods may be called from any thread.
class FirefoxWindow : public pool::Window, public std::enable_shared_from_this<FirefoxWindow> {
 public:
  // `on_gone(clean)` runs last, once the browser is gone; `clean` when it
  // was closed and quit by itself (exit code 0), so its profile is whole.
  FirefoxWindow(boost::asio::io_context& io, Hub& hub, pool::WindowId id, WindowOptions options,
                std::function<void(bool clean)> on_gone);
  ~FirefoxWindow() override;

  void Launch(pool::WindowFactory::StartDone ready, pool::WindowFactory::DiedCallback died);

  void Call(std::string method, std::string params_json, absl::Time deadline,
            CallDone done) override;
  void Reset(absl::Time deadline, ResetDone done) override;
  void SetEventSink(EventSink sink) override;
  void Close() override;
  // Kills the process group at once, without asking Firefox to quit, and
  // leaves the profile directory for the caller to remove: at shutdown,
  // where nothing is worth saving, a graceful quit of many windows costs
  // time, and the launcher removes its whole instance directory in one pass
  // (dozens of windows each removing their own raced it and outlasted the
  // shutdown's bound).
  void CloseNow();

  pool::WindowId id() const { return id_; }
  // The Firefox main process, 0 before launch.
  pid_t pid() const;
  // The window's session on the hub (not a secret: the hub also wants the
  // secret); logs carry it to tie the window's lines together.
  const SessionId& session() const { return session_; }

 private:
  enum class State { kNew, kStarting, kReady, kGone };

  void CloseOnStrand(bool graceful);
  void DoLaunch();
  void WatchExit();
  void OnExit();
  void OnConnectionChange(bool connected);
  // Answers `done` with {"pdf": base64} once Firefox's PDF printer has
  // written `file` whole, or fails at `deadline`.
  void AwaitPrintedPdf(std::filesystem::path file, absl::Time deadline, CallDone done);
  void FirstReset();
  // Kills the group; OnExit finishes the job and reports `reason`.
  void Kill(absl::Status reason);
  std::string LogTail() const;
  // Why Firefox went away on its own: exit, OOM hint, last URL, last output.
  std::string CrashReport(const std::string& exit) const;

  Hub& hub_;
  const pool::WindowId id_;
  const WindowOptions options_;
  std::function<void(bool clean)> on_gone_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  const SessionId session_;
  const std::string secret_;
  const std::shared_ptr<Channel> channel_;

  // On the strand:
  State state_ = State::kNew;
  bool closed_ = false;
  bool leave_profile_ = false;  // CloseNow: the caller removes it.
  absl::Status kill_reason_;
  absl::Time launched_at_;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> exit_watch_;
  boost::asio::steady_timer start_timer_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer close_timer_;
  pool::WindowFactory::StartDone ready_;
  pool::WindowFactory::DiedCallback died_;
  std::atomic<pid_t> pid_{0};
  std::optional<uint64_t> oom_kills_at_launch_;  // On the strand.
  mutable absl::Mutex last_url_mu_;
  std::string last_url_ ABSL_GUARDED_BY(last_url_mu_);  // The last Navigate's.
};

}  // namespace foxpool::firefox
