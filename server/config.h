#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "firefox/hub.h"
#include "firefox/launcher.h"
#include "pool/command_gate.h"
#include "pool/pool.h"
#include "server/browser_pool_service.h"
#include "server/logging.h"
#include "server/memory_sampler.h"
#include "server/metrics.h"
#include "server/tls_credentials.h"

namespace foxpool::server {

// Everything the server is told at start, from flags with embedded defaults.
struct Config {
  std::string grpc_address;
  std::string metrics_address;
  std::string port_file;
  std::string state_dir;
  std::string profile_template;
  std::string log_level;
  LogFormat log_format = LogFormat::kText;
  Observability observability = Observability::kDetailed;
  MemorySamplerOptions memory;
  int io_threads = 2;
  absl::Duration drain_timeout;
  pool::PoolOptions pool;
  firefox::LauncherOptions launcher;
  firefox::HubOptions hub;
  ServiceOptions service;
  // TLS, client certificates and bearer tokens of the gRPC port.
  AuthOptions auth;
  // Admission control of commands; unset: none (--command_limit=off).
  std::optional<pool::CommandGate::Options> command_gate;
};

// Parses the command line (absl flags; --help lists them) into a Config.
// INVALID_ARGUMENT names the flag that is wrong.
absl::StatusOr<Config> ParseConfig(int argc, char** argv);

}  // namespace foxpool::server
