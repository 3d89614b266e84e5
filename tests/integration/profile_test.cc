// Persistent profiles with real Firefox: cookies and storage survive
// release and a server restart, one window per profile, a corrupted profile
// is restored from its snapshot, and profiles are listed and deleted.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/http_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

using ::testing::HasSubstr;

v1::AcquireRequest OnProfile(const std::string& name) {
  v1::AcquireRequest request;
  request.set_profile(name);
  return request;
}

class ProfileTest : public ::testing::Test {
 protected:
  ProfileTest()
      : state_dir_(std::filesystem::temp_directory_path() /
                   absl::StrCat("foxpool-state-test-", getpid(), "-",
                                ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    pages_.Add("/set", Page{.body = "<title>set</title>",
                            .headers = {{"Set-Cookie", "token=abc123; Path=/; Max-Age=86400"}}});
    pages_.Add("/read", Page{.body = "<title>read</title>"});
    pages_.Start();
  }
  ~ProfileTest() override { std::filesystem::remove_all(state_dir_); }

  std::unique_ptr<FoxpoolServer> StartServer(std::vector<std::string> flags = {}) {
    flags.push_back(absl::StrCat("--state_dir=", state_dir_.string()));
    auto server = std::make_unique<FoxpoolServer>(1, flags);
    EXPECT_TRUE(server->Start().ok());
    return server;
  }

  // Visits /set (the cookie) and stores a localStorage item, then releases.
  void Remember(FoxpoolServer& server, v1::ReleaseMode mode = v1::RELEASE_MODE_RESET_UNSPECIFIED) {
    Lease lease(server.stub(), OnProfile("alice"));
    ASSERT_TRUE(lease.status().ok()) << lease.status().error_message();
    ASSERT_TRUE(lease.Navigate(pages_.Url("/set")).ok());
    EXPECT_EQ(lease.Eval("localStorage.setItem('k', 'v'), 1"), "1");
    ASSERT_TRUE(lease.Release(mode).ok());
  }

  // What a lease on `profile` sees on /read: "cookie|localStorage".
  std::string Recall(FoxpoolServer& server, const std::string& profile = "alice") {
    Lease lease(server.stub(), OnProfile(profile));
    if (!lease.status().ok()) return "error: " + lease.status().error_message();
    if (!lease.Navigate(pages_.Url("/read")).ok()) return "error: navigate";
    return lease.Eval("document.cookie + '|' + localStorage.getItem('k')");
  }

  bool InUse(FoxpoolServer& server, const std::string& name) {
    v1::ListProfilesResponse response;
    auto context = Deadline();
    server.stub().ListProfiles(context.get(), {}, &response);
    for (const auto& profile : response.profiles()) {
      if (profile.name() == name) return profile.in_use();
    }
    return false;
  }

  std::filesystem::path state_dir_;
  HttpServer pages_;
};

TEST_F(ProfileTest, CookiesAndStorageSurviveReleaseAndARestart) {
  {
    auto server = StartServer();
    Remember(*server);
    EXPECT_EQ(Recall(*server), "\"token=abc123|v\"");
    // A pool window sees none of it.
    Lease anonymous(server->stub());
    ASSERT_TRUE(anonymous.Navigate(pages_.Url("/read")).ok());
    EXPECT_EQ(anonymous.Eval("document.cookie + '|' + localStorage.getItem('k')"), "\"|null\"");
  }
  auto restarted = StartServer();
  EXPECT_EQ(Recall(*restarted), "\"token=abc123|v\"");
  ExpectCleanStop(*restarted);
}

TEST_F(ProfileTest, AKeptProfileWindowStaysWarmForItsNextLease) {
  auto server = StartServer();
  std::string window;
  {
    Lease lease(server->stub(), OnProfile("alice"));
    ASSERT_TRUE(lease.status().ok());
    window = lease.window();
    ASSERT_TRUE(lease.Release(v1::RELEASE_MODE_KEEP).ok());
  }
  Lease again(server->stub(), OnProfile("alice"));
  EXPECT_EQ(again.window(), window);
}

TEST_F(ProfileTest, ASecondLeaseOfAProfileWaitsForTheFirst) {
  auto server = StartServer();
  Lease held(server->stub(), OnProfile("alice"));
  ASSERT_TRUE(held.status().ok());
  v1::AcquireRequest request = OnProfile("alice");
  request.mutable_max_wait()->set_seconds(1);
  Lease second(server->stub(), request);
  EXPECT_EQ(second.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  Lease anonymous(server->stub());  // The pool is not affected.
  EXPECT_TRUE(anonymous.status().ok());
  Lease bad(server->stub(), OnProfile("../etc"));
  EXPECT_EQ(bad.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ProfileTest, ACorruptedProfileIsRestoredFromItsSnapshot) {
  auto server = StartServer();
  Remember(*server);  // A clean release: snapshot taken.
  ASSERT_TRUE(WaitUntil([&] { return !InUse(*server, "alice"); }, absl::Seconds(15)));
  std::filesystem::path cookies = state_dir_ / "profiles/alice/current/cookies.sqlite";
  ASSERT_TRUE(std::filesystem::exists(cookies));
  {
    std::fstream file(cookies, std::ios::in | std::ios::out | std::ios::binary);
    file.write(std::string(4096, 'X').data(), 4096);  // The header and first page are gone.
  }
  EXPECT_EQ(Recall(*server), "\"token=abc123|v\"");
  EXPECT_THAT(server->Log(), HasSubstr("profile alice restored from its snapshot"));
  EXPECT_THAT(HttpGet(server->metrics_port(), "/metrics"),
              HasSubstr("foxpool_profile_restores_total{reason=\"corrupt\"} 1"));
  ExpectCleanStop(*server);
}

TEST_F(ProfileTest, NewProfilesAreCopiedFromTheTemplate) {
  std::filesystem::path seed = state_dir_ / "seed";
  {
    auto server = StartServer();
    Remember(*server);
    ExpectCleanStop(*server);
  }
  std::filesystem::copy(
      state_dir_ / "profiles/alice/snapshot", seed,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  auto server = StartServer({absl::StrCat("--profile_template=", seed.string())});
  EXPECT_EQ(Recall(*server, "bob"), "\"token=abc123|v\"");
  EXPECT_THAT(server->Log(), HasSubstr("profile bob created from the template"));
}

TEST_F(ProfileTest, ProfilesAreListedAndDeleted) {
  auto server = StartServer();
  Lease lease(server->stub(), OnProfile("alice"));
  ASSERT_TRUE(lease.status().ok());
  v1::DeleteProfileRequest remove;
  remove.set_name("alice");
  v1::DeleteProfileResponse removed;
  {
    auto context = Deadline();
    grpc::Status busy = server->stub().DeleteProfile(context.get(), remove, &removed);
    EXPECT_EQ(busy.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  EXPECT_TRUE(InUse(*server, "alice"));
  ASSERT_TRUE(lease.Release().ok());
  ASSERT_TRUE(WaitUntil([&] { return !InUse(*server, "alice"); }, absl::Seconds(15)));
  v1::ListProfilesResponse listed;
  {
    auto context = Deadline();
    ASSERT_TRUE(server->stub().ListProfiles(context.get(), {}, &listed).ok());
  }
  ASSERT_EQ(listed.profiles_size(), 1);
  EXPECT_EQ(listed.profiles(0).name(), "alice");
  EXPECT_TRUE(listed.profiles(0).has_snapshot());
  EXPECT_GT(listed.profiles(0).size_bytes(), 0);
  {
    auto context = Deadline();
    EXPECT_TRUE(server->stub().DeleteProfile(context.get(), remove, &removed).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(state_dir_ / "profiles/alice"));
  {
    auto context = Deadline();
    EXPECT_EQ(server->stub().DeleteProfile(context.get(), remove, &removed).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

}  // namespace
}  // namespace foxpool::testing
