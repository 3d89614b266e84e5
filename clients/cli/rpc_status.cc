#include "clients/cli/rpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "clients/cli/retry_policy.h"

namespace foxpool::cli {

absl::Status FromGrpc(const grpc::Status& status, const grpc::ClientContext& context) {
  if (status.ok()) return absl::OkStatus();
  absl::Status converted(static_cast<absl::StatusCode>(status.error_code()),
                         status.error_message());
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto hint = trailers.find(kRetryAfterPayload); hint != trailers.end()) {
    converted.SetPayload(kRetryAfterPayload,
                         absl::Cord(std::string(hint->second.data(), hint->second.size())));
  }
  return converted;
}

}  // namespace foxpool::cli
