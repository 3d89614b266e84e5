#include "clients/cli/batch_worker.h"

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace foxpool::cli {

BatchWorker::BatchWorker(PoolClient& client, const BatchJob& job, const RetryPolicy& retry,
                         Interrupts& interrupts)
    : client_(client), job_(job), retry_(retry), interrupts_(interrupts) {}

BatchWorker::~BatchWorker() { ReleaseLease(); }

void BatchWorker::ReleaseLease() {
  if (!lease_.has_value()) return;
  // A lease that ended already (expired, lost with its window) needs nothing.
  client_.Release(lease_->id).IgnoreError();
  lease_.reset();
}

UrlResult BatchWorker::Process(size_t index, const std::string& url) {
  const absl::Time started = absl::Now();
  UrlResult result;
  result.url = url;
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  while (true) {
    ++result.attempts;
    result.status = Attempt(index, url, result);
    if (!retry_.ShouldRetry(result.status, result.attempts) || interrupts_.count() > 0) break;
    absl::Duration wait = retry_.Backoff(result.attempts, result.status, jitter(random_));
    if (interrupts_.WaitForInterrupt(wait)) break;
  }
  result.took = absl::Now() - started;
  return result;
}

absl::Status BatchWorker::Attempt(size_t index, const std::string& url, UrlResult& result) {
  result.loaded = false;
  result.final_url.clear();
  result.title.clear();
  result.result_json.reset();
  result.screenshot.clear();
  if (!lease_.has_value()) {
    absl::StatusOr<Lease> lease = client_.Acquire();
    if (!lease.ok()) return lease.status();
    lease_ = *std::move(lease);
  }
  absl::StatusOr<std::string> png = Drive(url, result);
  if (!png.ok()) return CheckLease(png.status());
  if (png->empty()) return absl::OkStatus();
  std::filesystem::path path =
      std::filesystem::path(job_.screenshot_dir) / ScreenshotName(index, job_.total, url);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(png->data(), static_cast<std::streamsize>(png->size()));
  file.close();
  if (!file) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path.string()));
  result.screenshot = path.string();
  return absl::OkStatus();
}

absl::StatusOr<std::string> BatchWorker::Drive(const std::string& url, UrlResult& result) {
  absl::StatusOr<Page> page = client_.Navigate(lease_->id, url);
  if (!page.ok()) return page.status();
  result.loaded = true;
  result.final_url = page->url;
  result.title = page->title;
  if (!job_.eval.empty()) {
    absl::StatusOr<std::string> value = client_.Evaluate(lease_->id, job_.eval);
    if (!value.ok()) return value.status();
    result.result_json = *std::move(value);
  }
  if (job_.screenshot_dir.empty()) return std::string();
  return client_.Screenshot(lease_->id);
}

absl::Status BatchWorker::CheckLease(absl::Status status) {
  bool lost = status.code() == absl::StatusCode::kAborted;
  // NOT_FOUND and FAILED_PRECONDITION are what a command on an expired or
  // revoked lease gets, but also what a page can answer a script with; a
  // Renew tells them apart.
  if (status.code() == absl::StatusCode::kNotFound ||
      status.code() == absl::StatusCode::kFailedPrecondition) {
    absl::Status renewed = client_.Renew(lease_->id);
    lost = renewed.code() == absl::StatusCode::kNotFound ||
           renewed.code() == absl::StatusCode::kFailedPrecondition;
    if (lost) status = absl::AbortedError(absl::StrCat("the lease ended: ", status.message()));
  }
  if (lost) ReleaseLease();
  return status;
}

}  // namespace foxpool::cli
