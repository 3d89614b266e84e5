// Graceful drain of the real server: SIGTERM stops admitting at once, lets
// held leases work until they are released or the drain timeout passes, and
// then exits 0 with no Firefox and no profile left; a second signal cuts
// the drain short.

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

bool NothingLeft(FoxpoolServer& server, const std::set<pid_t>& browsers) {
  for (pid_t pid : browsers) {
    if (Alive(pid)) return false;
  }
  std::error_code ec;
  return std::filesystem::is_empty(server.profile_root(), ec) || ec;
}

TEST(DrainTest, HeldLeasesWorkOnUntilReleasedThenTheServerExits) {
  FoxpoolServer server(2, {"--drain_timeout=30s"});
  ASSERT_TRUE(server.Start().ok());
  std::set<pid_t> browsers = Descendants(server.pid());
  Lease a(server.stub());
  Lease b(server.stub());
  ASSERT_TRUE(a.status().ok() && b.status().ok());

  // Two clients keep their windows busy throughout.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, successes{0};
  auto load = [&](Lease& lease) {
    while (!stop) {
      std::string json;
      if (lease.Evaluate("6 * 7", &json).ok() && json == "42") {
        ++successes;
      } else {
        ++failures;
      }
    }
  };
  std::thread load_a(load, std::ref(a));
  std::thread load_b(load, std::ref(b));
  ASSERT_TRUE(WaitUntil([&] { return successes > 10; }, absl::Seconds(10)));

  server.Signal(SIGTERM);
  ASSERT_TRUE(WaitUntil([&] { return server.Status().draining(); }, absl::Seconds(5)));
  v1::AcquireResponse response;
  grpc::Status refused = server.stub().Acquire(Deadline().get(), v1::AcquireRequest(), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("draining"));

  int before = successes;
  ASSERT_TRUE(WaitUntil([&] { return successes > before + 20; }, absl::Seconds(10)))
      << "held leases stopped working during the drain";
  stop = true;
  load_a.join();
  load_b.join();
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(a.Release().ok());
  absl::Time released = absl::Now();
  EXPECT_TRUE(b.Release().ok());

  std::optional<std::string> exit = server.WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value()) << "foxpoold did not exit after the last release";
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_LT(absl::Now() - released, absl::Seconds(10));  // Not the 30 s timeout.
  EXPECT_TRUE(NothingLeft(server, browsers));
}

TEST(DrainTest, OpenSessionStreamsAreToldAndTheirCloseEndsTheDrain) {
  FoxpoolServer server(1, {"--drain_timeout=30s"});
  ASSERT_TRUE(server.Start().ok());
  grpc::ClientContext context;
  auto stream = server.stub().Session(&context);
  v1::SessionRequest acquire;
  acquire.mutable_acquire();
  ASSERT_TRUE(stream->Write(acquire));
  v1::SessionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_acquired());

  server.Signal(SIGTERM);
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_notice()) << response.DebugString();
  EXPECT_EQ(response.notice().kind(), v1::SessionNotice::KIND_DRAINING);
  EXPECT_EQ(response.notice().time_left().seconds(), 30);
  // The stream still works, then its close lets the server go.
  v1::SessionRequest command;
  command.mutable_command()->set_id(7);
  command.mutable_command()->mutable_evaluate()->set_expression("7 * 6");
  ASSERT_TRUE(stream->Write(command));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.result().evaluate().result_json(), "42");
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  absl::Time closed = absl::Now();
  std::optional<std::string> exit = server.WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_LT(absl::Now() - closed, absl::Seconds(10));
}

TEST(DrainTest, ALeaseNeverReleasedEndsAtTheDrainTimeout) {
  FoxpoolServer server(1, {"--drain_timeout=2s"});
  ASSERT_TRUE(server.Start().ok());
  std::set<pid_t> browsers = Descendants(server.pid());
  Lease forgotten(server.stub());
  ASSERT_TRUE(forgotten.status().ok());

  absl::Time signalled = absl::Now();
  std::optional<std::string> exit = server.Stop(SIGTERM, absl::Seconds(30));
  absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_GE(took, absl::Seconds(2));
  EXPECT_LE(took, absl::Seconds(2 + 5));
  EXPECT_TRUE(NothingLeft(server, browsers));
}

TEST(DrainTest, ASecondSignalEndsTheDrainAtOnce) {
  FoxpoolServer server(1, {"--drain_timeout=60s"});
  ASSERT_TRUE(server.Start().ok());
  std::set<pid_t> browsers = Descendants(server.pid());
  Lease held(server.stub());
  ASSERT_TRUE(held.status().ok());

  server.Signal(SIGTERM);
  ASSERT_TRUE(WaitUntil([&] { return server.Status().draining(); }, absl::Seconds(5)));
  absl::Time second = absl::Now();
  std::optional<std::string> exit = server.Stop(SIGINT, absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, "exit code 0");
  EXPECT_LE(absl::Now() - second, absl::Seconds(5));
  EXPECT_TRUE(NothingLeft(server, browsers));
}

}  // namespace
}  // namespace foxpool::testing
