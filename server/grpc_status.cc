#include "server/grpc_status.h"

#include <chrono>
#include <string>

#include "pool/pool.h"

namespace foxpool::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void AddRetryHint(const absl::Status& status, grpc::ServerContextBase& context) {
  if (auto retry = status.GetPayload(pool::kRetryAfterPayload)) {
    context.AddTrailingMetadata("retry-after-ms", std::string(*retry));
  }
}

absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  auto deadline = context.deadline();
  // gRPC reports "no deadline" as a time point centuries away.
  if (deadline - std::chrono::system_clock::now() > std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace foxpool::server
