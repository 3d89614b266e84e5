#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "firefox/process.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace foxpool::testing {

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitUntil(absl::FunctionRef<bool()> condition, absl::Duration timeout);

// Every live descendant of `pid` (children, grandchildren, ...), from /proc.
std::set<pid_t> Descendants(pid_t pid);
bool Alive(pid_t pid);

// The real foxpoold binary, started for a test on a free port with its own
// temporary profile root, and a gRPC stub to it. The destructor stops it
// (SIGTERM, then SIGKILL) and removes the temporary directory.
class FoxpoolServer {
 public:
  explicit FoxpoolServer(int pool_size = 2, std::vector<std::string> extra_flags = {},
                         std::filesystem::path profile_root = {});
  ~FoxpoolServer();

  // Starts the process and waits until `idle` windows (-1: pool_size) are
  // idle.
  absl::Status Start(absl::Duration timeout = absl::Seconds(60), int idle = -1);

  v1::BrowserPool::Stub& stub() { return *stub_; }
  pid_t pid() const { return process_->pid(); }
  int port() const { return port_; }
  // The /metrics and /status port (0 when not served).
  int metrics_port() const { return metrics_port_; }
  const std::filesystem::path& profile_root() const { return profile_root_; }
  int pool_size() const { return pool_size_; }

  v1::GetPoolStatusResponse Status();
  // What the server has logged so far.
  std::string Log() const;
  // Waits until the pool reports `idle` idle windows.
  bool WaitForIdle(int idle, absl::Duration timeout = absl::Seconds(60));

  // Sends `signal` and waits for the process to exit; its exit description
  // ("exit code 0"), or nullopt if it did not exit within `timeout`.
  std::optional<std::string> Stop(int signal, absl::Duration timeout);
  void Signal(int signal);
  std::optional<std::string> WaitForExit(absl::Duration timeout);

 private:
  int pool_size_;
  std::vector<std::string> extra_flags_;
  std::filesystem::path temp_dir_;
  std::filesystem::path profile_root_;
  std::unique_ptr<firefox::ChildProcess> process_;
  std::unique_ptr<v1::BrowserPool::Stub> stub_;
  int port_ = 0;
  int metrics_port_ = 0;
};

// Stops `server` with SIGTERM and checks (gtest expectations) that it exits
// 0 and leaves no process and no profile behind.
void ExpectCleanStop(FoxpoolServer& server);

// The body of GET http://127.0.0.1:`port``path` ("" on any error).
std::string HttpGet(int port, const std::string& path);

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout = absl::Seconds(30));

}  // namespace foxpool::testing
