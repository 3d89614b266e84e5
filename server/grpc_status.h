#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "grpcpp/grpcpp.h"
#include "proto/duration.h"  // FromProto, ToProto

namespace foxpool::server {

// The one place where absl::Status becomes grpc::Status: the codes share
// their numbering, the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Adds the trailing metadata `retry-after-ms` when `status` carries the
// pool's retry hint (RESOURCE_EXHAUSTED refusals of Acquire).
void AddRetryHint(const absl::Status& status, grpc::ServerContextBase& context);

// The call's deadline, or InfiniteFuture when the caller set none.
absl::Time CallDeadline(const grpc::ServerContextBase& context);

}  // namespace foxpool::server
