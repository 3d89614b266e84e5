#include "clients/cli/result_sink.h"

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"

namespace foxpool::cli {

absl::StatusOr<std::unique_ptr<ResultSink>> ResultSink::Open(const std::string& path,
                                                             int64_t total) {
  if (path == "-") return std::unique_ptr<ResultSink>(new ResultSink(stdout, "-", false, total));
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  return std::unique_ptr<ResultSink>(new ResultSink(file, path, true, total));
}

ResultSink::ResultSink(std::FILE* file, std::string path, bool owned, int64_t total)
    : file_(file), path_(std::move(path)), owned_(owned) {
  counts_.total = total;
}

ResultSink::~ResultSink() { Close().IgnoreError(); }

void ResultSink::Add(const UrlResult& result) {
  std::string line = ToJsonLine(result) + "\n";
  absl::MutexLock lock(&mu_);
  ++counts_.done;
  ++(result.status.ok() ? counts_.ok : counts_.failed);
  if (result.attempts > 1) ++counts_.retried;
  if (file_ == nullptr || !status_.ok()) return;
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    status_ = absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path_));
  }
}

ProgressCounts ResultSink::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

absl::Status ResultSink::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

absl::Status ResultSink::Close() {
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) return status_;
  if (owned_ && std::fclose(file_) != 0 && status_.ok()) {
    status_ = absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path_));
  } else if (!owned_) {
    std::fflush(file_);
  }
  file_ = nullptr;
  return status_;
}

}  // namespace foxpool::cli
