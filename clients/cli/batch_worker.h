#pragma once

#include <cstddef>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/cli/interrupts.h"
#include "clients/cli/pool_client.h"
#include "clients/cli/result_line.h"
#include "clients/cli/retry_policy.h"

namespace foxpool::cli {

// What a batch does with each URL, after loading it.
struct BatchJob {
  // Evaluated on each page when not empty.
  std::string eval;
  // A screenshot of each page is written here when not empty.
  std::string screenshot_dir;
  // The list's length, for screenshot names.
  size_t total = 0;
};

// One of a batch's workers: holds one leased window and loads URL after URL
// in it, as a person reuses a browser tab. A window that is lost (ABORTED,
// or a lease that ended under it) is replaced by a new lease at the next
// attempt. The lease is released by ReleaseLease or the destructor.
// Used by one thread.
class BatchWorker {
 public:
  BatchWorker(PoolClient& client, const BatchJob& job, const RetryPolicy& retry,
              Interrupts& interrupts);
  ~BatchWorker();
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  // The URL at `index` of the list, tried until it works, fails in a way a
  // retry would not fix, runs out of retries, or the batch is interrupted.
  UrlResult Process(size_t index, const std::string& url);

  void ReleaseLease();

 private:
  absl::Status Attempt(size_t index, const std::string& url, UrlResult& result);
  // The page's screenshot, when the job asks for one ("" otherwise).
  absl::StatusOr<std::string> Drive(const std::string& url, UrlResult& result);
  // `status`, or ABORTED when it means that the lease is gone; then the
  // lease is forgotten, so that the next attempt acquires a new one.
  absl::Status CheckLease(absl::Status status);

  PoolClient& client_;
  const BatchJob& job_;
  const RetryPolicy& retry_;
  Interrupts& interrupts_;
  std::optional<Lease> lease_;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace foxpool::cli
