#include "clients/cli/batch.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "clients/cli/batch_worker.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/result_sink.h"
#include "clients/cli/url_list.h"

namespace foxpool::cli {
namespace {

constexpr absl::Duration kWatchInterval = absl::Milliseconds(50);

// Hands the list's indices out in order, until the list ends or Stop; counts
// the workers still running. Thread-safe.
class Dispatcher {
 public:
  Dispatcher(size_t total, int workers) : total_(total), running_(workers) {}

  std::optional<size_t> Next() {
    absl::MutexLock lock(&mu_);
    if (stopped_ || next_ >= total_) return std::nullopt;
    return next_++;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  void WorkerDone() {
    absl::MutexLock lock(&mu_);
    --running_;
  }
  // Waits up to `timeout` for every worker to be done; true when they are.
  bool AwaitWorkers(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

 private:
  const size_t total_;
  absl::Mutex mu_;
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<int> Concurrency(const BatchOptions& options, PoolClient& client) {
  if (options.concurrency > 0) return options.concurrency;
  absl::StatusOr<foxpool::v1::GetPoolStatusResponse> status = client.Status();
  if (!status.ok()) return status.status();
  return std::max(1, status->target_size());
}

}  // namespace

int RunBatch(const BatchOptions& options, PoolClient& client, Interrupts& interrupts) {
  absl::StatusOr<std::vector<std::string>> urls = ReadUrlList(options.list);
  if (!urls.ok()) {
    std::fprintf(stderr, "foxpool batch: %s\n", std::string(urls.status().message()).c_str());
    return kExitUsage;
  }
  if (!options.screenshot_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.screenshot_dir, error);
    if (error) {
      std::fprintf(stderr, "foxpool batch: cannot create %s: %s\n", options.screenshot_dir.c_str(),
                   error.message().c_str());
      return kExitUsage;
    }
  }
  absl::StatusOr<std::unique_ptr<ResultSink>> sink =
      ResultSink::Open(options.output, static_cast<int64_t>(urls->size()));
  if (!sink.ok()) {
    std::fprintf(stderr, "foxpool batch: %s\n", std::string(sink.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<int> concurrency = Concurrency(options, client);
  if (!concurrency.ok()) {
    std::fprintf(stderr, "foxpool batch: cannot ask %s: %s\n", "the pool its size",
                 concurrency.status().ToString().c_str());
    return kExitFailed;
  }
  const int workers = static_cast<int>(std::min<size_t>(*concurrency, urls->size()));

  const BatchJob job{options.eval, options.screenshot_dir, urls->size()};
  const RetryPolicy retry(options.retry);
  Dispatcher dispatcher(urls->size(), workers);
  interrupts.SetHook([&](int count) {
    dispatcher.Stop();
    if (count > 1) interrupts.calls().CancelAll();
  });
  ProgressReporter progress(options.progress, options.progress_interval,
                            [&sink] { return (*sink)->counts(); });

  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&] {
      BatchWorker worker(client, job, retry, interrupts);
      while (std::optional<size_t> index = dispatcher.Next()) {
        (*sink)->Add(worker.Process(*index, (*urls)[*index]));
      }
      worker.ReleaseLease();
      dispatcher.WorkerDone();
    });
  }
  while (!dispatcher.AwaitWorkers(kWatchInterval)) {
    if (interrupts.count() > 0 && absl::Now() - interrupts.first_at() >= options.grace) {
      interrupts.calls().CancelAll();
    }
  }
  for (std::thread& thread : threads) thread.join();
  interrupts.SetHook(nullptr);

  progress.Stop();
  absl::Status written = (*sink)->Close();
  ProgressCounts counts = (*sink)->counts();
  bool interrupted = interrupts.count() > 0;
  std::fprintf(stderr, "%s\n", FormatSummary(counts, progress.elapsed(), interrupted).c_str());
  if (!written.ok()) {
    std::fprintf(stderr, "foxpool batch: %s\n", std::string(written.message()).c_str());
  }
  if (interrupted) return kExitInterrupted;
  return counts.failed > 0 || !written.ok() ? kExitFailed : kExitOk;
}

}  // namespace foxpool::cli
