#include "server/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "firefox/profile.h"
#include "firefox/url_policy.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "Address the gRPC API listens on (host:port; port 0 picks a free one).");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "Address of the HTTP endpoint with Prometheus /metrics, /healthz and the /status page "
          "(host:port; port 0 picks a free one; empty: not served). It needs no credentials and "
          "the status page shows leases' labels, holders and peers: listen beyond loopback only "
          "where that is fine (e.g. 0.0.0.0:9464 for a Prometheus elsewhere).");
ABSL_FLAG(std::string, port_file, "",
          "If set, once serving, the bound gRPC port is written to this file as its first line "
          "and the metrics port (0 if not served) as its second.");
ABSL_FLAG(std::string, observability, "detailed",
          "basic: pool-level metrics, info logs; detailed: + command latency by method, memory "
          "per window, lease life logs; complete: + a debug log line per command.");
ABSL_FLAG(std::string, log_format, "text", "text, or json (one object per line).");
ABSL_FLAG(double, memory_threshold, 0.75,
          "System (or cgroup) memory used ratio above which memory counts as under pressure.");
ABSL_FLAG(absl::Duration, memory_sample_interval, absl::Seconds(5),
          "How often the windows' PSS and system memory are sampled.");
ABSL_FLAG(int, pool_size, 2, "Warm Firefox windows kept by the pool, however quiet it is.");
ABSL_FLAG(
    int, max_windows, 0,
    "While callers wait, the pool grows up to this many windows (0: --pool_size, no growth).");
ABSL_FLAG(int, max_starting, 2,
          "Windows launching at once (each costs about two core-seconds); the rest wait their "
          "turn (0: no limit).");
ABSL_FLAG(int, min_idle, 0,
          "Windows kept idle or starting beyond the leased ones, within --max_windows.");
ABSL_FLAG(absl::Duration, shrink_after, absl::Minutes(5),
          "An idle window above --pool_size closes after this long unused.");
ABSL_FLAG(int, max_leases_per_window, 100,
          "A window that served this many leases is replaced instead of reset (0: no limit).");
ABSL_FLAG(absl::Duration, max_window_age, absl::Hours(1),
          "A window older than this is replaced, one at a time, the replacement started first "
          "(0: no limit).");
ABSL_FLAG(int, max_window_memory_mb, 1024,
          "A window whose process group's PSS exceeds this many MiB is replaced (0: no limit).");
ABSL_FLAG(absl::Duration, probe_interval, absl::Seconds(10),
          "Idle windows are health-probed this often (a script run in the page).");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(5),
          "A probe not answered within this marks its window unresponsive: it is replaced.");
ABSL_FLAG(std::string, memory_policy, "wait",
          "While memory is above --memory_threshold, an Acquire that finds no idle window: "
          "wait (queue as usual) or refuse (RESOURCE_EXHAUSTED at once).");
ABSL_FLAG(int, max_queue, 0, "Callers that may wait in Acquire at once (0: 4 x pool size).");
ABSL_FLAG(absl::Duration, max_queue_wait, absl::Minutes(5),
          "Longest wait in Acquire, whatever the caller's deadline.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(60),
          "A lease with no command or Renew for this long expires (callers may ask for less "
          "or more, up to --max-idle-timeout).");
ABSL_FLAG(absl::Duration, max_idle_timeout, absl::Minutes(30),
          "Largest idle timeout a caller may ask for.");
ABSL_FLAG(absl::Duration, max_lease_duration, absl::Hours(1),
          "No lease lasts longer than this, however busy; then its window is reset and returned.");
ABSL_FLAG(int64_t, max_script_bytes, 1 << 20,
          "Largest Evaluate expression, preload script or typed text a request may carry "
          "(INVALID_ARGUMENT above).");
ABSL_FLAG(int64_t, max_result_bytes, 8 << 20,
          "Largest result of a command, as JSON (RESOURCE_EXHAUSTED above; the window survives).");
ABSL_FLAG(int64_t, max_screenshot_bytes, 32 << 20,
          "Largest Screenshot image or PrintToPdf document (RESOURCE_EXHAUSTED above).");
ABSL_FLAG(int64_t, max_commands_per_lease, 0,
          "Commands one lease may send; then RESOURCE_EXHAUSTED until it is released and a new "
          "one acquired (0: no limit; --max_lease_duration bounds a lease anyway).");
ABSL_FLAG(int, max_streams_per_peer, 16,
          "Session streams one caller may hold open at once (the token's principal, else the "
          "client's IP address); more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, command_timeout, absl::Seconds(30),
          "Timeout of a command whose request sets none.");
ABSL_FLAG(std::string, command_limit, "off",
          "Commands executing at once across all windows; the rest wait their turn, in order "
          "per lease. auto: start at the core count and follow the browsers' latency (from the "
          "core count to 8 times it); N: a fixed limit; off: no limit (see bench/RESULTS.md).");
ABSL_FLAG(std::string, firefox, "/usr/bin/firefox-esr", "Firefox binary.");
ABSL_FLAG(std::string, profile_root, "",
          "Directory for window profiles (default: $TMPDIR or /tmp). Each server makes its own "
          "foxpool-<pid>-<rand> directory in it and removes it on exit.");
ABSL_FLAG(std::string, state_dir, "",
          "Where persistent profiles live (Acquire with a profile), kept across restarts "
          "(default: $XDG_STATE_HOME/foxpool, else ~/.local/state/foxpool, else "
          "/var/tmp/foxpool-state).");
ABSL_FLAG(std::string, profile_template, "",
          "A Firefox profile directory that new persistent profiles are copied from (default: "
          "new profiles start empty).");
ABSL_FLAG(std::string, firefox_prefs, "",
          "A file of user_pref(\"name\", value); lines written into every window's profile after "
          "foxpool's own preferences, so they win.");
ABSL_FLAG(bool, seed_profiles, true,
          "Once the first window is ready, one more Firefox starts and quits to make a seed "
          "profile (its add-on registry and start-up caches) that later throwaway windows are "
          "copied from: each then starts about 0.3 s sooner.");
ABSL_FLAG(int, max_profile_windows, 8, "Windows on persistent profiles that may run at once.");
ABSL_FLAG(std::string, window_size, "1280x800", "Viewport size of every window, WIDTHxHEIGHT.");
ABSL_FLAG(absl::Duration, start_timeout, absl::Seconds(30),
          "A window not ready this long after launch is killed and started again.");
ABSL_FLAG(int, hub_port, 0, "Loopback port of the extensions' WebSocket hub (0: any free port).");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Minutes(1),
          "On SIGTERM/SIGINT, how long held leases may run on before shutdown.");
ABSL_FLAG(int, io_threads, 2, "Threads running the hub, timers and process supervision.");
ABSL_FLAG(std::string, url_schemes, "http,https,about:blank",
          "URL schemes a tab's document may have (Navigate, OpenTab, and what pages load in a "
          "tab): a comma list of http, https, about:blank and data.");
ABSL_FLAG(std::string, block_private_networks, "auto",
          "Refuse every request of a page (and any URL a caller sends) to loopback, private, "
          "link-local (cloud metadata), carrier-grade NAT, multicast and unspecified addresses, "
          "host names checked after DNS. auto: on unless --grpc_address is a loopback address; "
          "true; false.");
ABSL_FLAG(std::string, allow_hosts, "",
          "Exceptions to --block_private_networks: a comma list of host, host:port, [ipv6]:port "
          "or address/prefix (e.g. wiki.corp:443,10.1.2.0/24).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC port; with --tls_key, the port speaks TLS only. "
          "Read again every --tls_reload_interval: a renewed certificate needs no restart.");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Minutes(1),
          "How often --tls_cert, --tls_key and --client_ca are read again (1s to 24h); new "
          "connections use what was read last.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, client_ca, "",
          "PEM CA certificates (needs --tls_cert): clients must present a certificate signed by "
          "one (mutual TLS). Without --auth_token_file its common name is the caller's principal.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File of bearer tokens, one '<principal> <token> [admin]' per line ('#' comments): "
          "every BrowserPool call must send 'authorization: Bearer <token>' (else "
          "UNAUTHENTICATED); leases belong to their principal. Reloaded on SIGHUP.");

namespace foxpool::server {
namespace {

absl::StatusOr<firefox::UrlPolicy> ParseUrlPolicy(const std::string& grpc_address) {
  firefox::UrlPolicy policy;
  absl::StatusOr<std::vector<std::string>> schemes =
      firefox::ParseUrlSchemes(absl::GetFlag(FLAGS_url_schemes));
  if (!schemes.ok()) return schemes.status();
  policy.schemes = *std::move(schemes);
  absl::StatusOr<bool> block =
      firefox::ParseBlockPrivateNetworks(absl::GetFlag(FLAGS_block_private_networks), grpc_address);
  if (!block.ok()) return block.status();
  policy.block_private_networks = *block;
  absl::StatusOr<std::vector<firefox::AllowedHost>> allow =
      firefox::ParseAllowHosts(absl::GetFlag(FLAGS_allow_hosts));
  if (!allow.ok()) return allow.status();
  policy.allow_hosts = *std::move(allow);
  return policy;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "foxpoold: a pool of warm headless Firefox windows leased over gRPC.");
  absl::ParseCommandLine(argc, argv);

  Config config;
  config.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  config.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  config.port_file = absl::GetFlag(FLAGS_port_file);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off &&
      config.log_level != "off") {
    return absl::InvalidArgumentError("--log_level must be trace, debug, info, warn or error");
  }
  absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) return format.status();
  config.log_format = *format;
  std::string level = absl::GetFlag(FLAGS_observability);
  if (level == "basic") {
    config.observability = Observability::kBasic;
  } else if (level == "detailed") {
    config.observability = Observability::kDetailed;
  } else if (level == "complete") {
    config.observability = Observability::kComplete;
  } else {
    return absl::InvalidArgumentError("--observability must be basic, detailed or complete");
  }
  config.memory.threshold = absl::GetFlag(FLAGS_memory_threshold);
  if (!(config.memory.threshold > 0 && config.memory.threshold <= 1)) {
    return absl::InvalidArgumentError("--memory_threshold must be in (0, 1]");
  }
  config.memory.interval = absl::GetFlag(FLAGS_memory_sample_interval);
  if (config.memory.interval < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--memory_sample_interval must be at least 100ms");
  }
  config.io_threads = absl::GetFlag(FLAGS_io_threads);
  config.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  config.service.drain_timeout = config.drain_timeout;

  int size = absl::GetFlag(FLAGS_pool_size);
  if (size < 1 || size > 256) return absl::InvalidArgumentError("--pool_size must be 1..256");
  if (config.io_threads < 1) return absl::InvalidArgumentError("--io_threads must be >= 1");
  config.pool.size = size;
  config.pool.max_windows = absl::GetFlag(FLAGS_max_windows);
  if (config.pool.max_windows < 0 || config.pool.max_windows > 256) {
    return absl::InvalidArgumentError("--max_windows must be 0..256");
  }
  config.pool.max_starting = absl::GetFlag(FLAGS_max_starting);
  if (config.pool.max_starting < 0)
    return absl::InvalidArgumentError("--max_starting must be >= 0");
  config.pool.min_idle = absl::GetFlag(FLAGS_min_idle);
  if (config.pool.min_idle < 0) return absl::InvalidArgumentError("--min_idle must be >= 0");
  config.pool.shrink_after = absl::GetFlag(FLAGS_shrink_after);
  config.pool.max_leases_per_window = absl::GetFlag(FLAGS_max_leases_per_window);
  config.pool.max_window_age = absl::GetFlag(FLAGS_max_window_age);
  int memory_mb = absl::GetFlag(FLAGS_max_window_memory_mb);
  if (config.pool.max_leases_per_window < 0 || memory_mb < 0 ||
      config.pool.max_window_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--max_leases_per_window, --max_window_age and --max_window_memory_mb must be >= 0");
  }
  config.pool.max_window_memory = static_cast<uint64_t>(memory_mb) << 20;
  config.pool.probe_interval = absl::GetFlag(FLAGS_probe_interval);
  config.pool.probe_timeout = absl::GetFlag(FLAGS_probe_timeout);
  if (config.pool.probe_interval < absl::Seconds(1) ||
      config.pool.probe_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--probe_interval must be >= 1s, --probe_timeout >= 100ms");
  }
  config.pool.upkeep_interval = absl::Seconds(1);
  std::string memory_policy = absl::GetFlag(FLAGS_memory_policy);
  if (memory_policy != "wait" && memory_policy != "refuse") {
    return absl::InvalidArgumentError("--memory_policy must be wait or refuse");
  }
  config.pool.refuse_when_memory_short = memory_policy == "refuse";
  int max_queue = absl::GetFlag(FLAGS_max_queue);
  if (max_queue < 0) return absl::InvalidArgumentError("--max_queue must be >= 0");
  config.pool.max_queue = max_queue == 0 ? 4 * std::max(size, config.pool.max_windows) : max_queue;
  config.pool.max_wait = absl::GetFlag(FLAGS_max_queue_wait);
  config.pool.default_idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  config.pool.max_idle_timeout = absl::GetFlag(FLAGS_max_idle_timeout);
  config.pool.max_lease_duration = absl::GetFlag(FLAGS_max_lease_duration);
  if (config.pool.max_lease_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_lease_duration must be positive");
  }
  if (config.pool.default_idle_timeout <= absl::ZeroDuration() ||
      config.pool.max_idle_timeout < config.pool.default_idle_timeout) {
    return absl::InvalidArgumentError(
        "--idle_timeout must be positive and at most --max_idle_timeout");
  }

  config.launcher.firefox_binary = absl::GetFlag(FLAGS_firefox);
  std::string root = absl::GetFlag(FLAGS_profile_root);
  if (root.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    root = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  config.launcher.profile_root = root;
  config.state_dir = absl::GetFlag(FLAGS_state_dir);
  if (config.state_dir.empty()) {
    const char* xdg = std::getenv("XDG_STATE_HOME");
    const char* home = std::getenv("HOME");
    config.state_dir = xdg != nullptr && *xdg != '\0' ? std::string(xdg) + "/foxpool"
                       : home != nullptr && *home != '\0'
                           ? std::string(home) + "/.local/state/foxpool"
                           : "/var/tmp/foxpool-state";
  }
  config.profile_template = absl::GetFlag(FLAGS_profile_template);
  if (!config.profile_template.empty() && !std::filesystem::is_directory(config.profile_template)) {
    return absl::InvalidArgumentError("--profile_template must name a directory");
  }
  if (std::string file = absl::GetFlag(FLAGS_firefox_prefs); !file.empty()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--firefox_prefs: cannot read ", file));
    if (absl::Status s = firefox::CheckPreferences(text.str()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--firefox_prefs ", file, ": ", s.message()));
    }
    config.launcher.extra_prefs = text.str();
  }
  absl::StatusOr<firefox::UrlPolicy> url_policy = ParseUrlPolicy(config.grpc_address);
  if (!url_policy.ok()) return url_policy.status();
  config.launcher.url_policy = *url_policy;
  config.service.url_policy = *std::move(url_policy);
  config.launcher.seed_profiles = absl::GetFlag(FLAGS_seed_profiles);
  config.pool.max_profile_windows = absl::GetFlag(FLAGS_max_profile_windows);
  if (config.pool.max_profile_windows < 0) {
    return absl::InvalidArgumentError("--max_profile_windows must be >= 0");
  }
  std::vector<std::string> wh = absl::StrSplit(absl::GetFlag(FLAGS_window_size), 'x');
  if (wh.size() != 2 || !absl::SimpleAtoi(wh[0], &config.launcher.width) ||
      !absl::SimpleAtoi(wh[1], &config.launcher.height) || config.launcher.width < 100 ||
      config.launcher.height < 100 || config.launcher.width > 8192 ||
      config.launcher.height > 8192) {
    return absl::InvalidArgumentError("--window_size must be WIDTHxHEIGHT, each 100..8192");
  }
  config.launcher.start_timeout = absl::GetFlag(FLAGS_start_timeout);

  int hub_port = absl::GetFlag(FLAGS_hub_port);
  if (hub_port < 0 || hub_port > 65535)
    return absl::InvalidArgumentError("--hub_port must be 0..65535");
  config.hub.port = static_cast<uint16_t>(hub_port);
  config.service.default_command_timeout = absl::GetFlag(FLAGS_command_timeout);
  config.auth = AuthOptions{.tls_cert = absl::GetFlag(FLAGS_tls_cert),
                            .tls_key = absl::GetFlag(FLAGS_tls_key),
                            .client_ca = absl::GetFlag(FLAGS_client_ca),
                            .token_file = absl::GetFlag(FLAGS_auth_token_file)};
  absl::Duration tls_reload = absl::GetFlag(FLAGS_tls_reload_interval);
  if (tls_reload < absl::Seconds(1) || tls_reload > absl::Hours(24)) {
    return absl::InvalidArgumentError("--tls_reload_interval must be 1s to 24h");
  }
  config.auth.tls_reload_seconds =
      static_cast<unsigned>(absl::ToInt64Seconds(absl::Ceil(tls_reload, absl::Seconds(1))));
  if (absl::Status s = CheckAuthOptions(config.auth); !s.ok()) return s;
  constexpr int64_t kMaxLimit = int64_t{256} << 20;
  int64_t script = absl::GetFlag(FLAGS_max_script_bytes);
  int64_t result = absl::GetFlag(FLAGS_max_result_bytes);
  int64_t screenshot = absl::GetFlag(FLAGS_max_screenshot_bytes);
  if (script < 1024 || script > kMaxLimit || result < 1024 || result > kMaxLimit ||
      screenshot < 1024 || screenshot > kMaxLimit) {
    return absl::InvalidArgumentError(
        "--max_script_bytes, --max_result_bytes and --max_screenshot_bytes must be 1024 to "
        "268435456");
  }
  config.service.max_script_bytes = static_cast<size_t>(script);
  config.service.max_result_bytes = static_cast<size_t>(result);
  config.service.max_screenshot_bytes = static_cast<size_t>(screenshot);
  // A result at its limit (and an upload) must fit in one hub frame.
  config.hub.max_frame_bytes =
      std::max({config.hub.max_frame_bytes, config.service.max_result_bytes + (1 << 20),
                ResultLimit(kScreenshot.method, config.service) + (1 << 20),
                config.service.max_upload_bytes * 2});
  config.pool.max_commands_per_lease = absl::GetFlag(FLAGS_max_commands_per_lease);
  config.service.max_streams_per_peer = absl::GetFlag(FLAGS_max_streams_per_peer);
  if (config.pool.max_commands_per_lease < 0 || config.service.max_streams_per_peer < 1) {
    return absl::InvalidArgumentError(
        "--max_commands_per_lease must be >= 0 and --max_streams_per_peer >= 1");
  }
  std::string limit = absl::GetFlag(FLAGS_command_limit);
  int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  int fixed = 0;
  if (limit == "auto") {
    config.command_gate = pool::CommandGate::Options{
        .initial_limit = cores, .min_limit = cores, .max_limit = 8 * cores, .adaptive = true};
  } else if (absl::SimpleAtoi(limit, &fixed) && fixed > 0) {
    config.command_gate = pool::CommandGate::Options{
        .initial_limit = fixed, .min_limit = fixed, .max_limit = fixed, .adaptive = false};
  } else if (limit != "off") {
    return absl::InvalidArgumentError("--command_limit must be auto, off or a positive number");
  }
  return config;
}

}  // namespace foxpool::server
