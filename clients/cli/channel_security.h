#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"

namespace foxpool::cli {

// How the CLI reaches a server started with --tls_cert, --client_ca or
// --auth_token_file: PEM material for TLS and a bearer token.
struct ChannelSecurity {
  std::string ca_pem;    // --tls_ca: the CA of the server's certificate
  std::string cert_pem;  // --tls_cert: the client's certificate (mutual TLS)
  std::string key_pem;   // --tls_key
  std::string token;     // --token_file, else $FOXPOOL_TOKEN; empty: none
  bool tls() const { return !ca_pem.empty() || !cert_pem.empty(); }
};

// From --tls_ca, --tls_cert, --tls_key and --token_file (its first line;
// else the FOXPOOL_TOKEN environment variable). INVALID_ARGUMENT naming the
// flag when a file does not read or --tls_cert and --tls_key come alone.
absl::StatusOr<ChannelSecurity> SecurityFromFlags();

// TLS credentials when any TLS material is given, else insecure ones.
std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const ChannelSecurity& security);

}  // namespace foxpool::cli
