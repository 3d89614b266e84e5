#include "clients/cli/command_context.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/flags.h"

namespace foxpool::cli {

int Fail(const CommandContext& context, const absl::Status& status) {
  if (context.interrupts.count() > 0) {
    std::fprintf(stderr, "foxpool %s: interrupted\n", context.name.c_str());
    return kExitInterrupted;
  }
  std::fprintf(stderr, "foxpool %s: %s\n", context.name.c_str(), status.ToString().c_str());
  return kExitFailed;
}

absl::Status WithLease(CommandContext& context,
                       absl::FunctionRef<absl::Status(const std::string& lease)> body) {
  std::string given = absl::GetFlag(FLAGS_lease);
  if (!given.empty()) return body(given);
  absl::StatusOr<Lease> lease = context.client.Acquire();
  if (!lease.ok()) return lease.status();
  absl::Status status = body(lease->id);
  absl::Status released = context.client.Release(lease->id);
  if (status.ok() && !released.ok()) {
    return absl::Status(released.code(), absl::StrCat("release: ", released.message()));
  }
  return status;
}

}  // namespace foxpool::cli
