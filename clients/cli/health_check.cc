#include "clients/cli/health_check.h"

#include <utility>

#include "clients/cli/rpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace foxpool::cli {

absl::StatusOr<std::string> CheckHealth(std::shared_ptr<grpc::Channel> channel,
                                        const std::string& service, absl::Duration timeout,
                                        CallCanceller& canceller) {
  using grpc::health::v1::HealthCheckResponse;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(std::move(channel));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ScopedCall registered(canceller, &context);
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, context);
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

}  // namespace foxpool::cli
