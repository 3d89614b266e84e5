#pragma once

#include "absl/status/status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace foxpool::cli {

// The one place where a gRPC answer becomes an absl::Status: the codes share
// their numbering, the message is kept, and the server's `retry-after-ms`
// trailing metadata becomes the kRetryAfterPayload payload.
absl::Status FromGrpc(const grpc::Status& status, const grpc::ClientContext& context);

}  // namespace foxpool::cli
