#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace foxpool::server {

// How the gRPC port is secured (--tls_cert, --tls_key, --client_ca,
// --auth_token_file).
struct AuthOptions {
  std::string tls_cert;    // PEM certificate chain; empty: plaintext
  std::string tls_key;     // PEM private key of tls_cert
  std::string client_ca;   // PEM CA bundle clients' certificates must chain to
  std::string token_file;  // bearer tokens (server/auth.h); empty: none
  // The TLS files are read again this often (certificates rotate without a
  // restart).
  unsigned tls_reload_seconds = 60;
  bool tls() const { return !tls_cert.empty(); }
};

// INVALID_ARGUMENT naming the flag when the combination is wrong (a key
// without a certificate, a client CA without TLS) or a file does not read
// as what it should be (certificates, a key matching the certificate).
absl::Status CheckAuthOptions(const AuthOptions& options);

// Plaintext, or TLS whose files are read again every
// options.tls_reload_seconds. With a client CA, clients must present a
// certificate signed by it (mutual TLS).
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const AuthOptions& options);

}  // namespace foxpool::server
