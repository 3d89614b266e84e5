#include "clients/cli/pool_commands.h"

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/flags.h"
#include "clients/cli/health_check.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "proto/duration.h"

namespace foxpool::cli {
namespace {

std::string Text(absl::Duration duration) {
  return absl::FormatDuration(absl::Trunc(duration, absl::Milliseconds(1)));
}

}  // namespace

int RunStatus(CommandContext& context) {
  absl::StatusOr<foxpool::v1::GetPoolStatusResponse> status = context.client.Status();
  if (!status.ok()) return Fail(context, status.status());
  if (absl::GetFlag(FLAGS_json)) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    options.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(*status, &json, options).ok()) {
      return Fail(context, absl::InternalError("cannot print the status as JSON"));
    }
    std::printf("%s\n", json.c_str());
    return kExitOk;
  }
  std::printf("foxpool at %s: %s\n", context.address.c_str(),
              status->draining() ? "draining (no new leases)" : "serving");
  std::printf("windows  %d idle, %d leased, %d starting, %d resetting (pool size %d)\n",
              status->idle(), status->leased(), status->starting(), status->resetting(),
              status->target_size());
  std::printf("queue    %d waiting, oldest for %s, expected wait %s\n", status->queue_depth(),
              Text(FromProto(status->oldest_waiter_age())).c_str(),
              Text(FromProto(status->expected_wait())).c_str());
  std::printf("failed   %lld windows died or failed to start since the server started\n",
              static_cast<long long>(status->windows_failed_total()));
  return kExitOk;
}

int RunHealth(CommandContext& context) {
  absl::StatusOr<std::string> health =
      CheckHealth(context.channel, absl::GetFlag(FLAGS_service), absl::GetFlag(FLAGS_timeout),
                  context.interrupts.calls());
  if (!health.ok()) {
    if (context.interrupts.count() > 0) return Fail(context, health.status());
    std::fprintf(stderr, "foxpool health: cannot ask %s: %s\n", context.address.c_str(),
                 health.status().ToString().c_str());
    return kExitFailed;
  }
  if (*health != "SERVING") {
    std::fprintf(stderr, "foxpool health: %s is %s\n", context.address.c_str(), health->c_str());
    return kExitFailed;
  }
  std::printf("%s\n", health->c_str());
  return kExitOk;
}

int RunAcquire(CommandContext& context) {
  absl::StatusOr<Lease> lease = context.client.Acquire();
  if (!lease.ok()) return Fail(context, lease.status());
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json json = {{"lease_id", lease->id},
                           {"window_id", lease->window_id},
                           {"idle_timeout_ms", absl::ToInt64Milliseconds(lease->idle_timeout)}};
    std::printf("%s\n", json.dump().c_str());
  } else {
    std::printf("%s\n", lease->id.c_str());
    std::fprintf(stderr,
                 "foxpool acquire: window %s is yours until %s pass without a command; "
                 "end it with `foxpool release %s`\n",
                 lease->window_id.c_str(), Text(lease->idle_timeout).c_str(), lease->id.c_str());
  }
  return kExitOk;
}

int RunRelease(CommandContext& context) {
  absl::Status released = context.client.Release(context.args[0]);
  if (!released.ok()) return Fail(context, released);
  return kExitOk;
}

}  // namespace foxpool::cli
