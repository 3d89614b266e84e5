// Fuzzes request validation: bytes parsed as a Session stream's message or
// as one command's request (the unary RPCs), then what the server checks and
// derives before a command reaches a window: server::CheckRequest, the
// command's own check, RequestTimeout, RequestParams (and the command's
// extension of them), and AcquireOptionsFrom for acquires.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "foxpool/v1/browser_pool.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "server/browser_pool_service.h"
#include "server/command_list.h"
#include "server/commands.h"

namespace {

namespace server = foxpool::server;
namespace v1 = foxpool::v1;

// Protobuf logs every string field that is not UTF-8 as it refuses the
// message; at fuzzing speed that is noise (and slow).
[[maybe_unused]] const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return true;
}();

template <typename Request, typename Response>
void Validate(const server::Command<Request, Response>& command, const Request& request) {
  static const server::ServiceOptions options;
  absl::Status checked = server::CheckRequest(request, options);
  if (checked.ok() && command.check != nullptr) checked = command.check(request, options);
  (void)server::RequestTimeout(request, options);
  if (!checked.ok()) return;  // StartCommand stops here.
  absl::StatusOr<nlohmann::json> params = server::RequestParams(request);
  if (!params.ok()) return;  // And here.
  if (command.extend != nullptr) command.extend(request, *params);
  (*params)["timeout_ms"] = 1000;
  (void)params->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void ValidateAcquire(const v1::AcquireRequest& request) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  // Anonymous, and as an authenticated caller (whose profiles are named
  // after the principal).
  (void)server::AcquireOptionsFrom(request, deadline, "ipv4:127.0.0.1:1");
  (void)server::AcquireOptionsFrom(request, deadline, "ipv4:127.0.0.1:1",
                                   server::Caller{.principal = "fuzz-principal"});
}

void ValidateSession(const v1::SessionRequest& request) {
  if (request.has_acquire()) ValidateAcquire(request.acquire());
  if (!request.has_command()) return;
  const v1::SessionCommand& command = request.command();
  switch (command.command_case()) {
#define FOXPOOL_FUZZ_CASE(Name, field, Request, Response) \
  case v1::SessionCommand::k##Name:                       \
    Validate(server::k##Name, command.field());           \
    break;
    FOXPOOL_COMMANDS(FOXPOOL_FUZZ_CASE)
#undef FOXPOOL_FUZZ_CASE
    default:
      break;
  }
}

// The unary RPCs' requests, in FOXPOOL_COMMANDS order.
using Parser = void (*)(const std::string& bytes);
#define FOXPOOL_FUZZ_PARSER(Name, field, Request, Response)                 \
  +[](const std::string& bytes) {                                           \
    v1::Request request;                                                    \
    if (request.ParseFromString(bytes)) Validate(server::k##Name, request); \
  },
const Parser kCommandParsers[] = {FOXPOOL_COMMANDS(FOXPOOL_FUZZ_PARSER)};
#undef FOXPOOL_FUZZ_PARSER
constexpr size_t kCommandCount = sizeof(kCommandParsers) / sizeof(kCommandParsers[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks what the rest is (not FuzzedDataProvider: the gcc
  // build compiles this file too, without clang's headers): 0 a Session
  // message, 1 an AcquireRequest, else one command's request.
  if (size == 0) return 0;
  size_t which = data[0] % (kCommandCount + 2);
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (which == 0) {
    v1::SessionRequest request;
    if (request.ParseFromString(bytes)) ValidateSession(request);
  } else if (which == 1) {
    v1::AcquireRequest request;
    if (request.ParseFromString(bytes)) ValidateAcquire(request);
  } else {
    kCommandParsers[which - 2](bytes);
  }
  return 0;
}
