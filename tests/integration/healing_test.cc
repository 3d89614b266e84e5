// A pool that heals itself: crashed, killed, hung and bloated windows are
// found and replaced, old ones recycled, the pool grows and shrinks, memory
// pressure holds it back, and what a dead server left behind is cleaned up.
// Every test ends with a clean stop: no Firefox left, no profile left.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "firefox/process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/http_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

using ::testing::HasSubstr;

std::string Cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

pid_t ParentOf(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

// The Firefox main process of each window: the server's direct children.
std::set<pid_t> Mains(pid_t server) {
  std::set<pid_t> mains;
  for (pid_t pid : Descendants(server)) {
    if (ParentOf(pid) == server) mains.insert(pid);
  }
  return mains;
}

// The content process that renders `main`'s tab.
pid_t TabProcess(pid_t main) {
  for (pid_t pid : Descendants(main)) {
    std::string cmdline = Cmdline(pid);
    if (cmdline.find("-contentproc") != std::string::npos &&
        cmdline.find(" tab") != std::string::npos) {
      return pid;
    }
  }
  return 0;
}

bool Logged(FoxpoolServer& server, const std::string& text,
            absl::Duration timeout = absl::Seconds(30)) {
  return WaitUntil([&] { return server.Log().find(text) != std::string::npos; }, timeout);
}

grpc::Status EvaluateWithin(FoxpoolServer& server, const Lease& lease, absl::Duration timeout) {
  v1::EvaluateRequest request;
  request.set_lease_id(lease.id());
  request.set_expression("1 + 1");
  request.mutable_timeout()->set_seconds(absl::ToInt64Seconds(timeout));
  v1::EvaluateResponse response;
  auto context = Deadline(timeout + absl::Seconds(5));
  return server.stub().Evaluate(context.get(), request, &response);
}

TEST(HealingTest, AKilledLeasedWindowTellsItsHolderHowItDiedAndWhere) {
  HttpServer pages;
  pages.Add("/last", Page{.body = "<title>last</title>"});
  pages.Start();
  FoxpoolServer server(1);
  ASSERT_TRUE(server.Start().ok());
  Lease lease(server.stub());
  ASSERT_TRUE(lease.Navigate(pages.Url("/last")).ok());
  pid_t main = *Mains(server.pid()).begin();
  ASSERT_EQ(kill(main, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return server.Status().windows_failed_total() == 1; },
                        absl::Seconds(5)));  // Noticed within a second or so (pidfd).
  grpc::Status lost = lease.Evaluate("1", nullptr);
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(lost.error_message(), HasSubstr("killed by signal 9"));
  EXPECT_THAT(lost.error_message(), HasSubstr("not by foxpool"));
  EXPECT_THAT(lost.error_message(), HasSubstr("last URL: " + pages.Url("/last")));
  lease.Release();
  ASSERT_TRUE(server.WaitForIdle(1));
  EXPECT_EQ(Mains(server.pid()).count(main), 0u);
  ExpectCleanStop(server);
}

TEST(HealingTest, AKilledIdleWindowIsReplaced) {
  FoxpoolServer server(2);
  ASSERT_TRUE(server.Start().ok());
  std::set<pid_t> before = Mains(server.pid());
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(kill(*before.begin(), SIGKILL), 0);
  ASSERT_TRUE(
      WaitUntil([&] { return server.Status().windows_failed_total() == 1; }, absl::Seconds(5)));
  ASSERT_TRUE(server.WaitForIdle(2));
  std::set<pid_t> after = Mains(server.pid());
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(after.count(*before.begin()), 0u);
  ExpectCleanStop(server);
}

TEST(HealingTest, AKilledContentProcessIsFoundByTheProbeAndItsWindowReplaced) {
  FoxpoolServer server(1, {"--probe_interval=1s", "--probe_timeout=2s"});
  ASSERT_TRUE(server.Start().ok());
  pid_t main = *Mains(server.pid()).begin();
  pid_t tab = 0;
  ASSERT_TRUE(WaitUntil([&] { return (tab = TabProcess(main)) != 0; }, absl::Seconds(5)));
  ASSERT_EQ(kill(tab, SIGKILL), 0);
  EXPECT_TRUE(Logged(server, "window w1 recycled: unresponsive"));
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::set<pid_t> mains = Mains(server.pid());
        return mains.size() == 1 && !mains.contains(main) && server.Status().idle() == 1;
      },
      absl::Seconds(60)));
  Lease lease(server.stub());
  EXPECT_EQ(lease.Eval("6 * 7"), "42");
  lease.Release();
  ExpectCleanStop(server);
}

TEST(HealingTest, AStoppedIdleWindowIsReplaced) {
  FoxpoolServer server(1, {"--probe_interval=1s", "--probe_timeout=1s"});
  ASSERT_TRUE(server.Start().ok());
  pid_t main = *Mains(server.pid()).begin();
  ASSERT_EQ(kill(main, SIGSTOP), 0);
  EXPECT_TRUE(Logged(server, "window w1 recycled: unresponsive"));
  ASSERT_TRUE(WaitUntil([&] { return !Alive(main); }, absl::Seconds(10)));
  ASSERT_TRUE(server.WaitForIdle(1));
  ExpectCleanStop(server);
}

TEST(HealingTest, AStoppedLeasedWindowFailsItsHolderClearly) {
  FoxpoolServer server(1, {"--probe_timeout=1s"});
  ASSERT_TRUE(server.Start().ok());
  Lease lease(server.stub());
  ASSERT_EQ(lease.Eval("1"), "1");
  pid_t main = *Mains(server.pid()).begin();
  ASSERT_EQ(kill(main, SIGSTOP), 0);
  grpc::Status hung = EvaluateWithin(server, lease, absl::Seconds(2));
  EXPECT_EQ(hung.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << hung.error_message();
  // The missed deadline made the pool probe the window; the probe failed too.
  ASSERT_TRUE(Logged(server, "window w1 recycled: unresponsive"));
  grpc::Status next = lease.Evaluate("1", nullptr);
  EXPECT_EQ(next.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(next.error_message(), HasSubstr("stopped responding"));
  lease.Release();
  ASSERT_TRUE(server.WaitForIdle(1));
  ExpectCleanStop(server);
}

TEST(HealingTest, AWindowIsRecycledAfterItsLeaseCount) {
  FoxpoolServer server(1, {"--max_leases_per_window=2"});
  ASSERT_TRUE(server.Start().ok());
  for (int i = 0; i < 2; ++i) {
    Lease lease(server.stub());
    EXPECT_EQ(lease.window(), "w1");
  }
  EXPECT_TRUE(Logged(server, "window w1 recycled: max_leases"));
  ASSERT_TRUE(server.WaitForIdle(1));
  Lease third(server.stub());
  EXPECT_EQ(third.window(), "w2");
  third.Release();
  ExpectCleanStop(server);
}

TEST(HealingTest, AWindowOverItsMemoryCapIsReplacedBeforeItCloses) {
  // Every Firefox is over 50 MiB: each window is replaced once sampled.
  FoxpoolServer server(1, {"--max_window_memory_mb=50", "--memory_sample_interval=1s"});
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(Logged(server, "window w1 recycled: max_memory"));
  // The replacement became ready before w1 closed.
  ASSERT_TRUE(Logged(server, "window w1 closed"));
  std::string log = server.Log();
  size_t ready = log.find("window w2 ready");
  ASSERT_NE(ready, std::string::npos);
  EXPECT_LT(ready, log.find("window w1 closed"));
  ExpectCleanStop(server);
}

TEST(HealingTest, UnderMemoryPressureThePoolShrinksAndRefusesByPolicy) {
  // Any machine uses more than 1% of its memory: permanent pressure.
  FoxpoolServer server(
      2, {"--memory_threshold=0.01", "--memory_sample_interval=500ms", "--memory_policy=refuse"});
  ASSERT_TRUE(server.Start(absl::Seconds(60), /*idle=*/0).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::GetPoolStatusResponse status = server.Status();
        return status.idle() + status.starting() == 0;
      },
      absl::Seconds(60)));
  EXPECT_THAT(server.Log(), HasSubstr("recycled: memory_pressure"));
  v1::AcquireRequest request;
  request.mutable_max_wait()->set_seconds(5);
  v1::AcquireResponse response;
  auto context = Deadline(absl::Seconds(10));
  grpc::Status refused = server.stub().Acquire(context.get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("memory"));
  ExpectCleanStop(server);
}

TEST(HealingTest, ThePoolGrowsForWaitersAndShrinksWhenQuiet) {
  FoxpoolServer server(1, {"--max_windows=2", "--shrink_after=2s"});
  ASSERT_TRUE(server.Start().ok());
  {
    Lease first(server.stub());
    Lease second(server.stub());  // Waits while a second window starts.
    ASSERT_TRUE(second.status().ok()) << second.status().error_message();
    EXPECT_NE(first.window(), second.window());
  }
  ASSERT_TRUE(server.WaitForIdle(2));
  EXPECT_TRUE(Logged(server, "recycled: surplus"));
  ASSERT_TRUE(server.WaitForIdle(1));
  EXPECT_TRUE(WaitUntil([&] { return Mains(server.pid()).size() == 1; }, absl::Seconds(10)));
  ExpectCleanStop(server);
}

TEST(HealingTest, ABrokenBrowserIsReportedAsACrashLoop) {
  FoxpoolServer server(1, {"--firefox=/bin/false"});
  EXPECT_FALSE(server.Start(absl::Seconds(2)).ok());  // No window ever becomes idle.
  ASSERT_TRUE(Logged(server, "windows keep failing to start: 3 in a row"));
  EXPECT_THAT(server.Log(), HasSubstr("health is NOT_SERVING"));
  std::string status = HttpGet(server.metrics_port(), "/status.json");
  EXPECT_THAT(status,
              ::testing::ContainsRegex("\"consecutive_start_failures\": ([3-9]|[1-9][0-9])"));
  EXPECT_THAT(
      HttpGet(server.metrics_port(), "/metrics"),
      ::testing::ContainsRegex("foxpool_window_start_failures_consecutive ([3-9]|[1-9][0-9])"));
  ExpectCleanStop(server);
}

TEST(HealingTest, WhatADeadServerLeftBehindIsRemovedAtStart) {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / absl::StrCat("foxpool-orphans-", getpid());
  std::filesystem::path stale = root / "foxpool-99999-dead";
  std::filesystem::create_directories(stale / "w1");
  std::ofstream(stale / "lock").put('\n');  // Nobody holds it: the server is gone.
  // A process that names a profile in the stale directory, as a Firefox of
  // the dead server would.
  auto orphan = firefox::ChildProcess::Spawn(firefox::SpawnOptions{
      .binary = "/bin/sh",
      .args = {"-c", "sleep 300; true", "--profile", (stale / "w1").string()},
  });
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  pid_t orphan_pid = (*orphan)->pid();
  {
    FoxpoolServer server(1, {}, root);
    ASSERT_TRUE(server.Start().ok());
    EXPECT_TRUE(WaitUntil([&] { return (*orphan)->TryReap(); }, absl::Seconds(5)))
        << "the orphan " << orphan_pid << " still runs";
    EXPECT_FALSE(std::filesystem::exists(stale));
    EXPECT_THAT(server.Log(), HasSubstr("killed 1 of its Firefox processes"));
    ExpectCleanStop(server);
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace foxpool::testing
