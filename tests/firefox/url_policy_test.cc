#include "firefox/url_policy.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "firefox/profile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::firefox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::optional<std::string> Range(const std::string& text) {
  return BlockedRange(boost::asio::ip::make_address(text));
}

UrlPolicy Blocking(const std::string& allow = "") {
  UrlPolicy policy;
  policy.block_private_networks = true;
  policy.allow_hosts = *ParseAllowHosts(allow);
  return policy;
}

absl::StatusCode Code(const UrlPolicy& policy, const std::string& url) {
  return CheckUrl(policy, "url", url).code();
}

TEST(UrlPolicyTest, EveryBlockedIpv4RangeIsNamed) {
  EXPECT_EQ(Range("127.0.0.1"), "loopback");
  EXPECT_EQ(Range("127.255.255.254"), "loopback");
  EXPECT_EQ(Range("10.0.0.1"), "private");
  EXPECT_EQ(Range("172.16.0.1"), "private");
  EXPECT_EQ(Range("172.31.255.255"), "private");
  EXPECT_EQ(Range("192.168.1.1"), "private");
  EXPECT_EQ(Range("169.254.169.254"), "link-local (cloud metadata)");
  EXPECT_EQ(Range("100.64.0.1"), "carrier-grade NAT");
  EXPECT_EQ(Range("100.127.255.255"), "carrier-grade NAT");
  EXPECT_EQ(Range("0.0.0.0"), "\"this network\" (0.0.0.0/8)");
  EXPECT_EQ(Range("0.1.2.3"), "\"this network\" (0.0.0.0/8)");
  EXPECT_EQ(Range("224.0.0.251"), "multicast");
  EXPECT_EQ(Range("239.255.255.250"), "multicast");
  EXPECT_EQ(Range("255.255.255.255"), "reserved");
}

TEST(UrlPolicyTest, PublicIpv4NeighboursOfTheRangesPass) {
  for (const char* text :
       {"8.8.8.8", "9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255",
        "192.169.0.0", "169.253.255.255", "169.255.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "223.255.255.255", "1.0.0.0"}) {
    EXPECT_EQ(Range(text), std::nullopt) << text;
  }
}

TEST(UrlPolicyTest, EveryBlockedIpv6RangeIsNamed) {
  EXPECT_EQ(Range("::1"), "loopback");
  EXPECT_EQ(Range("::"), "unspecified");
  EXPECT_EQ(Range("fc00::1"), "unique local");
  EXPECT_EQ(Range("fdff:ffff::1"), "unique local");
  EXPECT_EQ(Range("fe80::1"), "link-local");
  EXPECT_EQ(Range("febf::1"), "link-local");
  EXPECT_EQ(Range("fec0::1"), "site-local");
  EXPECT_EQ(Range("ff02::1"), "multicast");
  EXPECT_EQ(Range("2001:db8::1"), std::nullopt);
  EXPECT_EQ(Range("2606:4700::1111"), std::nullopt);
  EXPECT_EQ(Range("fbff::1"), std::nullopt);
}

TEST(UrlPolicyTest, Ipv6CarryingIpv4IsJudgedByTheIpv4) {
  EXPECT_EQ(Range("::ffff:127.0.0.1"), "loopback (as IPv4 127.0.0.1)");
  EXPECT_EQ(Range("::ffff:7f00:1"), "loopback (as IPv4 127.0.0.1)");
  EXPECT_EQ(Range("::ffff:169.254.169.254"),
            "link-local (cloud metadata) (as IPv4 169.254.169.254)");
  EXPECT_EQ(Range("::ffff:10.1.2.3"), "private (as IPv4 10.1.2.3)");
  EXPECT_EQ(Range("::127.0.0.1"), "loopback (as IPv4 127.0.0.1)");
  EXPECT_EQ(Range("64:ff9b::a9fe:a9fe"), "link-local (cloud metadata) (as IPv4 169.254.169.254)");
  EXPECT_EQ(Range("::ffff:8.8.8.8"), std::nullopt);
  EXPECT_EQ(Range("64:ff9b::808:808"), std::nullopt);
}

TEST(UrlPolicyTest, SchemesAreAClosedVocabulary) {
  EXPECT_THAT(*ParseUrlSchemes("http,https,about:blank"),
              ElementsAre("http", "https", "about:blank"));
  EXPECT_THAT(*ParseUrlSchemes(" HTTPS , data: ,http"), ElementsAre("https", "data", "http"));
  for (const char* bad :
       {"http,file", "http,javascript", "http,chrome", "http,about:config", "http,about",
        "http,moz-extension", "http,", "http,view-source", "http,blob", "http,ftp"}) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseUrlSchemes(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--url_schemes")) << bad;
  }
  EXPECT_THAT(ParseUrlSchemes("data,about:blank").status().message(),
              HasSubstr("must allow http or https"));
}

TEST(UrlPolicyTest, SchemeOutsideTheListIsInvalidArgumentNamingTheList) {
  UrlPolicy policy;
  for (const char* url : {"file:///etc/passwd", "javascript:alert(1)", "about:config",
                          "chrome://browser/content/browser.xhtml", "data:text/html,hi",
                          "view-source:http://x/", "java\tscript:alert(1)", "no-scheme", ""}) {
    absl::Status status = CheckUrl(policy, "url", url);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(status.message(), HasSubstr("allowed: http, https, about:blank")) << url;
  }
  EXPECT_TRUE(CheckUrl(policy, "url", "HTTPS://example.test/").ok());
  EXPECT_TRUE(CheckUrl(policy, "url", "about:blank").ok());
  policy.schemes = *ParseUrlSchemes("http,https,data");
  EXPECT_TRUE(CheckUrl(policy, "url", "data:text/html,hi").ok());
  EXPECT_EQ(Code(policy, "about:blank"), absl::StatusCode::kInvalidArgument);
}

TEST(UrlPolicyTest, BlockedIpLiteralsArePermissionDenied) {
  UrlPolicy policy = Blocking();
  for (const char* url : {"http://127.0.0.1:8080/",
                          "https://10.0.0.1/",
                          "http://169.254.169.254/latest/meta-data/",
                          "http://[::1]:9/",
                          "http://[::ffff:127.0.0.1]/",
                          "http://[fe80::1]/",
                          "http://0.0.0.0/",
                          "http://localhost:1/",
                          "http://a.b.localhost/",
                          "http://LOCALHOST./",
                          "http://2130706433/",
                          "http://0x7f.1/",
                          "http://0177.0.0.1/",
                          "http://127.1/",
                          "http://127.0.0.1./",
                          "http://user:pw@127.0.0.1/",
                          "http://evil.test@10.0.0.1/",
                          "http:\\\\127.0.0.1\\",
                          "http:/127.0.0.1/",
                          "http://127.0.0.%31/",
                          "http://[::]/"}) {
    absl::Status status = CheckUrl(policy, "url", url);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << url;
    EXPECT_THAT(status.message(), HasSubstr("--block_private_networks")) << url;
  }
  for (const char* url :
       {"http://example.test/", "https://8.8.8.8/", "http://[2001:db8::1]/",
        "http://127.0.0.1.example.test/", "http://127.0.0.1%00.example.test/", "about:blank"}) {
    EXPECT_TRUE(CheckUrl(policy, "url", url).ok()) << url;
  }
}

TEST(UrlPolicyTest, NothingIsBlockedWhenBlockingIsOff) {
  UrlPolicy policy;
  EXPECT_TRUE(CheckUrl(policy, "url", "http://127.0.0.1:8080/").ok());
  EXPECT_TRUE(CheckUrl(policy, "url", "http://169.254.169.254/").ok());
  EXPECT_TRUE(CheckHost(policy, "host", "10.0.0.1", 3128).ok());
}

TEST(UrlPolicyTest, AllowHostsWithAndWithoutPort) {
  UrlPolicy policy = Blocking("127.0.0.1:8080, wiki.corp, [::1]:9, 10.1.2.0/24, fd00::/8");
  EXPECT_TRUE(CheckUrl(policy, "url", "http://127.0.0.1:8080/x").ok());
  EXPECT_EQ(Code(policy, "http://127.0.0.1:8081/"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(policy, "http://127.0.0.1/"), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckUrl(policy, "url", "http://2130706433:8080/").ok());
  EXPECT_TRUE(HostAllowed(policy, "wiki.corp", 80));
  EXPECT_TRUE(HostAllowed(policy, "wiki.corp", 443));
  EXPECT_FALSE(HostAllowed(policy, "www.wiki.corp", 443));
  EXPECT_TRUE(CheckUrl(policy, "url", "http://[::1]:9/").ok());
  EXPECT_EQ(Code(policy, "http://[::1]:10/"), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckUrl(policy, "url", "https://10.1.2.77/").ok());
  EXPECT_EQ(Code(policy, "https://10.1.3.1/"), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckUrl(policy, "url", "http://[fd12::1]/").ok());
  // Default ports count: an exception for :80 covers a URL without a port.
  UrlPolicy port80 = Blocking("192.168.0.5:80");
  EXPECT_TRUE(CheckUrl(port80, "url", "http://192.168.0.5/").ok());
  EXPECT_EQ(Code(port80, "https://192.168.0.5/"), absl::StatusCode::kPermissionDenied);
}

TEST(UrlPolicyTest, AllowHostsParsingErrorsNameTheFlag) {
  EXPECT_TRUE(ParseAllowHosts("")->empty());
  EXPECT_THAT(*ParseAllowHosts("[::FFFF:7f00:1]:80"),
              ElementsAre(::testing::Field(&AllowedHost::host, "::ffff:127.0.0.1")));
  EXPECT_EQ(ParseAllowHosts("Wiki.Corp.")->front().host, "wiki.corp");
  EXPECT_EQ(ParseAllowHosts("10.9.8.7/8")->front().host, "10.0.0.0/8");
  for (const char* bad : {"host:0", "host:65536", "host:x", "[::1", "[::1]x", "[nope]:1",
                          "10.0.0.0/33", "a b", "host/8", ":80"}) {
    absl::StatusOr<std::vector<AllowedHost>> parsed = ParseAllowHosts(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--allow_hosts")) << bad;
  }
}

TEST(UrlPolicyTest, AutoBlocksUnlessTheApiIsOnLoopback) {
  for (const char* local : {"127.0.0.1:50051", "127.0.0.2:0", "[::1]:50051", "localhost:50051",
                            "unix:/run/foxpool.sock", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_FALSE(*ParseBlockPrivateNetworks("auto", local)) << local;
  }
  for (const char* remote : {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.5:50051",
                             "foxpool.example:443", "[2001:db8::1]:1"}) {
    EXPECT_TRUE(*ParseBlockPrivateNetworks("auto", remote)) << remote;
  }
  EXPECT_TRUE(*ParseBlockPrivateNetworks("true", "127.0.0.1:1"));
  EXPECT_FALSE(*ParseBlockPrivateNetworks("false", "0.0.0.0:1"));
  EXPECT_EQ(ParseBlockPrivateNetworks("yes", "0.0.0.0:1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(UrlPolicyTest, ProxyHostsAreDestinationsToo) {
  UrlPolicy policy = Blocking("proxy.corp:3128");
  EXPECT_EQ(CheckHost(policy, "host", "169.254.169.254", 80).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckHost(policy, "host", "localhost", 3128).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckHost(policy, "host", "proxy.corp", 3128).ok());
  EXPECT_TRUE(CheckHost(policy, "host", "proxy.example", 3128).ok());
}

TEST(UrlPolicyTest, ExtensionGetsThePolicyAndPrefsCloseTheSideDoors) {
  UrlPolicy policy = Blocking("127.0.0.1:8080");
  nlohmann::json json = PolicyJson(policy);
  EXPECT_EQ(json["block_private_networks"], true);
  EXPECT_EQ(json["schemes"], nlohmann::json({"http", "https", "about:blank"}));
  EXPECT_EQ(json["allow_hosts"][0]["host"], "127.0.0.1");
  EXPECT_EQ(json["allow_hosts"][0]["port"], 8080);
  std::string prefs = PolicyPreferences(policy);
  EXPECT_THAT(prefs, HasSubstr("user_pref(\"media.peerconnection.enabled\", false);"));
  EXPECT_THAT(prefs, HasSubstr("user_pref(\"network.http.speculative-parallel-limit\", 0);"));
  EXPECT_EQ(PolicyPreferences(UrlPolicy{}), "");
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(UrlPolicyTest, TheWindowsProfileCarriesThePolicy) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / absl::StrCat("foxpool-url-policy-test-", getpid());
  fs::create_directories(dir);
  ExtensionConfig config{"ws://127.0.0.1:1/", "s", "secret", Blocking("10.0.0.0/8")};
  ASSERT_TRUE(WriteProfile(dir, config, "user_pref(\"media.peerconnection.enabled\", true);").ok());
  nlohmann::json json = nlohmann::json::parse(Read(dir / "foxpool-extension" / "config.json"));
  EXPECT_EQ(json["policy"], PolicyJson(config.policy));
  std::string user_js = Read(dir / "user.js");
  // The operator's preferences still come last, and win.
  size_t ours = user_js.find("user_pref(\"media.peerconnection.enabled\", false);");
  size_t theirs = user_js.find("user_pref(\"media.peerconnection.enabled\", true);");
  EXPECT_NE(ours, std::string::npos);
  EXPECT_LT(ours, theirs);
  fs::remove_all(dir);

  fs::create_directories(dir);
  ASSERT_TRUE(WriteProfile(dir, ExtensionConfig{"ws://127.0.0.1:1/", "s", "secret"}).ok());
  EXPECT_THAT(Read(dir / "user.js"), ::testing::Not(HasSubstr("media.peerconnection")));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace foxpool::firefox
