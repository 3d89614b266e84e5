#include "server/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace foxpool::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate of a PEM file, or null.
X509* FirstCertificate(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  return PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
}

absl::Status NotPem(const std::string& flag, const std::string& path, const char* what) {
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " holds no ", what));
}

}  // namespace

absl::Status CheckAuthOptions(const AuthOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(options.tls_cert.empty() ? "--tls_key needs --tls_cert"
                                                               : "--tls_cert needs --tls_key");
  }
  if (!options.client_ca.empty() && !options.tls()) {
    return absl::InvalidArgumentError("--client_ca needs TLS: set --tls_cert and --tls_key");
  }
  if (options.tls()) {
    absl::StatusOr<std::string> cert = ReadFile("tls_cert", options.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("tls_key", options.tls_key);
    if (!key.ok()) return key.status();
    X509* x509 = FirstCertificate(*cert);
    if (x509 == nullptr) return NotPem("tls_cert", options.tls_cert, "PEM certificate");
    Bio key_bio = MemoryBio(*key);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
    bool matches = pkey != nullptr && X509_check_private_key(x509, pkey) == 1;
    X509_free(x509);
    EVP_PKEY_free(pkey);
    if (pkey == nullptr) return NotPem("tls_key", options.tls_key, "PEM private key");
    if (!matches) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_key: ", options.tls_key, " is not the key of --tls_cert"));
    }
  }
  if (!options.client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("client_ca", options.client_ca);
    if (!ca.ok()) return ca.status();
    X509* x509 = FirstCertificate(*ca);
    if (x509 == nullptr) return NotPem("client_ca", options.client_ca, "PEM certificate");
    X509_free(x509);
  }
  if (!options.token_file.empty()) {
    std::ifstream in(options.token_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth_token_file: cannot read ", options.token_file));
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const AuthOptions& options) {
  if (!options.tls()) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls_key, options.tls_cert, options.client_ca, options.tls_reload_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace foxpool::server
