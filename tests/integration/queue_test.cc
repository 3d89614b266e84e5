// The wait queue over real gRPC: arrival order, overflow, and a stress of
// callers who give up at every possible moment.

#include <atomic>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

class QueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new FoxpoolServer(2, {"--max_queue=3"});
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override { ASSERT_TRUE(server_->WaitForIdle(2, absl::Seconds(30))); }

  static FoxpoolServer* server_;
};

FoxpoolServer* QueueTest::server_ = nullptr;

TEST_F(QueueTest, WaitersGetWindowsInArrivalOrderAndOverflowIsRefusedAtOnce) {
  auto a = std::make_unique<Lease>(server_->stub());
  auto b = std::make_unique<Lease>(server_->stub());
  std::vector<std::future<std::pair<grpc::Status, v1::AcquireResponse>>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [] {
      v1::AcquireResponse response;
      auto context = Deadline(absl::Seconds(30));
      grpc::Status status = server_->stub().Acquire(context.get(), v1::AcquireRequest(), &response);
      return std::make_pair(status, response);
    }));
    // The next one arrives only once this one is queued.
    ASSERT_TRUE(
        WaitUntil([&] { return server_->Status().queue_depth() == i + 1; }, absl::Seconds(10)));
  }
  // The queue holds 3: a fourth is refused at once, with a retry hint.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::AcquireResponse response;
  absl::Time asked = absl::Now();
  grpc::Status overflow = server_->stub().Acquire(&context, v1::AcquireRequest(), &response);
  EXPECT_EQ(overflow.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_LT(absl::Now() - asked, absl::Seconds(1));
  EXPECT_NE(context.GetServerTrailingMetadata().find("retry-after-ms"),
            context.GetServerTrailingMetadata().end());

  // Each release serves the oldest waiter.
  std::string freed = a->window();
  ASSERT_TRUE(a->Release(v1::RELEASE_MODE_KEEP).ok());
  auto first = waiters[0].get();
  ASSERT_TRUE(first.first.ok());
  EXPECT_EQ(first.second.window_id(), freed);
  EXPECT_EQ(waiters[1].wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  freed = b->window();
  ASSERT_TRUE(b->Release(v1::RELEASE_MODE_KEEP).ok());
  auto second = waiters[1].get();
  ASSERT_TRUE(second.first.ok());
  EXPECT_EQ(second.second.window_id(), freed);

  v1::ReleaseRequest release;
  v1::ReleaseResponse released;
  release.set_lease_id(first.second.lease_id());
  ASSERT_TRUE(server_->stub().Release(Deadline().get(), release, &released).ok());
  auto third = waiters[2].get();
  ASSERT_TRUE(third.first.ok());
  for (const auto& lease : {second.second.lease_id(), third.second.lease_id()}) {
    release.set_lease_id(lease);
    EXPECT_TRUE(server_->stub().Release(Deadline().get(), release, &released).ok());
  }
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
}

TEST_F(QueueTest, TwoHundredCallersGivingUpAtRandomMomentsLeaveEveryWindowIdle) {
  std::atomic<int> granted{0}, gave_up{0}, refused{0}, other{0};
  auto caller = [&](int seed) {
    std::mt19937 random(seed);
    for (int i = 0; i < 25; ++i) {
      grpc::ClientContext context;
      // Deadlines from 1 to 30 ms, and some callers cancel on their own.
      context.set_deadline(absl::ToChronoTime(
          absl::Now() + absl::Milliseconds(1 + static_cast<int>(random() % 30))));
      bool cancel = random() % 3 == 0;
      std::thread canceller;
      if (cancel) {
        int after = static_cast<int>(random() % 10);
        canceller = std::thread([&context, after] {
          absl::SleepFor(absl::Milliseconds(after));
          context.TryCancel();
        });
      }
      // A caller that cancels at the instant its grant is on the wire may
      // never see it, and the server cannot know (the answer left whole):
      // such a lease is reclaimed by its idle timeout, short here.
      v1::AcquireRequest request;
      request.mutable_idle_timeout()->set_seconds(1);
      v1::AcquireResponse response;
      grpc::Status status = server_->stub().Acquire(&context, request, &response);
      if (canceller.joinable()) canceller.join();
      if (status.ok()) {
        ++granted;
        v1::ReleaseRequest release;
        release.set_lease_id(response.lease_id());
        release.set_mode(v1::RELEASE_MODE_KEEP);
        v1::ReleaseResponse released;
        if (!server_->stub().Release(Deadline().get(), release, &released).ok()) ++other;
      } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                 status.error_code() == grpc::StatusCode::CANCELLED) {
        ++gave_up;
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++refused;
      } else {
        ++other;
      }
    }
  };
  std::vector<std::thread> callers;
  for (int seed = 1; seed <= 8; ++seed) callers.emplace_back(caller, seed);
  for (auto& t : callers) t.join();

  EXPECT_EQ(granted + gave_up + refused + other, 200);
  EXPECT_EQ(other, 0);
  EXPECT_GT(granted, 0);
  EXPECT_GT(gave_up, 0);
  std::cout << granted << " granted, " << gave_up << " gave up, " << refused
            << " refused (queue full)\n";
  // Nothing was lost: no lease is held, nobody waits, both windows idle.
  bool idle = server_->WaitForIdle(2, absl::Seconds(10));
  v1::GetPoolStatusResponse status = server_->Status();
  ASSERT_TRUE(idle) << status.DebugString();
  EXPECT_EQ(status.leased(), 0);
  EXPECT_EQ(status.queue_depth(), 0);
  v1::ListLeasesResponse leases;
  ASSERT_TRUE(server_->stub().ListLeases(Deadline().get(), v1::ListLeasesRequest(), &leases).ok());
  EXPECT_EQ(leases.leases_size(), 0);
}

}  // namespace
}  // namespace foxpool::testing
