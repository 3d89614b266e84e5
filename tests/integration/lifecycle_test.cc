// The server's promises about processes and files: a crashed Firefox is
// replaced, a stopped server leaves no Firefox and no profile behind, and
// even `kill -9` of the server leaves no Firefox running.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

// Direct children of the server: the Firefox main processes.
std::set<pid_t> FirefoxMains(pid_t server) {
  std::set<pid_t> mains;
  for (pid_t pid : Descendants(server)) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == server) mains.insert(pid);
  }
  return mains;
}

bool AllDead(const std::set<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (Alive(pid)) return false;
  }
  return true;
}

size_t EntriesIn(const std::filesystem::path& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

TEST(LifecycleTest, AKilledFirefoxIsReplacedAndItsHolderToldWhy) {
  FoxpoolServer server(2);
  ASSERT_TRUE(server.Start().ok());
  Lease a(server.stub());
  Lease b(server.stub());
  ASSERT_TRUE(a.status().ok() && b.status().ok());
  std::set<pid_t> mains = FirefoxMains(server.pid());
  ASSERT_EQ(mains.size(), 2u);
  pid_t victim = *mains.begin();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(victim); }, absl::Seconds(10)));

  // Exactly one of the two leases lost its window; its holder hears ABORTED.
  ASSERT_TRUE(
      WaitUntil([&] { return server.Status().windows_failed_total() == 1; }, absl::Seconds(10)));
  grpc::Status first = a.Evaluate("1", nullptr);
  grpc::Status second = b.Evaluate("1", nullptr);
  ASSERT_NE(first.ok(), second.ok()) << first.error_message() << " / " << second.error_message();
  const grpc::Status& lost = first.ok() ? second : first;
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(lost.error_message(), HasSubstr("SIGKILL"));

  // The pool heals back to two idle windows, one of them new.
  a.Release();
  b.Release();
  ASSERT_TRUE(server.WaitForIdle(2, absl::Seconds(60)));
  std::set<pid_t> now = FirefoxMains(server.pid());
  EXPECT_EQ(now.size(), 2u);
  EXPECT_EQ(now.count(victim), 0u);
  // The dead window's profile is gone: one directory per live window.
  std::filesystem::path instance;
  for (const auto& entry : std::filesystem::directory_iterator(server.profile_root())) {
    instance = entry.path();
  }
  size_t profiles = 0;
  for (const auto& entry : std::filesystem::directory_iterator(instance)) {
    profiles += entry.is_directory();
  }
  EXPECT_EQ(profiles, 2u);
}

TEST(LifecycleTest, ARecycledWindowIsAskedToQuitBeforeBeingKilled) {
  FoxpoolServer server(1);
  ASSERT_TRUE(server.Start().ok());
  {
    Lease lease(server.stub());
    ASSERT_TRUE(lease.status().ok());
    ASSERT_TRUE(lease.Release(v1::RELEASE_MODE_RECYCLE).ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return server.Log().find("window w1 closed") != std::string::npos; },
                        absl::Seconds(10)));
  // SIGTERM was enough: Firefox quit by itself within the grace period.
  EXPECT_THAT(server.Log(), HasSubstr("window w1 closed (Firefox exit code 0)"));
  EXPECT_TRUE(server.WaitForIdle(1, absl::Seconds(30)));
}

TEST(LifecycleTest, ShutdownLeavesNoFirefoxAndNoProfile) {
  FoxpoolServer server(2, {"--drain_timeout=1s"});
  ASSERT_TRUE(server.Start().ok());
  Lease held(server.stub());  // Still held when the server is told to stop.
  ASSERT_TRUE(held.status().ok());
  std::set<pid_t> browsers = Descendants(server.pid());
  ASSERT_GE(browsers.size(), 2u);
  ASSERT_GE(EntriesIn(server.profile_root()), 1u);

  std::optional<std::string> exit = server.Stop(SIGTERM, absl::Seconds(30));
  ASSERT_TRUE(exit.has_value()) << "foxpoold did not stop";
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_TRUE(AllDead(browsers));
  EXPECT_EQ(EntriesIn(server.profile_root()), 0u);
}

TEST(LifecycleTest, KillDashNineOfTheServerLeavesNoFirefox) {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("foxpool-kill9-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  {
    FoxpoolServer doomed(2, {}, root);
    ASSERT_TRUE(doomed.Start().ok());
    std::set<pid_t> browsers = Descendants(doomed.pid());
    ASSERT_GE(browsers.size(), 2u);
    ASSERT_TRUE(doomed.Stop(SIGKILL, absl::Seconds(10)).has_value());
    EXPECT_TRUE(WaitUntil([&] { return AllDead(browsers); }, absl::Seconds(15)))
        << "Firefox outlived a kill -9 of its server";
    EXPECT_EQ(EntriesIn(root), 1u);  // The dead server's instance directory.
  }
  {
    // The next server on the same root clears what the dead one left.
    FoxpoolServer next(1, {}, root);
    ASSERT_TRUE(next.Start().ok());
    EXPECT_EQ(EntriesIn(root), 1u);  // Only its own.
    ASSERT_EQ(next.Stop(SIGTERM, absl::Seconds(30)), "exit code 0");
  }
  EXPECT_EQ(EntriesIn(root), 0u);
  std::filesystem::remove_all(root);
}

TEST(LifecycleTest, ABrokenFirefoxBinaryIsRetriedWithoutLeaks) {
  FoxpoolServer server(1, {"--firefox=/bin/false", "--start_timeout=5s"});
  // Start() waits for idle windows, which never come: expect its timeout.
  EXPECT_FALSE(server.Start(absl::Seconds(3)).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return server.Status().windows_failed_total() >= 2; }, absl::Seconds(20)));
  EXPECT_EQ(server.Status().idle(), 0);
  // An Acquire neither hangs nor succeeds.
  v1::AcquireRequest request;
  request.mutable_max_wait()->set_nanos(100'000'000);
  v1::AcquireResponse response;
  grpc::Status status = server.stub().Acquire(Deadline().get(), request, &response);
  EXPECT_THAT(status.error_code(),
              AnyOf(grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::RESOURCE_EXHAUSTED));
  std::optional<std::string> exit = server.Stop(SIGTERM, absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_EQ(EntriesIn(server.profile_root()), 0u);
}

}  // namespace
}  // namespace foxpool::testing
