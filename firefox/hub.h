#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "firefox/channel.h"
#include "firefox/frame.h"

namespace foxpool::firefox {

// Why the extension's navigation policy cancelled a page's request
// (extension/network_policy.js): a top-level document of a scheme
// --url_schemes refuses, a private destination, a name that did not resolve.
inline constexpr std::array<const char*, 3> kBlockedReasons = {"scheme", "private_network",
                                                               "unresolved"};

struct HubOptions {
  // 0: the OS picks a free port.
  uint16_t port = 0;
  // Largest frame an extension may send (a screenshot travels as base64).
  size_t max_frame_bytes = 64 << 20;
  // A connection that has not proven a session by then is dropped.
  absl::Duration hello_timeout = absl::Seconds(5);
  // Connections that have not yet proven a session, at most; more are
  // closed at once (a page opening sockets in a loop cannot starve the
  // windows' reconnects).
  int max_pending_connections = 64;
};

// The WebSocket hub every window's extension connects to: one loopback port
// for the whole pool, sessions routed by SessionId.
//
// The first frame of a connection must be
// `{"type":"hello","session":ID,"secret":SECRET}` naming a session the hub
// expects, with its secret; anything else (unknown session, wrong secret, a
// second connection for a live session, not JSON, binary, too large, too
// slow) closes the connection before a single command is sent on it, and is
// counted by reason. Web pages can reach the port and forge an Origin, so the
// secret is the only proof.
//
// Thread-safe. Accepting and every connection run on the io_context, each
// connection on its own strand. Call Stop() while the io_context runs, and
// destroy the hub only after its threads have been joined.
class Hub {
 public:
  Hub(boost::asio::io_context& io, HubOptions options);
  ~Hub();

  // Binds 127.0.0.1:port and starts accepting.
  absl::Status Listen();
  uint16_t port() const { return port_; }

  // Registers a session the hub will accept, and returns its channel.
  std::shared_ptr<Channel> Expect(const SessionId& id, std::string secret);
  // Drops a session: its connection, if any, is closed and its pending
  // requests fail with `why`.
  void Forget(const SessionId& id, absl::Status why);

  // Connections refused since start (and frames dropped from authenticated
  // ones), by reason, for tests and metrics.
  RefusalCounts refused() const;
  int64_t refused(Refusal reason) const { return refused()[static_cast<int>(reason)]; }
  int64_t refused_total() const;
  // Requests the windows' navigation policy cancelled since start, by reason
  // (each of kBlockedReasons), from the running totals every extension
  // reports: {"type":"blocked","totals":{"private_network":3,...}}.
  std::map<std::string, int64_t> blocked() const;

  // Stops accepting and closes every session.
  void Stop();

  // --- for connections ---
  // The channel `hello` proves; otherwise null, and `why` says which claim failed.
  std::shared_ptr<Channel> Authenticate(const Hello& hello, Refusal& why);
  void CountRefused(Refusal reason);
  // Takes session `id`'s latest totals: what grew since its last report is
  // added. Unknown reasons, non-numbers and totals that shrink are ignored.
  void CountBlocked(const SessionId& id, const nlohmann::json& totals);
  // Admits one more connection yet to say hello, unless too many wait; the
  // session then holds `pending_` and decrements it once (hello or gone).
  bool AdmitPending();
  const HubOptions& options() const { return options_; }

 private:
  void DoAccept();

  boost::asio::io_context& io_;
  const HubOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<SessionId, std::shared_ptr<Channel>> sessions_ ABSL_GUARDED_BY(mu_);
  RefusalCounts refused_ ABSL_GUARDED_BY(mu_) = {};
  std::map<std::string, int64_t> blocked_ ABSL_GUARDED_BY(mu_);
  // Each live session's last reported totals.
  absl::flat_hash_map<SessionId, std::map<std::string, int64_t>> blocked_seen_ ABSL_GUARDED_BY(mu_);
  // Connections yet to say hello; shared with their sessions, which may
  // outlive the hub (destroyed with the io_context's queued handlers).
  const std::shared_ptr<std::atomic<int>> pending_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace foxpool::firefox
