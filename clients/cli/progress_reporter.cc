#include "clients/cli/progress_reporter.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

namespace foxpool::cli {
namespace {

constexpr absl::Duration kRedrawInterval = absl::Milliseconds(200);

int TerminalWidth() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

ProgressReporter::ProgressReporter(ProgressMode mode, absl::Duration line_interval,
                                   std::function<ProgressCounts()> counts)
    : mode_(mode), line_interval_(line_interval), counts_(std::move(counts)) {
  if (mode_ != ProgressMode::kNone) thread_ = std::thread([this] { Run(); });
}

ProgressReporter::~ProgressReporter() { Stop(); }

void ProgressReporter::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  Show(/*last=*/true);
}

void ProgressReporter::Run() {
  absl::Duration interval = mode_ == ProgressMode::kBar ? kRedrawInterval : line_interval_;
  while (!stop_.WaitForNotificationWithTimeout(interval)) Show(/*last=*/false);
}

void ProgressReporter::Show(bool last) {
  ProgressCounts counts = counts_();
  if (mode_ == ProgressMode::kBar) {
    // Back to the line's start, the bar, then clear whatever a longer
    // earlier bar left.
    std::string bar = FormatBar(counts, elapsed(), TerminalWidth() - 1);
    std::fprintf(stderr, "\r%s\x1b[K%s", bar.c_str(), last ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", FormatProgressLine(counts, elapsed()).c_str());
  }
  std::fflush(stderr);
}

}  // namespace foxpool::cli
