#include "server/app.h"

#include <signal.h>

#include <fstream>
#include <memory>
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
#include "server/browser_pool_service.h"
#include "server/config.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

constexpr char kServiceName[] = "foxpool.v1.BrowserPool";

// Logs the pool's life and flips health to SERVING once a window is ready.
// Lease ids are credentials: only their first 8 hex digits are logged.
class LoggingObserver : public pool::PoolObserver {
 public:
  void SetHealth(grpc::HealthCheckServiceInterface* health) { health_ = health; }

  void OnWindowReady(pool::WindowId id) override {
    if (health_ != nullptr && !serving_.exchange(true)) {
      health_->SetServingStatus(kServiceName, true);
      health_->SetServingStatus("", true);
    }
  }
  void OnWindowFailed(pool::WindowId id, const absl::Status& why) override {
    spdlog::warn("window {} out of service: {}", id.ToString(), why.ToString());
  }
  void OnLeaseGranted(const pool::Grant& grant) override {
    spdlog::info("lease {} granted: window {}, waited {}", Short(grant.lease),
                 grant.window.ToString(), absl::FormatDuration(grant.waited));
  }
  void OnLeaseEnded(const pool::LeaseId& lease, pool::WindowId window,
                    const absl::Status& why) override {
    spdlog::info("lease {} ended: window {}, {}", Short(lease), window.ToString(),
                 why.ok() ? "released" : why.ToString());
  }

 private:
  static std::string Short(const pool::LeaseId& lease) { return lease.value().substr(0, 8); }
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::atomic<bool> serving_{false};
};

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
  // Block the shutdown signals before any thread starts, so that every
  // thread inherits the mask and only the main thread's sigwait sees them.
  sigset_t signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<Config> config = ParseConfig(argc, argv);
  if (!config.ok()) {
    spdlog::critical("{}", std::string(config.status().message()));
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%t] %v");

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
  firefox::Launcher launcher(io, hub, config->launcher);
  if (absl::Status s = launcher.Init(); !s.ok()) {
    spdlog::critical("{}", std::string(s.message()));
    hub.Stop();
    stop_io();
    return 1;
  }
  AsioScheduler scheduler(io);
  LoggingObserver observer;
  pool::Pool pool(config->pool, launcher, scheduler, &observer);
  BrowserPoolService service(pool, config->service);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config->grpc_address, grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&service);
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
  observer.SetHealth(health);
  spdlog::info("foxpoold: gRPC on {} (port {}), hub on 127.0.0.1:{}, {} windows, profiles in {}",
               config->grpc_address, grpc_port, hub.port(), config->pool.size,
               launcher.instance_dir().string());
  spdlog::info("metrics address {} is reserved; /metrics is not served yet",
               config->metrics_address);
  if (!config->port_file.empty()) {
    std::ofstream(config->port_file) << grpc_port << "\n";
  }
  pool.Start();

  int received = 0;
  sigwait(&signals, &received);
  absl::Time drain_deadline = absl::Now() + config->drain_timeout;
  spdlog::info("{}: draining (up to {} for held leases; signal again to stop now)",
               strsignal(received), absl::FormatDuration(config->drain_timeout));
  health->SetServingStatus(kServiceName, false);
  health->SetServingStatus("", false);
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
  // cancelled; windows are asked to quit, their process groups killed after
  // a 1 s grace, and all of it reaped and the profiles removed within 2 s.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pool.Shutdown();
  bool clean = launcher.Shutdown(absl::Seconds(2));
  hub.Stop();
  stop_io();
  spdlog::info("foxpoold stopped{}", clean ? "" : " (some windows had to be abandoned)");
  return 0;
}

}  // namespace foxpool::server
