#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {
namespace {

constexpr char kBearer[] = "Bearer ";
constexpr char kUnauthenticated[] = "missing or invalid bearer token";

std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

bool ValidPrincipal(absl::string_view principal) {
  if (principal.empty() || principal.size() > 64) return false;
  for (char c : principal) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_' && c != '@') return false;
  }
  return true;
}

bool ValidToken(absl::string_view token) {
  for (char c : token) {
    if (!absl::ascii_isgraph(c)) return false;
  }
  return true;
}

std::string ProfilePrefix(absl::string_view principal) {
  return absl::StrCat(absl::BytesToHexString(Sha256(principal).substr(0, 8)), "_");
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  std::string da = Sha256(a);
  std::string db = Sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text) {
  std::vector<TokenEntry> entries;
  absl::flat_hash_map<std::string, int> principal_line;
  absl::flat_hash_map<std::string, int> token_line;  // keyed by digest
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto error = [number](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", why));
    };
    if (fields.size() < 2 || fields.size() > 3) {
      return error("expected <principal> <token> [admin]");
    }
    if (fields.size() == 3 && fields[2] != "admin") {
      return error("the third field may only be admin");
    }
    if (!ValidPrincipal(fields[0])) {
      return error("the principal must be 1-64 of A-Z, a-z, 0-9, '.', '-', '_' and '@'");
    }
    if (fields[1].size() < kMinTokenLength || !ValidToken(fields[1])) {
      return error(
          absl::StrCat("the token must be at least ", kMinTokenLength, " printable characters"));
    }
    std::string principal(fields[0]);
    if (auto [it, added] = principal_line.emplace(principal, number); !added) {
      return error(absl::StrCat("principal ", principal, " is already on line ", it->second));
    }
    if (auto [it, added] = token_line.emplace(Sha256(fields[1]), number); !added) {
      return error(absl::StrCat("the token is the same as on line ", it->second));
    }
    entries.push_back(TokenEntry{principal, std::string(fields[1]), fields.size() == 3});
  }
  if (entries.empty()) return absl::InvalidArgumentError("no tokens in the file");
  return entries;
}

absl::StatusOr<std::vector<TokenStore::Entry>> TokenStore::Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  absl::StatusOr<std::vector<TokenEntry>> parsed = ParseTokens(text.str());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    spdlog::warn("{} is readable by every user of this machine: chmod o-r it", path);
  }
  std::vector<Entry> entries;
  for (TokenEntry& entry : *parsed) {
    entries.push_back(Entry{Sha256(entry.token), Caller{std::move(entry.principal), entry.admin}});
  }
  return entries;
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));
  absl::StatusOr<std::vector<Entry>> entries = Read(store->path_);
  if (!entries.ok()) return entries.status();
  absl::MutexLock lock(&store->mu_);
  store->entries_ = *std::move(entries);
  return store;
}

absl::StatusOr<int> TokenStore::Reload() {
  absl::StatusOr<std::vector<Entry>> entries = Read(path_);
  if (!entries.ok()) return entries.status();
  absl::MutexLock lock(&mu_);
  entries_ = *std::move(entries);
  return static_cast<int>(entries_.size());
}

std::optional<Caller> TokenStore::Find(absl::string_view token) const {
  const std::string digest = Sha256(token);
  absl::MutexLock lock(&mu_);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: every digest is compared, whichever matches.
    bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->caller;
}

int TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(entries_.size());
}

absl::StatusOr<Caller> Authenticator::Authenticate(std::optional<absl::string_view> authorization,
                                                   absl::string_view certificate_name) const {
  if (tokens_ != nullptr) {
    if (!authorization.has_value() || !absl::StartsWith(*authorization, kBearer)) {
      return Refuse("missing_token", kUnauthenticated);
    }
    std::optional<Caller> caller =
        tokens_->Find(absl::StripAsciiWhitespace(authorization->substr(sizeof(kBearer) - 1)));
    if (!caller.has_value()) return Refuse("invalid_token", kUnauthenticated);
    return *caller;
  }
  if (client_certificates_) {
    // The TLS handshake verified the certificate; without a name there is
    // nobody to own leases.
    if (certificate_name.empty()) {
      return Refuse("no_certificate_name", "the client certificate has no common name");
    }
    return Caller{std::string(certificate_name), false};
  }
  return Caller{.principal = "", .admin = true};
}

absl::Status Authenticator::Refuse(absl::string_view reason, absl::string_view message) const {
  if (on_failure_) on_failure_(reason);
  return absl::UnauthenticatedError(message);
}

absl::StatusOr<Caller> Authenticator::Authenticate(const grpc::ServerContextBase& context) const {
  if (!enabled()) return Caller{.principal = "", .admin = true};
  std::optional<absl::string_view> authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::string name;
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context(); auth != nullptr) {
    std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
    if (!names.empty()) name.assign(names.front().data(), names.front().size());
  }
  return Authenticate(authorization, name);
}

std::string ProfileNameFor(absl::string_view principal, absl::string_view name) {
  if (principal.empty()) return std::string(name);
  return absl::StrCat(ProfilePrefix(principal), name);
}

std::optional<std::string> ProfileNameOf(absl::string_view principal, absl::string_view stored) {
  if (principal.empty()) return std::string(stored);
  std::string prefix = ProfilePrefix(principal);
  if (!absl::StartsWith(stored, prefix)) return std::nullopt;
  return std::string(stored.substr(prefix.size()));
}

}  // namespace foxpool::server
