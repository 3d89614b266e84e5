#include "firefox/url_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "boost/asio/ip/network_v4.hpp"
#include "boost/asio/ip/network_v6.hpp"

namespace foxpool::firefox {
namespace {

namespace ip = boost::asio::ip;

constexpr std::array<absl::string_view, 4> kKnownSchemes = {"http", "https", "data", "about:blank"};

struct Range {
  const char* network;
  const char* name;
};

// What a page on the public web must not reach from inside the
// operator's network: the machine itself, its LAN, cloud metadata
// (169.254.169.254), and addresses no public host has.
constexpr Range kV4Ranges[] = {
    {"0.0.0.0/8", "\"this network\" (0.0.0.0/8)"},
    {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "carrier-grade NAT"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local (cloud metadata)"},
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},
};
constexpr Range kV6Ranges[] = {
    {"::/128", "unspecified"},   {"::1/128", "loopback"},     {"fc00::/7", "unique local"},
    {"fe80::/10", "link-local"}, {"fec0::/10", "site-local"}, {"ff00::/8", "multicast"},
};
// IPv6 forms whose last 32 bits are an IPv4 address that is reached:
// mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96).
constexpr const char* kV4CarryingV6[] = {"::ffff:0:0/96", "::/96", "64:ff9b::/96"};

bool InNetwork(const ip::address_v4& address, const ip::network_v4& network) {
  return (address.to_uint() & network.netmask().to_uint()) == network.network().to_uint();
}

bool InNetwork(const ip::address_v6& address, const ip::network_v6& network) {
  return ip::network_v6(address, network.prefix_length()).canonical() == network.canonical();
}

// 2130706433, 0x7f.1, 0177.0.0.1: IPv4 as URLs may write it (WHATWG's
// "ends in a number"), which are the BSD forms inet_aton reads.
std::optional<ip::address> ParseIp(const std::string& host) {
  // The parsers below read C strings: "127.0.0.1%00.example" is no address.
  if (absl::StrContains(host, '\0')) return std::nullopt;
  boost::system::error_code error;
  ip::address address = ip::make_address(host, error);
  if (!error) return address;
  absl::string_view last = host;
  if (size_t dot = last.rfind('.'); dot != absl::string_view::npos) last.remove_prefix(dot + 1);
  bool numeric = !last.empty() && (absl::c_all_of(last, absl::ascii_isdigit) ||
                                   (absl::StartsWithIgnoreCase(last, "0x") &&
                                    absl::c_all_of(last.substr(2), absl::ascii_isxdigit)));
  in_addr v4;
  if (numeric && inet_aton(host.c_str(), &v4) != 0) return ip::address_v4(ntohl(v4.s_addr));
  return std::nullopt;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() && absl::ascii_isxdigit(text[i + 1]) &&
        absl::ascii_isxdigit(text[i + 2]) && absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// A host as AllowedHost::host writes it: lower case, without the root's
// trailing dot, an IP address in its canonical text.
std::string NormalizeHost(absl::string_view raw) {
  std::string host = absl::AsciiStrToLower(PercentDecode(raw));
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))
    host = host.substr(1, host.size() - 2);
  if (absl::EndsWith(host, ".")) host.pop_back();
  if (std::optional<ip::address> address = ParseIp(host)) return address->to_string();
  return host;
}

bool IsLocalhost(absl::string_view host) {
  return host == "localhost" || absl::EndsWith(host, ".localhost");
}

// The scheme of `url` in lower case, without its colon; "" when it has none.
std::string SchemeOf(absl::string_view url) {
  size_t colon = url.find(':');
  if (colon == absl::string_view::npos || colon == 0 || !absl::ascii_isalpha(url[0])) return "";
  absl::string_view scheme = url.substr(0, colon);
  for (char c : scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') return "";
  }
  return absl::AsciiStrToLower(scheme);
}

struct Authority {
  std::string host;  // As written.
  int port;
};

// The host and port of an http(s) URL, read as browsers do (any run of
// slashes or backslashes after the scheme, user info dropped); nullopt
// when it has none a browser would accept.
std::optional<Authority> AuthorityOf(absl::string_view url, absl::string_view scheme) {
  absl::string_view rest = url.substr(scheme.size() + 1);
  while (!rest.empty() && (rest[0] == '/' || rest[0] == '\\')) rest.remove_prefix(1);
  absl::string_view authority = rest.substr(0, rest.find_first_of("/\\?#"));
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  absl::string_view host = authority;
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    port_text = authority.substr(close + 1);
    if (!port_text.empty() && !absl::ConsumePrefix(&port_text, ":")) return std::nullopt;
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  int port = scheme == "https" ? 443 : 80;
  if (!port_text.empty() && (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535)) {
    return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return Authority{std::string(host), port};
}

absl::StatusOr<uint16_t> ParsePort(absl::string_view text, absl::string_view entry) {
  int port = 0;
  if (!absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--allow_hosts: bad port in \"", entry, "\" (1..65535)"));
  }
  return static_cast<uint16_t>(port);
}

absl::StatusOr<AllowedHost> ParseAllowedHost(absl::string_view entry) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--allow_hosts: \"", entry, "\" ", why));
  };
  boost::system::error_code error;
  if (absl::StrContains(entry, '/')) {
    std::string text(entry);
    if (auto v4 = ip::make_network_v4(text, error); !error) {
      return AllowedHost{absl::StrCat(v4.canonical().to_string())};
    }
    error.clear();
    if (auto v6 = ip::make_network_v6(text, error); !error) {
      return AllowedHost{absl::StrCat(v6.canonical().to_string())};
    }
    return bad("is not an IP network (address/prefix)");
  }
  absl::string_view host = entry;
  uint16_t port = 0;
  if (absl::StartsWith(entry, "[")) {
    size_t close = entry.find(']');
    if (close == absl::string_view::npos) return bad("lacks its ']'");
    host = entry.substr(1, close - 1);
    absl::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) return bad("has text after ']' that is no :port");
      absl::StatusOr<uint16_t> parsed = ParsePort(rest, entry);
      if (!parsed.ok()) return parsed.status();
      port = *parsed;
    }
    ip::make_address_v6(std::string(host), error);
    if (error) return bad("has no IPv6 address in brackets");
  } else if (absl::c_count(entry, ':') == 1) {
    size_t colon = entry.find(':');
    host = entry.substr(0, colon);
    absl::StatusOr<uint16_t> parsed = ParsePort(entry.substr(colon + 1), entry);
    if (!parsed.ok()) return parsed.status();
    port = *parsed;
  }
  std::string normalized = NormalizeHost(host);
  if (normalized.empty()) return bad("has no host");
  if (!ParseIp(normalized)) {
    for (char c : normalized) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_') {
        return bad("is not a host name, an IP address or a network");
      }
    }
  }
  return AllowedHost{normalized, port};
}

absl::Status Denied(absl::string_view field, absl::string_view host, int port,
                    absl::string_view range) {
  return absl::PermissionDeniedError(absl::StrCat(
      field, ": ", host, " (port ", port, ") is a ", range,
      " address; --block_private_networks refuses it (--allow_hosts can make an exception)"));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseUrlSchemes(absl::string_view list) {
  std::vector<std::string> schemes;
  for (absl::string_view piece : absl::StrSplit(list, ',')) {
    std::string scheme = absl::AsciiStrToLower(absl::StripAsciiWhitespace(piece));
    if (scheme != "about:blank" && absl::EndsWith(scheme, ":")) scheme.pop_back();
    if (!absl::c_linear_search(kKnownSchemes, scheme)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--url_schemes: \"", piece, "\" cannot be allowed; the choice is ",
          absl::StrJoin(kKnownSchemes, ", "),
          " (file:, javascript:, chrome:, other about: pages and the like would hand callers "
          "the server's files or the browser's internals)"));
    }
    if (!absl::c_linear_search(schemes, scheme)) schemes.push_back(scheme);
  }
  if (!absl::c_linear_search(schemes, "http") && !absl::c_linear_search(schemes, "https")) {
    return absl::InvalidArgumentError("--url_schemes must allow http or https");
  }
  return schemes;
}

absl::StatusOr<std::vector<AllowedHost>> ParseAllowHosts(absl::string_view list) {
  std::vector<AllowedHost> hosts;
  for (absl::string_view piece : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<AllowedHost> host = ParseAllowedHost(absl::StripAsciiWhitespace(piece));
    if (!host.ok()) return host.status();
    hosts.push_back(*std::move(host));
  }
  return hosts;
}

absl::StatusOr<bool> ParseBlockPrivateNetworks(absl::string_view mode,
                                               absl::string_view grpc_address) {
  if (mode == "true") return true;
  if (mode == "false") return false;
  if (mode != "auto") {
    return absl::InvalidArgumentError("--block_private_networks must be auto, true or false");
  }
  if (absl::StartsWith(grpc_address, "unix:") || absl::StartsWith(grpc_address, "unix-abstract:")) {
    return false;
  }
  absl::string_view host = grpc_address;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string normalized = NormalizeHost(host);
  if (IsLocalhost(normalized)) return false;
  std::optional<ip::address> address = ParseIp(normalized);
  if (!address) return true;
  if (address->is_v6() && address->to_v6().is_v4_mapped()) {
    return !ip::make_address_v4(ip::v4_mapped, address->to_v6()).is_loopback();
  }
  return !address->is_loopback();
}

std::optional<std::string> BlockedRange(const ip::address& address) {
  if (address.is_v4()) {
    for (const Range& range : kV4Ranges) {
      if (InNetwork(address.to_v4(), ip::make_network_v4(range.network))) return range.name;
    }
    return std::nullopt;
  }
  ip::address_v6 v6 = address.to_v6();
  for (const Range& range : kV6Ranges) {
    if (InNetwork(v6, ip::make_network_v6(range.network))) return range.name;
  }
  for (const char* carrier : kV4CarryingV6) {
    if (!InNetwork(v6, ip::make_network_v6(carrier))) continue;
    ip::address_v6::bytes_type bytes = v6.to_bytes();
    ip::address_v4 v4(ip::address_v4::bytes_type{bytes[12], bytes[13], bytes[14], bytes[15]});
    if (std::optional<std::string> name = BlockedRange(v4)) {
      return absl::StrCat(*name, " (as IPv4 ", v4.to_string(), ")");
    }
  }
  return std::nullopt;
}

bool HostAllowed(const UrlPolicy& policy, absl::string_view host, int port) {
  std::optional<ip::address> address = ParseIp(std::string(host));
  for (const AllowedHost& allowed : policy.allow_hosts) {
    if (absl::StrContains(allowed.host, '/')) {
      if (!address) continue;
      boost::system::error_code error;
      if (address->is_v4()) {
        ip::network_v4 network = ip::make_network_v4(allowed.host, error);
        if (!error && InNetwork(address->to_v4(), network)) return true;
      } else {
        ip::network_v6 network = ip::make_network_v6(allowed.host, error);
        if (!error && InNetwork(address->to_v6(), network)) return true;
      }
    } else if (allowed.host == host && (allowed.port == 0 || allowed.port == port)) {
      return true;
    }
  }
  return false;
}

absl::Status CheckHost(const UrlPolicy& policy, absl::string_view field, absl::string_view host,
                       int port) {
  if (!policy.block_private_networks) return absl::OkStatus();
  std::string normalized = NormalizeHost(host);
  if (HostAllowed(policy, normalized, port)) return absl::OkStatus();
  if (IsLocalhost(normalized)) return Denied(field, normalized, port, "loopback");
  std::optional<ip::address> address = ParseIp(normalized);
  if (!address) return absl::OkStatus();  // A name: the extension checks what it resolves to.
  if (std::optional<std::string> range = BlockedRange(*address)) {
    return Denied(field, normalized, port, *range);
  }
  return absl::OkStatus();
}

absl::Status CheckUrl(const UrlPolicy& policy, absl::string_view field, absl::string_view url) {
  std::string scheme = SchemeOf(url);
  bool allowed = absl::EqualsIgnoreCase(url, "about:blank")
                     ? absl::c_linear_search(policy.schemes, "about:blank")
                     : scheme != "about" && absl::c_linear_search(policy.schemes, scheme);
  if (!allowed) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": URL scheme not allowed (allowed: ", absl::StrJoin(policy.schemes, ", "),
        "; see --url_schemes): ", url.substr(0, 100)));
  }
  if (scheme != "http" && scheme != "https") return absl::OkStatus();
  std::optional<Authority> authority = AuthorityOf(url, scheme);
  // A URL without a host the browser would take fails there, reaching nothing.
  if (!authority) return absl::OkStatus();
  return CheckHost(policy, field, authority->host, authority->port);
}

nlohmann::json PolicyJson(const UrlPolicy& policy) {
  nlohmann::json allow = nlohmann::json::array();
  for (const AllowedHost& host : policy.allow_hosts) {
    allow.push_back({{"host", host.host}, {"port", host.port}});
  }
  return {{"schemes", policy.schemes},
          {"block_private_networks", policy.block_private_networks},
          {"allow_hosts", allow}};
}

std::string PolicyPreferences(const UrlPolicy& policy) {
  std::string prefs;
  if (absl::c_linear_search(policy.schemes, "data")) {
    // --url_schemes allows data: documents in tabs; Firefox refuses every
    // top-level load of one otherwise, even an extension's (see
    // extension/page/data_url.js).
    prefs = R"(user_pref("security.data_uri.block_toplevel_data_uri_navigations", false);
)";
  }
  if (!policy.block_private_networks) return prefs;
  return prefs + R"(// --block_private_networks: connections the extension's request check never
// sees. WebRTC's ICE reaches any address, DNS prefetch leaks names, and
// speculative and early-hint pre-connections open sockets before a request.
user_pref("media.peerconnection.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.dns.disablePrefetchFromHTTPS", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.early-hints.preconnect.enabled", false);
)";
}

}  // namespace foxpool::firefox
