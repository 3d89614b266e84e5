// The navigation policy at the server's edge: every URL field and the proxy
// host are checked against --url_schemes and --block_private_networks.

#include "firefox/url_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/commands.h"

namespace foxpool::server {
namespace {

using ::testing::HasSubstr;

ServiceOptions Blocking() {
  ServiceOptions options;
  options.url_policy.block_private_networks = true;
  options.url_policy.allow_hosts = *firefox::ParseAllowHosts("127.0.0.1:8080");
  return options;
}

TEST(CommandsUrlPolicyTest, PrivateDestinationsArePermissionDeniedInEveryUrlField) {
  ServiceOptions options = Blocking();
  v1::NavigateRequest navigate;
  navigate.set_url("http://169.254.169.254/latest/meta-data/");
  absl::Status status = CheckRequest(navigate, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("url: 169.254.169.254"));
  EXPECT_THAT(status.message(), HasSubstr("--block_private_networks"));

  v1::OpenTabRequest open;
  open.set_url("http://[::1]:9/");
  EXPECT_EQ(CheckRequest(open, options).code(), absl::StatusCode::kPermissionDenied);
  open.set_url("http://127.0.0.1:8080/allowed");
  EXPECT_TRUE(CheckRequest(open, options).ok());

  // Off (the default), nothing but the scheme is checked.
  EXPECT_TRUE(CheckRequest(navigate, ServiceOptions{}).ok());
}

TEST(CommandsUrlPolicyTest, SchemesFollowTheFlag) {
  v1::NavigateRequest navigate;
  navigate.set_url("data:text/html,hi");
  absl::Status status = CheckRequest(navigate, ServiceOptions{});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("allowed: http, https, about:blank"));
  ServiceOptions options;
  options.url_policy.schemes = *firefox::ParseUrlSchemes("http,https,about:blank,data");
  EXPECT_TRUE(CheckRequest(navigate, options).ok());
}

TEST(CommandsUrlPolicyTest, AProxyOnAPrivateAddressIsPermissionDenied) {
  v1::SetProxyRequest proxy;
  proxy.set_type(v1::PROXY_TYPE_HTTP);
  proxy.set_host("10.0.0.1");
  proxy.set_port(3128);
  EXPECT_EQ(kSetProxy.check(proxy, Blocking()).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(kSetProxy.check(proxy, ServiceOptions{}).ok());
  proxy.set_host("proxy.example");
  EXPECT_TRUE(kSetProxy.check(proxy, Blocking()).ok());
}

}  // namespace
}  // namespace foxpool::server
