#include "clients/cli/pool_client.h"

#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_format.h"
#include "clients/cli/rpc_status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "proto/duration.h"

namespace foxpool::cli {
namespace {

namespace v1 = foxpool::v1;

// Room beyond a command's own timeout for the server to say that it ran out,
// rather than the call's deadline cutting it off without a reason.
constexpr absl::Duration kServerAnswerMargin = absl::Seconds(5);
constexpr absl::Duration kReleaseTimeout = absl::Seconds(15);
constexpr int kMaxMessageBytes = 256 << 20;

// 128 random bits, so that a retried Acquire whose answer was lost gets the
// same lease instead of leaving one behind.
std::string RequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x%016x", random(), random());
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxMessageBytes);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

PoolClient::PoolClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                       CallCanceller& canceller)
    : stub_(v1::BrowserPool::NewStub(std::move(channel))),
      options_(std::move(options)),
      canceller_(canceller) {}

template <typename Request, typename Response>
absl::StatusOr<Response> PoolClient::Call(Method<Request, Response> method, const Request& request,
                                          absl::Duration timeout, bool cancellable) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // Metadata rather than call credentials, which gRPC allows on TLS only.
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  std::optional<ScopedCall> registered;
  if (cancellable) registered.emplace(canceller_, &context);
  Response response;
  grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, context);
  return response;
}

absl::StatusOr<Lease> PoolClient::Acquire() {
  v1::AcquireRequest request;
  request.set_request_id(RequestId());
  for (const auto& [key, value] : options_.labels) (*request.mutable_labels())[key] = value;
  if (options_.idle_timeout > absl::ZeroDuration()) {
    ToProto(options_.idle_timeout, request.mutable_idle_timeout());
  }
  absl::StatusOr<v1::AcquireResponse> response =
      Call(&v1::BrowserPool::Stub::Acquire, request, options_.acquire_timeout);
  if (!response.ok()) return response.status();
  return Lease{response->lease_id(), response->window_id(), FromProto(response->idle_timeout())};
}

absl::Status PoolClient::Renew(const std::string& lease) {
  v1::RenewRequest request;
  request.set_lease_id(lease);
  return Call(&v1::BrowserPool::Stub::Renew, request, options_.timeout).status();
}

absl::Status PoolClient::Release(const std::string& lease) {
  v1::ReleaseRequest request;
  request.set_lease_id(lease);
  return Call(&v1::BrowserPool::Stub::Release, request, kReleaseTimeout, /*cancellable=*/false)
      .status();
}

absl::StatusOr<Page> PoolClient::Navigate(const std::string& lease, const std::string& url) {
  v1::NavigateRequest request;
  request.set_lease_id(lease);
  request.set_url(url);
  ToProto(options_.timeout, request.mutable_timeout());
  absl::StatusOr<v1::NavigateResponse> response =
      Call(&v1::BrowserPool::Stub::Navigate, request, options_.timeout + kServerAnswerMargin);
  if (!response.ok()) return response.status();
  return Page{response->url(), response->title(), response->http_status(),
              FromProto(response->took())};
}

absl::StatusOr<std::string> PoolClient::Evaluate(const std::string& lease,
                                                 const std::string& expression) {
  v1::EvaluateRequest request;
  request.set_lease_id(lease);
  request.set_expression(expression);
  ToProto(options_.timeout, request.mutable_timeout());
  absl::StatusOr<v1::EvaluateResponse> response =
      Call(&v1::BrowserPool::Stub::Evaluate, request, options_.timeout + kServerAnswerMargin);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_result_json());
}

absl::StatusOr<std::string> PoolClient::Screenshot(const std::string& lease) {
  v1::ScreenshotRequest request;
  request.set_lease_id(lease);
  ToProto(options_.timeout, request.mutable_timeout());
  absl::StatusOr<v1::ScreenshotResponse> response =
      Call(&v1::BrowserPool::Stub::Screenshot, request, options_.timeout + kServerAnswerMargin);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_image());
}

absl::StatusOr<v1::GetPoolStatusResponse> PoolClient::Status() {
  return Call(&v1::BrowserPool::Stub::GetPoolStatus, v1::GetPoolStatusRequest(), options_.timeout);
}

}  // namespace foxpool::cli
