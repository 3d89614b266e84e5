#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clients/cli/progress_format.h"
#include "clients/cli/result_line.h"

namespace foxpool::cli {

// Where a batch's results go: one JSON line per URL, each written and
// flushed whole as soon as it is known, so that whatever ends the batch the
// file holds every result so far, and the counts the progress shows.
// Thread-safe.
class ResultSink {
 public:
  // Writes to `path` (created or truncated), or standard output for "-".
  static absl::StatusOr<std::unique_ptr<ResultSink>> Open(const std::string& path, int64_t total);
  ~ResultSink();

  // An error writing a line is remembered (see status()); the counts go on.
  void Add(const UrlResult& result);
  ProgressCounts counts() const;
  // The first write error, if any.
  absl::Status status() const;
  // Flushes and closes; returns status().
  absl::Status Close();

 private:
  ResultSink(std::FILE* file, std::string path, bool owned, int64_t total);

  mutable absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
  const bool owned_;
  ProgressCounts counts_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foxpool::cli
