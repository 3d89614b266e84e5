#include "clients/cli/channel_security.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/flags.h"

namespace foxpool::cli {
namespace {

// The file's text; "" when no file is named.
absl::StatusOr<std::string> ReadFlagFile(const char* flag, const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<ChannelSecurity> SecurityFromFlags() {
  ChannelSecurity security;
  absl::StatusOr<std::string> ca = ReadFlagFile("tls_ca", absl::GetFlag(FLAGS_tls_ca));
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> cert = ReadFlagFile("tls_cert", absl::GetFlag(FLAGS_tls_cert));
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFlagFile("tls_key", absl::GetFlag(FLAGS_tls_key));
  if (!key.ok()) return key.status();
  if (cert->empty() != key->empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  security.ca_pem = *std::move(ca);
  security.cert_pem = *std::move(cert);
  security.key_pem = *std::move(key);
  absl::StatusOr<std::string> token = ReadFlagFile("token_file", absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return token.status();
  std::string line = token->substr(0, token->find('\n'));
  if (token->empty()) {
    const char* env = std::getenv("FOXPOOL_TOKEN");
    line = env != nullptr ? env : "";
  }
  security.token = std::string(absl::StripAsciiWhitespace(line));
  return security;
}

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const ChannelSecurity& security) {
  if (!security.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = security.ca_pem;  // empty: the system's roots
  options.pem_cert_chain = security.cert_pem;
  options.pem_private_key = security.key_pem;
  return grpc::SslCredentials(options);
}

}  // namespace foxpool::cli
