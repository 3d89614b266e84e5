#include "server/app.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "firefox/hub.h"
#include "firefox/launcher.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "pool/pool.h"
#include "server/asio_scheduler.h"
#include "server/auth.h"
#include "server/browser_pool_service.h"
#include "server/config.h"
#include "server/http_endpoint.h"
#include "server/logging.h"
#include "server/memory_sampler.h"
#include "server/metrics.h"
#include "server/status_page.h"
#include "server/telemetry.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

constexpr char kServiceName[] = "foxpool.v1.BrowserPool";
constexpr char kVersion[] = FOXPOOL_VERSION;

std::string ObservabilityName(Observability level) {
  switch (level) {
    case Observability::kBasic:
      return "basic";
    case Observability::kDetailed:
      return "detailed";
    case Observability::kComplete:
      return "complete";
  }
  return "detailed";
}

std::map<std::string, int64_t> HubRefusals(const firefox::Hub& hub) {
  std::map<std::string, int64_t> by_reason;
  firefox::RefusalCounts counts = hub.refused();
  for (int i = 0; i < firefox::kRefusalCount; ++i) {
    by_reason[std::string(firefox::RefusalName(static_cast<firefox::Refusal>(i)))] = counts[i];
  }
  return by_reason;
}

enum class DrainEnd { kLeasesReleased, kTimeout, kSecondSignal };

// Waits until no lease is held, `deadline` passes, or another shutdown
// signal arrives, whichever is first. Polls the signal every 100 ms; the
// leases are awaited on the pool's own condition in between.
DrainEnd AwaitDrain(pool::Pool& pool, const sigset_t& signals, absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return DrainEnd::kTimeout;
    if (pool.AwaitNoLeases(std::min(left, absl::Milliseconds(100)))) {
      return DrainEnd::kLeasesReleased;
    }
    timespec now{0, 0};
    if (sigtimedwait(&signals, nullptr, &now) > 0) return DrainEnd::kSecondSignal;
  }
}

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int Run(int argc, char** argv) {
  // Block the shutdown signals (and SIGHUP, which reloads the tokens)
  // before any thread starts, so that every thread inherits the mask and
  // only the main thread's sigwait sees them.
  sigset_t signals = ShutdownSignals();
  sigset_t waited = signals;
  sigaddset(&waited, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<Config> config = ParseConfig(argc, argv);
  if (!config.ok()) {
    spdlog::critical("{}", std::string(config.status().message()));
    return 2;
  }
  spdlog::level::level_enum log_level = spdlog::level::from_str(config->log_level);
  // Per-command lines are debug lines: "complete" is asking for them.
  if (config->observability == Observability::kComplete) {
    log_level = std::min(log_level, spdlog::level::debug);
  }
  SetUpLogging(config->log_format, log_level);
  std::unique_ptr<TokenStore> tokens;
  if (!config->auth.token_file.empty()) {
    absl::StatusOr<std::unique_ptr<TokenStore>> loaded = TokenStore::Load(config->auth.token_file);
    if (!loaded.ok()) {
      spdlog::critical("--auth_token_file: {}", std::string(loaded.status().message()));
      return 2;
    }
    tokens = *std::move(loaded);
  }

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < config->io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  auto stop_io = [&] {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  };

  firefox::Hub hub(io, config->hub);
  if (absl::Status s = hub.Listen(); !s.ok()) {
    spdlog::critical("{}", std::string(s.message()));
    stop_io();
    return 1;
  }
  firefox::ProfileStore profiles(config->state_dir, config->profile_template);
  config->launcher.profiles = &profiles;
  firefox::Launcher launcher(io, hub, config->launcher);
  if (absl::Status s = launcher.Init(); !s.ok()) {
    spdlog::critical("{}", std::string(s.message()));
    hub.Stop();
    stop_io();
    return 1;
  }
  AsioScheduler scheduler(io);
  const std::string firefox_version = firefox::FirefoxVersion(config->launcher.firefox_binary);
  Metrics metrics(
      MetricsOptions{.level = config->observability,
                     .min_windows = config->pool.size,
                     .max_windows = std::max(config->pool.size, config->pool.max_windows),
                     .max_queue = config->pool.max_queue,
                     .memory_threshold = config->memory.threshold,
                     .version = kVersion,
                     .firefox_version = firefox_version});
  Authenticator authenticator(tokens.get(), !config->auth.client_ca.empty(),
                              [&metrics](absl::string_view reason) { metrics.AuthFailed(reason); });
  if (authenticator.enabled()) config->service.authenticator = &authenticator;
  Telemetry telemetry(metrics, [&launcher](pool::WindowId id) {
    for (const auto& process : launcher.Processes()) {
      if (process.id == id) return process.session.value();
    }
    return std::string();
  });
  std::optional<pool::CommandGate> gate;
  if (config->command_gate) gate.emplace(*config->command_gate, scheduler);
  config->service.command_gate = gate ? &*gate : nullptr;
  pool::Pool pool(config->pool, launcher, scheduler, &telemetry, config->service.command_gate);
  config->service.command_observer = &telemetry;
  BrowserPoolService service(pool, config->service, &profiles);
  MemorySampler sampler(
      config->memory, [&launcher] { return launcher.Processes(); },
      [&pool](const MemorySnapshot& sample) {
        pool::MemoryReport report{.short_of_memory = sample.pressure};
        for (const auto& window : sample.windows)
          report.windows.push_back({window.id, window.pss_bytes});
        pool.ReportMemory(report);
      });
  const absl::Time started_at = absl::Now();
  std::atomic<int64_t> drain_deadline_ns{std::numeric_limits<int64_t>::max()};
  auto current_drain_deadline = [&] {
    int64_t ns = drain_deadline_ns.load();
    return ns == std::numeric_limits<int64_t>::max() ? absl::InfiniteFuture()
                                                     : absl::FromUnixNanos(ns);
  };
  auto status_json = [&] {
    return StatusJson(StatusInputs{.pool = pool.Status(),
                                   .windows = pool.Windows(),
                                   .leases = pool.Leases(),
                                   .memory = sampler.Latest(),
                                   .max_queue = config->pool.max_queue,
                                   .memory_threshold = config->memory.threshold,
                                   .version = kVersion,
                                   .firefox_version = firefox_version,
                                   .observability = ObservabilityName(config->observability),
                                   .started_at = started_at,
                                   .drain_deadline = current_drain_deadline(),
                                   .now = absl::Now()});
  };
  HttpEndpoint endpoint({
      {"/metrics",
       {"text/plain; version=0.0.4; charset=utf-8",
        [&] {
          ScrapeState state{.pool = pool.Status(),
                            .memory = sampler.Latest(),
                            .hub_refused = HubRefusals(hub),
                            .requests_blocked = hub.blocked(),
                            .profile_restores = profiles.restores(),
                            .drain_deadline = current_drain_deadline()};
          for (const pool::LeaseInfo& lease : pool.Leases()) {
            state.commands_in_flight += lease.commands_in_flight;
          }
          if (gate) {
            pool::CommandGate::Stats stats = gate->stats();
            state.command_limit = stats.limit;
            state.commands_queued = stats.queued;
          }
          return metrics.Scrape(state);
        }}},
      {"/status.json", {"application/json", [&] { return status_json().dump(2) + "\n"; }}},
      {"/status", {"text/html; charset=utf-8", [&] { return StatusHtml(status_json()); }}},
      {"/", {"text/html; charset=utf-8", [&] { return StatusHtml(status_json()); }}},
      // gRPC health over plain HTTP, for probes that cannot speak TLS to
      // the gRPC port: 200 while SERVING, 503 otherwise.
      {"/healthz",
       {"text/plain; charset=utf-8",
        [&] { return telemetry.serving() ? "SERVING\n" : "NOT_SERVING\n"; },
        [&] { return telemetry.serving(); }}},
  });
  if (!config->metrics_address.empty()) {
    if (absl::Status s = endpoint.Start(config->metrics_address); !s.ok()) {
      spdlog::critical("metrics endpoint: {}", std::string(s.message()));
      launcher.Shutdown(absl::Seconds(5));
      hub.Stop();
      stop_io();
      return 1;
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  if (tokens == nullptr) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  } else {
    // Reflection cannot ask for a token: it would describe the API to
    // anyone who reaches the port.
    spdlog::info("gRPC server reflection is off: callers must present a bearer token");
  }
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config->grpc_address, ServerCredentialsFor(config->auth), &grpc_port);
  builder.RegisterService(&service);
  // Room for an UploadFile at its limit; larger requests are refused by
  // gRPC itself (RESOURCE_EXHAUSTED) before they are read.
  builder.SetMaxReceiveMessageSize(static_cast<int>(config->service.max_upload_bytes + (1 << 20)));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    spdlog::critical("cannot serve gRPC on {}", config->grpc_address);
    launcher.Shutdown(absl::Seconds(5));
    hub.Stop();
    stop_io();
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(kServiceName, false);
  health->SetServingStatus("", false);
  telemetry.SetHealth(health, kServiceName, [&pool] {
    pool::PoolStatus status = pool.Status();
    return status.idle + status.leased;
  });
  spdlog::info("foxpoold: gRPC on {} (port {}), hub on 127.0.0.1:{}, {} windows, profiles in {}",
               config->grpc_address, grpc_port, hub.port(), config->pool.size,
               launcher.instance_dir().string());
  spdlog::info("gRPC security: {}{}{}", config->auth.tls() ? "TLS" : "plaintext",
               config->auth.client_ca.empty() ? "" : ", client certificates required",
               tokens == nullptr ? ", no bearer tokens"
                                 : absl::StrCat(", ", tokens->size(), " bearer tokens"));
  if (endpoint.port() != 0) {
    spdlog::info("metrics and status on http://{}:{}/ (observability {})",
                 config->metrics_address.substr(0, config->metrics_address.rfind(':')),
                 endpoint.port(), ObservabilityName(config->observability));
  }
  if (!config->port_file.empty()) {
    // Written whole under a temporary name, so a reader never sees half.
    std::string temp = config->port_file + ".tmp";
    std::ofstream(temp) << grpc_port << "\n" << endpoint.port() << "\n";
    std::rename(temp.c_str(), config->port_file.c_str());
  }
  pool.Start();
  sampler.Start();

  int received = 0;
  for (;;) {
    sigwait(&waited, &received);
    if (received != SIGHUP) break;
    if (tokens == nullptr) {
      spdlog::info("SIGHUP: no --auth_token_file to reload");
    } else if (absl::StatusOr<int> count = tokens->Reload(); count.ok()) {
      spdlog::info("SIGHUP: reloaded {} tokens", *count);
    } else {
      spdlog::error("SIGHUP: keeping the previous tokens: {}",
                    std::string(count.status().message()));
    }
  }
  absl::Time drain_deadline = absl::Now() + config->drain_timeout;
  spdlog::info("{}: draining (up to {} for held leases; signal again to stop now)",
               strsignal(received), absl::FormatDuration(config->drain_timeout));
  telemetry.StopServing();
  drain_deadline_ns = absl::ToUnixNanos(drain_deadline);
  pool.Drain();
  service.NotifyDraining(config->drain_timeout);
  switch (AwaitDrain(pool, signals, drain_deadline)) {
    case DrainEnd::kLeasesReleased:
      break;
    case DrainEnd::kTimeout:
      spdlog::warn("drain timeout: ending the leases still held");
      break;
    case DrainEnd::kSecondSignal:
      spdlog::warn("second signal: ending the leases still held now");
      break;
  }
  // From here on everything is bounded so that the process exits within
  // the drain timeout + 5 s: calls still running get 2 s, then are
  // cancelled; windows on persistent profiles are asked to quit (their
  // process groups killed after a grace), the others killed at once, and all
  // of it reaped and the profiles removed within 2 s.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pool.Shutdown();
  bool clean = launcher.Shutdown(absl::Seconds(2));
  endpoint.Stop();
  hub.Stop();
  stop_io();
  spdlog::info("foxpoold stopped{}", clean ? "" : " (some windows had to be abandoned)");
  return 0;
}

}  // namespace foxpool::server
