#pragma once

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/progress_format.h"

namespace foxpool::cli {

enum class ProgressMode {
  // A bar redrawn in place, for a terminal.
  kBar,
  // A plain line now and then, for a log.
  kLines,
  kNone,
};

// Shows a batch's progress on stderr from a thread of its own, reading the
// counts through `counts` (which must be thread-safe), from construction
// until Stop, which shows the final state. Stop and the destructor are
// called from the thread that made it.
class ProgressReporter {
 public:
  ProgressReporter(ProgressMode mode, absl::Duration line_interval,
                   std::function<ProgressCounts()> counts);
  ~ProgressReporter();

  void Stop();
  // Time since construction.
  absl::Duration elapsed() const { return absl::Now() - started_; }

 private:
  void Run();
  void Show(bool last);

  const ProgressMode mode_;
  const absl::Duration line_interval_;
  const std::function<ProgressCounts()> counts_;
  const absl::Time started_ = absl::Now();
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace foxpool::cli
