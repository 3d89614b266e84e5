#include "server/auth.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tls_credentials.h"

namespace foxpool::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kRootToken[] = "root-token-abcdefghijkl";

std::string TwoPrincipals() {
  return std::string("# principals\n\nalice ") + kAliceToken + "\n  root\t" + kRootToken +
         " admin  \n";
}

TEST(ConstantTimeEqualsTest, ComparesWholeStringsOfAnyLength) {
  EXPECT_TRUE(ConstantTimeEquals("same-token-value", "same-token-value"));
  EXPECT_FALSE(ConstantTimeEquals("same-token-value", "same-token-valuE"));
  EXPECT_FALSE(ConstantTimeEquals("Xame-token-value", "same-token-value"));
  EXPECT_FALSE(ConstantTimeEquals("same-token-value", "same-token-value-longer"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(ParseTokensTest, ReadsPrincipalsTokensAndAdminsSkippingCommentsAndBlanks) {
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokens(TwoPrincipals());
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].principal, "alice");
  EXPECT_EQ((*entries)[0].token, kAliceToken);
  EXPECT_FALSE((*entries)[0].admin);
  EXPECT_EQ((*entries)[1].principal, "root");
  EXPECT_TRUE((*entries)[1].admin);
}

struct BadFile {
  std::string text;
  std::string error;
};

class ParseTokensErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(ParseTokensErrorTest, NamesTheLineButNeverTheToken) {
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokens(GetParam().text);
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(entries.status().message(), HasSubstr(GetParam().error));
  EXPECT_THAT(entries.status().message(), Not(HasSubstr("token-0123")));
  EXPECT_THAT(entries.status().message(), Not(HasSubstr("shorttok")));
}

INSTANTIATE_TEST_SUITE_P(
    Files, ParseTokensErrorTest,
    ::testing::Values(BadFile{"# nothing\n\n", "no tokens"},
                      BadFile{"alice shorttok\n", "line 1: the token must be at least 16"},
                      BadFile{"# c\nalice\n", "line 2: expected <principal> <token> [admin]"},
                      BadFile{"alice alice-token-0123456789 admin extra\n", "line 1: expected"},
                      BadFile{"alice alice-token-0123456789 root\n",
                              "line 1: the third field may only be admin"},
                      BadFile{"al/ice alice-token-0123456789\n", "line 1: the principal must be"},
                      BadFile{"alice alice-token-0123456789\nalice other-token-0123456789\n",
                              "line 2: principal alice is already on line 1"},
                      BadFile{"alice alice-token-0123456789\n\nbob alice-token-0123456789\n",
                              "line 3: the token is the same as on line 1"}));

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("foxpool-auth-test-" + std::to_string(getpid()) + ".tokens");
    Write(TwoPrincipals());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::filesystem::path path_;
};

TEST_F(TokenFileTest, FindsTheCallerOfEachToken) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->size(), 2);
  std::optional<Caller> alice = (*store)->Find(kAliceToken);
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->principal, "alice");
  EXPECT_FALSE(alice->admin);
  std::optional<Caller> root = (*store)->Find(kRootToken);
  ASSERT_TRUE(root.has_value());
  EXPECT_TRUE(root->admin);
  EXPECT_FALSE((*store)->Find("alice-token-012345678").has_value());
  EXPECT_FALSE((*store)->Find("").has_value());
}

TEST_F(TokenFileTest, AnUnreadableFileIsAnErrorNamingIt) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_.string() + ".missing");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("cannot read"));
}

TEST_F(TokenFileTest, ReloadReplacesTheTokens) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_);
  ASSERT_TRUE(store.ok());
  Write("carol carol-token-0123456789\n");
  absl::StatusOr<int> count = (*store)->Reload();
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);
  EXPECT_FALSE((*store)->Find(kAliceToken).has_value());
  EXPECT_EQ((*store)->Find("carol-token-0123456789")->principal, "carol");
}

TEST_F(TokenFileTest, AFailedReloadKeepsTheOldTokens) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_);
  ASSERT_TRUE(store.ok());
  Write("carol carol-token-0123456789\ncarol short\n");
  absl::StatusOr<int> count = (*store)->Reload();
  ASSERT_FALSE(count.ok());
  EXPECT_THAT(count.status().message(), HasSubstr("line 2"));
  EXPECT_EQ((*store)->size(), 2);
  EXPECT_EQ((*store)->Find(kAliceToken)->principal, "alice");
  EXPECT_FALSE((*store)->Find("carol-token-0123456789").has_value());
}

TEST_F(TokenFileTest, TokensAuthenticateBearerMetadataOnly) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_);
  ASSERT_TRUE(store.ok());
  Authenticator auth(store->get(), /*client_certificates=*/true);
  EXPECT_TRUE(auth.enabled());
  absl::StatusOr<Caller> alice = auth.Authenticate(std::string("Bearer ") + kAliceToken, "cn");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->principal, "alice");
  for (std::optional<absl::string_view> bad :
       {std::optional<absl::string_view>(), std::optional<absl::string_view>(kAliceToken),
        std::optional<absl::string_view>("Bearer wrong-token-0123456789"),
        std::optional<absl::string_view>("Basic alice-token-0123456789")}) {
    absl::StatusOr<Caller> caller = auth.Authenticate(bad, "client-cn");
    ASSERT_FALSE(caller.ok());
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(caller.status().message(), "missing or invalid bearer token");
  }
}

TEST_F(TokenFileTest, RefusalsAreReportedByReason) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path_);
  ASSERT_TRUE(store.ok());
  std::vector<std::string> reasons;
  Authenticator auth(store->get(), false,
                     [&reasons](absl::string_view reason) { reasons.emplace_back(reason); });
  (void)auth.Authenticate(std::nullopt, "");
  (void)auth.Authenticate("Bearer wrong-token-0123456789", "");
  ASSERT_TRUE(auth.Authenticate(std::string("Bearer ") + kAliceToken, "").ok());
  EXPECT_EQ(reasons, (std::vector<std::string>{"missing_token", "invalid_token"}));
}

TEST(AuthenticatorTest, WithoutTokensTheCertificateNameIsThePrincipal) {
  Authenticator auth(nullptr, /*client_certificates=*/true);
  absl::StatusOr<Caller> caller = auth.Authenticate(std::nullopt, "client-a");
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->principal, "client-a");
  EXPECT_FALSE(caller->admin);
  EXPECT_EQ(auth.Authenticate(std::nullopt, "").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticatorTest, WithNothingConfiguredEveryoneIsTheAnonymousAdmin) {
  Authenticator auth(nullptr, false);
  EXPECT_FALSE(auth.enabled());
  absl::StatusOr<Caller> caller = auth.Authenticate(std::nullopt, "");
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->principal, "");
  EXPECT_TRUE(caller->admin);
}

TEST(ProfileNamesTest, ArePerPrincipal) {
  EXPECT_EQ(ProfileNameFor("", "shop"), "shop");
  std::string alice = ProfileNameFor("alice", "shop");
  std::string bob = ProfileNameFor("bob", "shop");
  EXPECT_NE(alice, bob);
  EXPECT_NE(alice, "shop");
  EXPECT_EQ(ProfileNameOf("alice", alice), "shop");
  EXPECT_EQ(ProfileNameOf("alice", bob), std::nullopt);
  EXPECT_EQ(ProfileNameOf("", bob), bob);
}

TEST(CheckAuthOptionsTest, RefusesIncompleteCombinationsNamingTheFlag) {
  EXPECT_TRUE(CheckAuthOptions({}).ok());
  EXPECT_THAT(CheckAuthOptions({.tls_cert = "/x"}).message(), HasSubstr("--tls_key"));
  EXPECT_THAT(CheckAuthOptions({.tls_key = "/x"}).message(), HasSubstr("--tls_cert"));
  EXPECT_THAT(CheckAuthOptions({.client_ca = "/x"}).message(), HasSubstr("--client_ca"));
  EXPECT_THAT(CheckAuthOptions({.tls_cert = "/nonexistent", .tls_key = "/nonexistent"}).message(),
              HasSubstr("--tls_cert: cannot read"));
  EXPECT_THAT(CheckAuthOptions({.token_file = "/nonexistent"}).message(),
              HasSubstr("--auth_token_file"));
}

}  // namespace
}  // namespace foxpool::server
