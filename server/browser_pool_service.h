#pragma once

#include <string>

#include "absl/time/time.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "pool/pool.h"

namespace foxpool::server {

struct ServiceOptions {
  // Timeout of a command whose request sets none.
  absl::Duration default_command_timeout = absl::Seconds(30);
  // Largest Evaluate expression accepted.
  size_t max_script_bytes = 1 << 20;
};

// foxpool.v1.BrowserPool on gRPC's callback API: adapts requests to the pool
// and the leased window's commands. No handler blocks: each starts its work
// and finishes from the first completion (see UnaryCall). Thread-safe.
class BrowserPoolService final : public foxpool::v1::BrowserPool::CallbackService {
 public:
  BrowserPoolService(pool::Pool& pool, ServiceOptions options);

  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* context,
                                    const v1::AcquireRequest* request,
                                    v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* context,
                                  const v1::RenewRequest* request,
                                  v1::RenewResponse* response) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* context,
                                    const v1::ReleaseRequest* request,
                                    v1::ReleaseResponse* response) override;
  grpc::ServerUnaryReactor* Navigate(grpc::CallbackServerContext* context,
                                     const v1::NavigateRequest* request,
                                     v1::NavigateResponse* response) override;
  grpc::ServerUnaryReactor* GetTitle(grpc::CallbackServerContext* context,
                                     const v1::GetTitleRequest* request,
                                     v1::GetTitleResponse* response) override;
  grpc::ServerUnaryReactor* GetUrl(grpc::CallbackServerContext* context,
                                   const v1::GetUrlRequest* request,
                                   v1::GetUrlResponse* response) override;
  grpc::ServerUnaryReactor* GetContent(grpc::CallbackServerContext* context,
                                       const v1::GetContentRequest* request,
                                       v1::GetContentResponse* response) override;
  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const v1::EvaluateRequest* request,
                                     v1::EvaluateResponse* response) override;
  grpc::ServerUnaryReactor* Screenshot(grpc::CallbackServerContext* context,
                                       const v1::ScreenshotRequest* request,
                                       v1::ScreenshotResponse* response) override;
  grpc::ServerUnaryReactor* GetPoolStatus(grpc::CallbackServerContext* context,
                                          const v1::GetPoolStatusRequest* request,
                                          v1::GetPoolStatusResponse* response) override;
  grpc::ServerUnaryReactor* ListLeases(grpc::CallbackServerContext* context,
                                       const v1::ListLeasesRequest* request,
                                       v1::ListLeasesResponse* response) override;
  grpc::ServerUnaryReactor* Revoke(grpc::CallbackServerContext* context,
                                   const v1::RevokeRequest* request,
                                   v1::RevokeResponse* response) override;

 private:
  // Turns a command's JSON result into the response, or an error.
  template <typename Response>
  using Fill =
      absl::AnyInvocable<absl::Status(const nlohmann::json& result, Response* response) &&>;

  // Runs `method` on the window of `lease_id` with a deadline from the call
  // and `timeout`, and fills `response` from its result.
  template <typename Response>
  grpc::ServerUnaryReactor* RunCommand(grpc::CallbackServerContext* context,
                                       const std::string& lease_id, std::string method,
                                       nlohmann::json params, absl::Duration timeout,
                                       Response* response, Fill<Response> fill);

  pool::Pool& pool_;
  const ServiceOptions options_;
};

}  // namespace foxpool::server
