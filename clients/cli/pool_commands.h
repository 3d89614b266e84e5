#pragma once

#include "clients/cli/command_context.h"

namespace foxpool::cli {

// The subcommands about the pool and leases; each returns the exit code.

// `foxpool status [--json]`: GetPoolStatus, for people or (--json) programs.
int RunStatus(CommandContext& context);
// `foxpool health [--service S]`: grpc.health.v1 Check; 0 when SERVING.
int RunHealth(CommandContext& context);
// `foxpool acquire [--idle_timeout D] [--json]`: leases a window and prints
// the lease id (alone on stdout's first line, for `$(foxpool acquire)`).
int RunAcquire(CommandContext& context);
// `foxpool release LEASE_ID`.
int RunRelease(CommandContext& context);

}  // namespace foxpool::cli
