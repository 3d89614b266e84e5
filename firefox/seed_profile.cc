#include "firefox/seed_profile.h"

#include <system_error>
#include <utility>

#include "boost/asio/post.hpp"
#include "firefox/profile.h"
#include "spdlog/spdlog.h"

namespace foxpool::firefox {
namespace asio = boost::asio;

namespace {

constexpr absl::Duration kCachePoll = absl::Milliseconds(250);

uintmax_t SizeOf(const std::filesystem::path& dir) {
  uintmax_t size = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) size += entry.file_size(ec);
  }
  return size;
}

}  // namespace

SeedProfile::SeedProfile(asio::io_context& io, Hub& hub, WindowOptions options,
                         absl::Duration cache_wait)
    : io_(io),
      hub_(hub),
      options_(std::move(options)),
      cache_wait_(cache_wait),
      strand_(asio::make_strand(io)),
      timer_(strand_) {}

void SeedProfile::Make() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kNone || stopped_) return;
    state_ = State::kMaking;
    started_ = absl::Now();
  }
  WindowOptions options = options_;
  options.keep_profile = true;  // Made to be kept.
  options.seed.clear();
  std::weak_ptr<SeedProfile> weak = weak_from_this();
  auto window = std::make_shared<FirefoxWindow>(io_, hub_, pool::WindowId(0), std::move(options),
                                                [weak](bool clean) {
                                                  if (auto self = weak.lock()) self->OnGone(clean);
                                                });
  bool stopped;
  {
    absl::MutexLock lock(&mu_);
    stopped = stopped_;
    if (!stopped) window_ = window;
  }
  if (stopped) {
    window->CloseNow();  // Never launched: this only lets the hub forget it.
    return;
  }
  spdlog::info("making the seed profile that windows start from (window w0)");
  window->Launch(
      [self = shared_from_this()](absl::StatusOr<std::shared_ptr<pool::Window>> started) {
        // Not started: OnGone follows and turns the seed off.
        if (started.ok()) self->WaitForCaches(absl::Now() + self->cache_wait_);
      },
      [](absl::Status) {});
}

void SeedProfile::WaitForCaches(absl::Time deadline) {
  std::shared_ptr<FirefoxWindow> window;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_ || window_ == nullptr) return;
    window = window_;
  }
  if (!SeedCachesWritten(options_.profile_dir) && absl::Now() < deadline) {
    asio::post(strand_, [self = shared_from_this(), deadline] {
      self->timer_.expires_after(absl::ToChronoNanoseconds(kCachePoll));
      self->timer_.async_wait([self, deadline](boost::system::error_code ec) {
        if (!ec) self->WaitForCaches(deadline);
      });
    });
    return;
  }
  // Quitting through the extension: Firefox writes what it holds (a
  // SIGTERM would kill it at once).
  window->Close();
}

void SeedProfile::OnGone(bool clean) {
  absl::Status made = clean ? PruneSeed(options_.profile_dir)
                            : absl::AbortedError("its Firefox did not quit cleanly");
  absl::MutexLock lock(&mu_);
  window_ = nullptr;
  if (stopped_) {
    state_ = State::kOff;
    return;
  }
  if (!made.ok()) {
    state_ = State::kOff;
    spdlog::warn("no seed profile ({}): windows start on fresh profiles",
                 std::string(made.message()));
    return;
  }
  state_ = State::kReady;
  spdlog::info("seed profile ready in {} ({:.1f} MiB): windows start from it",
               absl::FormatDuration(absl::Now() - started_),
               static_cast<double>(SizeOf(options_.profile_dir)) / (1 << 20));
}

std::filesystem::path SeedProfile::Ready() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kReady ? options_.profile_dir : std::filesystem::path();
}

void SeedProfile::Started(bool ok) {
  absl::MutexLock lock(&mu_);
  if (ok) {
    proven_ = true;
  } else if (!proven_ && state_ == State::kReady) {
    state_ = State::kOff;
    spdlog::warn(
        "a window started from the seed profile failed to start before any did: "
        "windows start on fresh profiles from now on");
  }
}

bool SeedProfile::Stop(absl::Duration timeout) {
  std::shared_ptr<FirefoxWindow> window;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    state_ = State::kOff;
    window = window_;
  }
  asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  if (window != nullptr) window->CloseNow();
  window.reset();
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &SeedProfile::GoneLocked), timeout);
}

}  // namespace foxpool::firefox
