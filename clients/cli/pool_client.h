#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cli/interrupts.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

namespace foxpool::cli {

struct ClientOptions {
  // Deadline of each command (a navigation's load wait included).
  absl::Duration timeout = absl::Seconds(30);
  // Deadline of an Acquire, waiting in the server's queue included.
  absl::Duration acquire_timeout = absl::Minutes(5);
  // Asked of the server for new leases; zero: the server's default.
  absl::Duration idle_timeout = absl::ZeroDuration();
  // Kept with each lease (shown by ListLeases and the server's logs).
  std::map<std::string, std::string> labels;
  // Sent as `authorization: Bearer <token>` with every call; empty: none.
  std::string token;
};

struct Lease {
  std::string id;
  std::string window_id;
  absl::Duration idle_timeout;
};

struct Page {
  std::string url;
  std::string title;
  int http_status = 0;
  absl::Duration took;
};

// foxpool.v1.BrowserPool as the commands use it: deadlines set, answers as
// absl::Status (with the retry hint as a payload, see FromGrpc), and every
// call but Release registered with a CallCanceller, so that an interrupt
// cancels it. Thread-safe (each call has its own context).
class PoolClient {
 public:
  PoolClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
             CallCanceller& canceller);

  absl::StatusOr<Lease> Acquire();
  absl::Status Renew(const std::string& lease);
  // Not cancellable, so that a lease still goes back after an interrupt.
  absl::Status Release(const std::string& lease);

  absl::StatusOr<Page> Navigate(const std::string& lease, const std::string& url);
  // The value of `expression` in the current page, as JSON.
  absl::StatusOr<std::string> Evaluate(const std::string& lease, const std::string& expression);
  // The viewport as PNG.
  absl::StatusOr<std::string> Screenshot(const std::string& lease);

  absl::StatusOr<foxpool::v1::GetPoolStatusResponse> Status();

  const ClientOptions& options() const { return options_; }

 private:
  template <typename Request, typename Response>
  using Method = grpc::Status (foxpool::v1::BrowserPool::Stub::*)(grpc::ClientContext*,
                                                                  const Request&, Response*);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(Method<Request, Response> method, const Request& request,
                                absl::Duration timeout, bool cancellable = true);

  std::unique_ptr<foxpool::v1::BrowserPool::Stub> stub_;
  const ClientOptions options_;
  CallCanceller& canceller_;
};

// A channel to `address` that accepts answers as large as a full-page
// screenshot; insecure unless `credentials` say otherwise.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

}  // namespace foxpool::cli
