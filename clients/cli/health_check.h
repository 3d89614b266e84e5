#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cli/interrupts.h"
#include "grpcpp/channel.h"

namespace foxpool::cli {

// Asks the server's standard grpc.health.v1.Health service how `service`
// ("" for the server as a whole) is doing. Returns the serving status by
// name ("SERVING", "NOT_SERVING", ...); an error when the server could not
// be asked (unreachable, no answer by the deadline, or NOT_FOUND for a
// service it does not know).
absl::StatusOr<std::string> CheckHealth(std::shared_ptr<grpc::Channel> channel,
                                        const std::string& service, absl::Duration timeout,
                                        CallCanceller& canceller);

}  // namespace foxpool::cli
