#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/asio/ip/address.hpp"
#include "nlohmann/json.hpp"

namespace foxpool::firefox {

// An exception to the private-network block (--allow_hosts): a host name,
// an IP address or an IP network, with a port or any port.
struct AllowedHost {
  // Lower case; an IP address in its canonical text (IPv6 without
  // brackets); a network as "address/prefix".
  std::string host;
  // 0: any port. Always 0 for a network.
  uint16_t port = 0;
};

// Where the pages of a window may go: which URL schemes a tab's document may
// have (what Navigate and OpenTab accept, and what the extension lets a tab
// load) and whether requests to loopback, private, link-local and similar
// addresses are refused. The server checks what callers ask for; each
// window's extension (which gets the policy through its config.json) checks
// every request its pages make, after DNS. Plain data, copied freely.
struct UrlPolicy {
  // Each "http", "https", "data" or "about:blank" (the only about: page).
  std::vector<std::string> schemes = {"http", "https", "about:blank"};
  bool block_private_networks = false;
  std::vector<AllowedHost> allow_hosts;
};

// --url_schemes: a comma list of http, https, data and about:blank
// (a trailing ':' and upper case are accepted). Anything else, file:,
// javascript:, chrome:, other about: pages included, is refused: those
// would give the caller the server's files or the browser's internals.
absl::StatusOr<std::vector<std::string>> ParseUrlSchemes(absl::string_view list);

// --allow_hosts: a comma list of `host`, `host:port`, `[ipv6]`,
// `[ipv6]:port` or `address/prefix` (a network, any port). Empty: none.
absl::StatusOr<std::vector<AllowedHost>> ParseAllowHosts(absl::string_view list);

// --block_private_networks: "true", "false", or "auto": on unless the gRPC
// API listens on loopback only (`grpc_address`, host:port or unix:path),
// where every caller is already on this machine.
absl::StatusOr<bool> ParseBlockPrivateNetworks(absl::string_view mode,
                                               absl::string_view grpc_address);

// The name of the blocked range `address` is in ("loopback", "private",
// "link-local", ...), for messages; nullopt for a public address. IPv6
// forms that carry an IPv4 address (mapped, compatible, NAT64) are judged
// by that address.
std::optional<std::string> BlockedRange(const boost::asio::ip::address& address);

// Whether --allow_hosts lets requests reach `host` (as AllowedHost::host is
// written) on `port`.
bool HostAllowed(const UrlPolicy& policy, absl::string_view host, int port);

// Checks a URL a caller asks a window to load (`field` names it in errors):
// INVALID_ARGUMENT when its scheme is not allowed, PERMISSION_DENIED when
// private networks are blocked and its host is an IP address in a blocked
// range or localhost, unless allowed. Other host names are resolved and
// checked by the extension.
absl::Status CheckUrl(const UrlPolicy& policy, absl::string_view field, absl::string_view url);

// Checks a host and port the window would connect to (a proxy's), as
// CheckUrl checks a URL's.
absl::Status CheckHost(const UrlPolicy& policy, absl::string_view field, absl::string_view host,
                       int port);

// The policy as the extension reads it from config.json.
nlohmann::json PolicyJson(const UrlPolicy& policy);

// user_pref lines that close the ways around the extension's check (WebRTC,
// DNS prefetch, speculative connections) when private networks are blocked,
// and that let data: documents load at top level when data is allowed;
// empty when neither.
std::string PolicyPreferences(const UrlPolicy& policy);

}  // namespace foxpool::firefox
