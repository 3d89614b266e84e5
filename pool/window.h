#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pool/ids.h"

namespace foxpool::pool {

// One browser window the pool can lease: the seam between the pool and the
// browser that drives it. Implementations must be thread-safe; callbacks may
// run on any thread, but never inside the call that started them returns
// before its own locks are released (the pool calls in without holding its
// lock, so an implementation may also call back synchronously).
class Window {
 public:
  using CallDone = absl::AnyInvocable<void(absl::StatusOr<std::string>) &&>;
  using ResetDone = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~Window() = default;

  // Runs one command in the window. `params_json` is a JSON object; the result
  // is JSON text. `done` is called exactly once, by `deadline` at the latest.
  virtual void Call(std::string method, std::string params_json, absl::Time deadline,
                    CallDone done) = 0;

  // Returns the window to the state of a fresh browser (one blank tab, no
  // cookies or site data) and verifies it. `done` is called exactly once, by
  // `deadline` at the latest (the pool sets no timer of its own for it).
  virtual void Reset(absl::Time deadline, ResetDone done) = 0;

  // Receives what happens in the window unasked (page console, dialogs,
  // navigations), each as a JSON object, from now until replaced; null
  // stops it. Windows that report nothing may ignore it.
  using EventSink = std::function<void(std::string event_json)>;
  virtual void SetEventSink(EventSink sink) {}

  // Stops the browser and releases everything it holds (processes, profile).
  // Idempotent; never blocks. Pending calls fail at once.
  virtual void Close() = 0;
};

// A window's failure status (from Start or the died callback) may carry this
// payload: one of kWindowFailureReasons, a stable word for why (metrics count
// failures by it; a status without one counts as "other").
inline constexpr char kWindowFailurePayload[] = "type.foxpool.dev/window-failure";
inline constexpr const char* kWindowFailureReasons[] = {
    "start_failed",   // could not launch, or its extension never answered
    "start_timeout",  // not ready within the start timeout
    "exited",         // the browser exited by itself
    "signaled",       // the browser was killed by a signal (OOM killer, kill -9)
    "disconnected",   // the extension stayed disconnected past its grace
};

// What kind of window to start.
struct WindowSpec {
  // Empty: a fresh throwaway profile. Otherwise the named persistent profile
  // (its cookies and storage survive the window); at most one window per
  // profile runs at a time, and its Reset() is never called.
  std::string profile;
};

// Starts windows for the pool.
class WindowFactory {
 public:
  using StartDone = absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<Window>>) &&>;
  // Called at most once, after a successful start, when the window dies on
  // its own (crash, kill, lost connection). Not called after Close().
  using DiedCallback = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~WindowFactory() = default;

  // Starts window `id` as `spec` says. `ready` is called exactly once, with
  // the window when it is ready to serve commands or with why it could not
  // start.
  virtual void Start(WindowId id, const WindowSpec& spec, StartDone ready, DiedCallback died) = 0;
};

}  // namespace foxpool::pool
