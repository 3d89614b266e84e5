#pragma once

#include <string>

#include "absl/time/time.h"
#include "clients/cli/interrupts.h"
#include "clients/cli/pool_client.h"
#include "clients/cli/progress_reporter.h"
#include "clients/cli/retry_policy.h"

namespace foxpool::cli {

struct BatchOptions {
  // The URL list ("-": standard input) and the result lines ("-": standard
  // output).
  std::string list = "-";
  std::string output = "-";
  // Workers, each holding one window; 0: the pool's target size.
  int concurrency = 0;
  std::string eval;
  std::string screenshot_dir;
  RetryOptions retry;
  ProgressMode progress = ProgressMode::kLines;
  absl::Duration progress_interval = absl::Seconds(10);
  // After the first interrupt, how long URLs in flight may take to finish.
  absl::Duration grace = absl::Seconds(10);
};

// `foxpool batch`: loads every URL of the list in `concurrency` leased
// windows, writes a result line for each, shows progress and a summary on
// stderr. Interrupted (SIGINT, SIGTERM), it dispatches no more URLs, lets
// those in flight finish for up to `grace` (a second signal: not at all),
// cancels the rest, and still writes their lines, releases every lease and
// prints the summary.
//
// Returns the exit code: 0 every URL worked, 1 some failed (or the results
// could not be written), 2 the list or output could not be opened, 130
// interrupted.
int RunBatch(const BatchOptions& options, PoolClient& client, Interrupts& interrupts);

}  // namespace foxpool::cli
