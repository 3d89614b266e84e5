#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace foxpool::server {

// Who is calling. A server without authentication sees everyone as the
// anonymous caller (empty principal), an admin: it may do everything, as
// before authentication existed.
struct Caller {
  std::string principal;
  // May drain the server, list and revoke every lease.
  bool admin = false;
};

// Whether `a` and `b` are equal, in a time that does not depend on where
// they differ nor on their lengths: both are hashed (SHA-256) first, and the
// digests compared without an early exit.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// One line of a token file: `<principal> <token> [admin]`.
struct TokenEntry {
  std::string principal;
  std::string token;
  bool admin = false;
};

inline constexpr size_t kMinTokenLength = 16;

// Why calls are refused, as the foxpool_auth_failures_total label says.
inline constexpr const char* kAuthFailureReasons[] = {"missing_token", "invalid_token",
                                                      "no_certificate_name"};

// Parses a token file: one `<principal> <token> [admin]` per line, `#`
// comments and blank lines ignored. Principals are 1-64 of A-Z a-z 0-9 and
// `.-_@`; tokens at least kMinTokenLength printable characters. A malformed
// line, a duplicate principal or token, or a file without tokens is
// INVALID_ARGUMENT naming the line, never the token.
absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text);

// The bearer tokens of --auth_token_file, reloaded on demand (SIGHUP).
// Only SHA-256 digests of the tokens are kept. Thread-safe.
class TokenStore {
 public:
  // Reads and parses `path` (INVALID_ARGUMENT if it cannot).
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path);

  // Reads the file again. On success the new tokens replace the old and the
  // count is returned; on error the old tokens stay.
  absl::StatusOr<int> Reload();

  // The caller that `token` belongs to. Compares against every token, so
  // the time taken does not say which one (if any) matched.
  std::optional<Caller> Find(absl::string_view token) const;

  int size() const;

 private:
  struct Entry {
    std::string digest;  // SHA-256 of the token
    Caller caller;
  };
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::vector<Entry>> Read(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// Decides who a call is from, per the server's authentication settings:
// with tokens, the `authorization: Bearer <token>` metadata; without tokens
// but with client certificates (mutual TLS), the certificate's common name;
// with neither, everyone is the anonymous caller. Thread-safe.
class Authenticator {
 public:
  // Told the reason (one of kAuthFailureReasons) of every refusal.
  using OnFailure = std::function<void(absl::string_view reason)>;

  // `tokens` may be null; it must outlive the authenticator.
  Authenticator(const TokenStore* tokens, bool client_certificates, OnFailure on_failure = nullptr)
      : tokens_(tokens),
        client_certificates_(client_certificates),
        on_failure_(std::move(on_failure)) {}

  bool enabled() const { return tokens_ != nullptr || client_certificates_; }

  // UNAUTHENTICATED ("missing or invalid bearer token") when a token is
  // required and missing or unknown.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const;

  // The same from the parts: the `authorization` metadata value (if sent)
  // and the client certificate's common name ("" if none).
  absl::StatusOr<Caller> Authenticate(std::optional<absl::string_view> authorization,
                                      absl::string_view certificate_name) const;

 private:
  absl::Status Refuse(absl::string_view reason, absl::string_view message) const;

  const TokenStore* const tokens_;
  const bool client_certificates_;
  const OnFailure on_failure_;
};

// Persistent profiles are per principal: the name a principal's profile
// has in the store. Anonymous callers use names as given; a principal's
// names get a prefix derived from it (16 hex digits of its SHA-256, then
// `_`), so no principal reaches another's cookies.
std::string ProfileNameFor(absl::string_view principal, absl::string_view name);
// The inverse: the name `principal` knows `stored` by, or nullopt when it
// is not that principal's.
std::optional<std::string> ProfileNameOf(absl::string_view principal, absl::string_view stored);

// A bidi reactor that refuses the stream at once with `status`; deletes
// itself when gRPC is done with it.
template <typename Request, typename Response>
class RefusedStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace foxpool::server
