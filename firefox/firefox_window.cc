#include "firefox/firefox_window.h"

#include <signal.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/post.hpp"
#include "firefox/memory.h"
#include "firefox/profile.h"
#include "pool/ids.h"
#include "spdlog/spdlog.h"

namespace foxpool::firefox {
namespace asio = boost::asio;

namespace {

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  status.SetPayload(pool::kWindowFailurePayload, absl::Cord(reason));
  return status;
}

void RemoveDirectory(const std::filesystem::path& dir) {
  // A content process killed a moment ago may still be finishing a write, so
  // try again before giving up.
  std::error_code ec;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::filesystem::remove_all(dir, ec);
    if (!ec) return;
  }
  spdlog::error("cannot remove profile {}: {}", dir.string(), std::string(ec.message()));
}

// The whole PDF in `file` (removed once read), or UNAVAILABLE while it is
// missing or has no trailer yet.
absl::StatusOr<std::string> TakeWholePdf(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string pdf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t trailer = pdf.rfind("%%EOF");
  if (!absl::StartsWith(pdf, "%PDF-") || trailer == std::string::npos ||
      trailer + 64 < pdf.size()) {
    return absl::UnavailableError("not written yet");
  }
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  return pdf;
}

}  // namespace

FirefoxWindow::FirefoxWindow(asio::io_context& io, Hub& hub, pool::WindowId id,
                             WindowOptions options, std::function<void(bool clean)> on_gone)
    : hub_(hub),
      id_(id),
      options_(std::move(options)),
      on_gone_(std::move(on_gone)),
      strand_(asio::make_strand(io)),
      session_(SessionId::Random()),
      secret_(pool::RandomHex(32)),
      channel_(hub.Expect(session_, secret_)),
      start_timer_(strand_),
      grace_timer_(strand_),
      close_timer_(strand_) {}

FirefoxWindow::~FirefoxWindow() = default;

pid_t FirefoxWindow::pid() const { return pid_.load(); }

void FirefoxWindow::Launch(pool::WindowFactory::StartDone ready,
                           pool::WindowFactory::DiedCallback died) {
  asio::dispatch(strand_, [self = shared_from_this(), ready = std::move(ready),
                           died = std::move(died)]() mutable {
    self->ready_ = std::move(ready);
    self->died_ = std::move(died);
    self->DoLaunch();
  });
}

void FirefoxWindow::SetEventSink(EventSink sink) {
  if (!sink) {
    channel_->SetEventSink(nullptr);
    return;
  }
  channel_->SetEventSink(
      [sink = std::move(sink)](const nlohmann::json& event) { sink(event.dump()); });
}

void FirefoxWindow::DoLaunch() {
  state_ = State::kStarting;
  launched_at_ = absl::Now();
  oom_kills_at_launch_ = OomKillCount();
  std::weak_ptr<FirefoxWindow> weak = weak_from_this();
  channel_->SetListener([weak](bool connected) {
    if (auto self = weak.lock()) {
      asio::post(self->strand_, [self, connected] { self->OnConnectionChange(connected); });
    }
  });

  std::error_code ec;
  std::filesystem::create_directories(options_.profile_dir, ec);
  absl::Status written =
      ec ? absl::InternalError(
               absl::StrCat("cannot create ", options_.profile_dir.string(), ": ", ec.message()))
      : options_.seed.empty() ? absl::OkStatus()
                              : CopySeed(options_.seed, options_.profile_dir);
  if (written.ok()) {
    written = WriteProfile(options_.profile_dir,
                           ExtensionConfig{absl::StrCat("ws://127.0.0.1:", hub_.port(), "/"),
                                           session_.value(), secret_, options_.url_policy},
                           options_.extra_prefs);
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> process(absl::UnknownError(""));
  if (!written.ok()) {
    process = written;
  } else {
    std::string dir = options_.profile_dir.string();
    process = ChildProcess::Spawn(
        SpawnOptions{.binary = options_.firefox_binary,
                     .args = {"--headless", "--no-remote", "--profile", dir, "about:blank"},
                     .env = {"MOZ_HEADLESS=1", absl::StrCat("MOZ_HEADLESS_WIDTH=", options_.width),
                             absl::StrCat("MOZ_HEADLESS_HEIGHT=", options_.height),
                             "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1",
                             absl::StrCat("XDG_CACHE_HOME=", dir, "/cache")},
                     .output_path = dir + "/firefox.log"});
  }
  if (!process.ok()) {
    state_ = State::kGone;
    hub_.Forget(session_, process.status());
    if (!options_.keep_profile) RemoveDirectory(options_.profile_dir);
    std::move(ready_)(WithReason(process.status(), "start_failed"));
    on_gone_(false);
    return;
  }
  process_ = *std::move(process);
  pid_ = process_->pid();
  WatchExit();
  start_timer_.expires_after(absl::ToChronoNanoseconds(options_.start_timeout));
  start_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->state_ != State::kStarting) return;
    self->Kill(WithReason(
        absl::DeadlineExceededError(absl::StrCat(
            "Firefox was not ready within ", absl::FormatDuration(self->options_.start_timeout))),
        "start_timeout"));
  });
}

void FirefoxWindow::WatchExit() {
  exit_watch_ = std::make_unique<asio::posix::stream_descriptor>(strand_, dup(process_->fd()));
  exit_watch_->async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (ec == asio::error::operation_aborted) return;
                            self->OnExit();
                          });
}

void FirefoxWindow::OnConnectionChange(bool connected) {
  if (closed_) return;  // Quitting: the close timer or the exit decides.
  if (state_ == State::kStarting && connected) {
    FirstReset();
  } else if (state_ == State::kReady && !connected) {
    grace_timer_.expires_after(absl::ToChronoNanoseconds(options_.reconnect_grace));
    grace_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->state_ != State::kReady) return;
      self->Kill(WithReason(absl::UnavailableError(
                                absl::StrCat("the extension stayed disconnected for ",
                                             absl::FormatDuration(self->options_.reconnect_grace))),
                            "disconnected"));
    });
  } else if (state_ == State::kReady && connected) {
    grace_timer_.cancel();
  }
}

void FirefoxWindow::FirstReset() {
  // A fresh profile is clean already; the reset proves that the extension
  // can drive the window before the pool hands it out. A persistent profile
  // keeps its data: a ping proves as much.
  absl::Time deadline = launched_at_ + options_.start_timeout;
  channel_->Call(
      options_.keep_profile ? "ping" : "reset", nlohmann::json::object(), deadline,
      [self = shared_from_this()](absl::StatusOr<nlohmann::json> result) {
        asio::dispatch(self->strand_, [self, status = result.status()] {
          if (self->state_ != State::kStarting) return;
          if (!status.ok()) {
            self->Kill(WithReason(
                absl::Status(status.code(), absl::StrCat("first reset failed: ", status.message())),
                "start_failed"));
            return;
          }
          self->state_ = State::kReady;
          self->start_timer_.cancel();
          spdlog::info("window {} ready in {} (pid {})", self->id_.ToString(),
                       absl::FormatDuration(absl::Now() - self->launched_at_), self->pid_.load());
          std::move(self->ready_)(std::static_pointer_cast<pool::Window>(self));
        });
      });
}

void FirefoxWindow::Kill(absl::Status reason) {
  if (kill_reason_.ok()) kill_reason_ = std::move(reason);
  if (process_ != nullptr && !process_->reaped()) process_->KillGroup(SIGKILL);
}

void FirefoxWindow::OnExit() {
  if (state_ == State::kGone) return;
  // The leader is a zombie until reaped, so the group id is still ours: kill
  // what is left of the group (content processes) first.
  process_->KillGroup(SIGKILL);
  process_->TryReap();
  State was = state_;
  state_ = State::kGone;
  start_timer_.cancel();
  grace_timer_.cancel();
  close_timer_.cancel();
  std::string exit = process_->exit_description();
  absl::Status why;
  if (closed_) {
    why = absl::AbortedError(absl::StrCat("window ", id_.ToString(), " was closed"));
  } else if (!kill_reason_.ok()) {
    why = absl::Status(kill_reason_.code(),
                       absl::StrCat(kill_reason_.message(), " (Firefox ", exit, ")"));
    if (auto reason = kill_reason_.GetPayload(pool::kWindowFailurePayload)) {
      why.SetPayload(pool::kWindowFailurePayload, *reason);
    }
  } else {
    why = WithReason(absl::AbortedError(CrashReport(exit)),
                     process_->killed_by_signal() ? "signaled" : "exited");
  }
  hub_.Forget(session_, absl::AbortedError(absl::StrCat("the window's Firefox ", exit)));
  if (!options_.keep_profile && !leave_profile_) RemoveDirectory(options_.profile_dir);
  if (was == State::kStarting) {
    spdlog::warn("window {} failed to start: {}", id_.ToString(), std::string(why.message()));
    std::move(ready_)(why);
  } else if (was == State::kReady && !closed_) {
    spdlog::warn("window {} died: {}", id_.ToString(), std::string(why.message()));
    std::move(died_)(why);
  } else {
    spdlog::info("window {} closed (Firefox {})", id_.ToString(), exit);
  }
  on_gone_(closed_ && exit == "exit code 0");
}

std::string FirefoxWindow::CrashReport(const std::string& exit) const {
  std::string report = absl::StrCat("Firefox ", exit);
  if (process_->killed_by_signal() && absl::StrContains(exit, "SIGKILL")) {
    // foxpool's own kills go through Kill() and are reported with a reason;
    // this one came from outside, most often from the kernel's OOM killer.
    std::optional<uint64_t> oom_kills = OomKillCount();
    if (oom_kills.has_value() && oom_kills_at_launch_.has_value() &&
        *oom_kills > *oom_kills_at_launch_) {
      absl::StrAppend(&report, ", not by foxpool: the OOM killer fired in this cgroup (",
                      *oom_kills - *oom_kills_at_launch_, " kill(s) since the window started)");
    } else {
      absl::StrAppend(&report, ", not by foxpool (the kernel's OOM killer or another process)");
    }
  }
  {
    absl::MutexLock lock(&last_url_mu_);
    absl::StrAppend(&report, "; last URL: ", last_url_.empty() ? "about:blank" : last_url_);
  }
  std::string tail = LogTail();
  if (!tail.empty()) absl::StrAppend(&report, "; its last output: ", tail);
  return report;
}

std::string FirefoxWindow::LogTail() const {
  std::ifstream log(options_.profile_dir / "firefox.log");
  std::deque<std::string> last;
  for (std::string line; std::getline(log, line);) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    last.push_back(line);
    if (last.size() > 3) last.pop_front();
  }
  return absl::StrJoin(last, " | ");
}

void FirefoxWindow::Call(std::string method, std::string params_json, absl::Time deadline,
                         CallDone done) {
  nlohmann::json params = nlohmann::json::parse(params_json, nullptr, false);
  if (params.is_discarded() || !params.is_object()) {
    std::move(done)(absl::InvalidArgumentError("command params are not a JSON object"));
    return;
  }
  if (method == "navigate" && params.contains("url") && params["url"].is_string()) {
    absl::MutexLock lock(&last_url_mu_);
    last_url_ = params["url"].get<std::string>();
  }
  std::filesystem::path printed;
  if (method == "print_to_pdf") {
    // A print the page made itself may have left a file: start clean.
    printed = options_.profile_dir / kPrintFile;
    std::error_code ignored;
    std::filesystem::remove(printed, ignored);
  }
  channel_->Call(
      method, std::move(params), deadline,
      [self = shared_from_this(), done = std::move(done), printed,
       deadline](absl::StatusOr<nlohmann::json> result) mutable {
        if (result.ok() && !printed.empty()) {
          self->AwaitPrintedPdf(printed, deadline, std::move(done));
          return;
        }
        if (!result.ok()) {
          std::move(done)(result.status());
        } else {
          std::move(done)(result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
      });
}

void FirefoxWindow::AwaitPrintedPdf(std::filesystem::path file, absl::Time deadline,
                                    CallDone done) {
  // Firefox reports a print done (the page's afterprint) before its PDF
  // printer has finished the file: look again until it is whole.
  constexpr absl::Duration kLookAgain = absl::Milliseconds(20);
  absl::StatusOr<std::string> pdf = TakeWholePdf(file);
  if (pdf.ok()) {
    std::move(done)(nlohmann::json{{"pdf", absl::Base64Escape(*pdf)}}.dump());
    return;
  }
  if (absl::Now() + kLookAgain > deadline) {
    std::move(done)(
        absl::DeadlineExceededError("Firefox did not finish printing the PDF before the deadline"));
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(strand_, absl::ToChronoNanoseconds(kLookAgain));
  timer->async_wait([self = shared_from_this(), timer, file = std::move(file), deadline,
                     done = std::move(done)](const boost::system::error_code&) mutable {
    self->AwaitPrintedPdf(std::move(file), deadline, std::move(done));
  });
}

void FirefoxWindow::Reset(absl::Time deadline, ResetDone done) {
  // The lease is over, however it ended: its holder hears nothing more.
  channel_->SetEventSink(nullptr);
  channel_->Call("reset", nlohmann::json::object(), deadline,
                 [done = std::move(done)](absl::StatusOr<nlohmann::json> result) mutable {
                   std::move(done)(result.status());
                 });
}

void FirefoxWindow::Close() { CloseOnStrand(/*graceful=*/true); }

void FirefoxWindow::CloseNow() { CloseOnStrand(/*graceful=*/false); }

void FirefoxWindow::CloseOnStrand(bool graceful) {
  asio::dispatch(strand_, [self = shared_from_this(), graceful] {
    if (self->state_ == State::kGone) return;
    self->closed_ = true;
    if (!graceful) self->leave_profile_ = true;
    if (graceful && self->state_ == State::kReady && self->process_ != nullptr &&
        self->options_.close_grace > absl::ZeroDuration()) {
      // Ask Firefox to quit (its extension closes every window), and kill
      // the group if it has not within the grace period. OnExit finishes
      // either way. SIGTERM would not do: Firefox dies of it at once.
      self->channel_->Call("quit", nlohmann::json::object(),
                           absl::Now() + self->options_.close_grace,
                           [](absl::StatusOr<nlohmann::json>) {});
      self->close_timer_.expires_after(absl::ToChronoNanoseconds(self->options_.close_grace));
      self->close_timer_.async_wait([self](boost::system::error_code ec) {
        if (!ec && self->state_ != State::kGone) self->Kill(absl::AbortedError("closed"));
      });
      return;
    }
    self->Kill(absl::AbortedError("closed"));
    if (self->state_ == State::kNew) {
      // Never launched: nothing runs, nothing to wait for.
      self->state_ = State::kGone;
      self->hub_.Forget(self->session_, absl::AbortedError("closed"));
      self->on_gone_(false);
    }
  });
}

}  // namespace foxpool::firefox
