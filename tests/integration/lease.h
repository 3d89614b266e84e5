#pragma once

#include <string>

#include "absl/time/time.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/integration/foxpool_server.h"

namespace foxpool::testing {

// A lease taken by a test and released when it goes out of scope, so that a
// failed assertion does not leave the shared pool short of a window.
class Lease {
 public:
  explicit Lease(v1::BrowserPool::Stub& stub, v1::AcquireRequest request = {}) : stub_(stub) {
    auto context = Deadline(absl::Seconds(30));
    status_ = stub_.Acquire(context.get(), request, &response_);
  }
  ~Lease() { Release(); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  const grpc::Status& status() const { return status_; }
  const std::string& id() const { return response_.lease_id(); }
  const std::string& window() const { return response_.window_id(); }

  grpc::Status Release(v1::ReleaseMode mode = v1::RELEASE_MODE_RESET_UNSPECIFIED) {
    if (!status_.ok() || released_) return grpc::Status::OK;
    released_ = true;
    v1::ReleaseRequest request;
    request.set_lease_id(id());
    request.set_mode(mode);
    v1::ReleaseResponse response;
    auto context = Deadline(absl::Seconds(10));
    return stub_.Release(context.get(), request, &response);
  }

  grpc::Status Navigate(const std::string& url, v1::NavigateResponse* out = nullptr) {
    v1::NavigateRequest request;
    request.set_lease_id(id());
    request.set_url(url);
    v1::NavigateResponse response;
    auto context = Deadline();
    grpc::Status status = stub_.Navigate(context.get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  // Evaluates `expression`; the JSON result in `*json`.
  grpc::Status Evaluate(const std::string& expression, std::string* json,
                        const std::string& args_json = "") {
    v1::EvaluateRequest request;
    request.set_lease_id(id());
    request.set_expression(expression);
    request.set_args_json(args_json);
    v1::EvaluateResponse response;
    auto context = Deadline();
    grpc::Status status = stub_.Evaluate(context.get(), request, &response);
    if (json != nullptr) *json = response.result_json();
    return status;
  }

  // Evaluates `expression` and returns its JSON, or "error: <message>".
  std::string Eval(const std::string& expression) {
    std::string json;
    grpc::Status status = Evaluate(expression, &json);
    return status.ok() ? json : "error: " + status.error_message();
  }

 private:
  v1::BrowserPool::Stub& stub_;
  v1::AcquireResponse response_;
  grpc::Status status_;
  bool released_ = false;
};

}  // namespace foxpool::testing
