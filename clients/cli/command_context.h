#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "clients/cli/interrupts.h"
#include "clients/cli/pool_client.h"
#include "grpcpp/channel.h"

namespace foxpool::cli {

// What every subcommand gets: the server, a client for it, and the
// interrupts. `args` are the subcommand's positional arguments (its name
// excluded).
struct CommandContext {
  std::string name;
  std::vector<std::string> args;
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  PoolClient& client;
  Interrupts& interrupts;
};

// Prints why the command failed on stderr ("foxpool NAME: CODE: message",
// or that it was interrupted) and returns the exit code for it.
int Fail(const CommandContext& context, const absl::Status& status);

// Runs `body` on a leased window: the one --lease names, kept, or one
// leased for it and released after, however `body` ends.
absl::Status WithLease(CommandContext& context,
                       absl::FunctionRef<absl::Status(const std::string& lease)> body);

}  // namespace foxpool::cli
