// How a command holds its lease while it runs: the window is not returned
// under it, and it lets go before its caller hears the answer.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "server/commands.h"
#include "tests/pool/fakes.h"

namespace foxpool::server {
namespace {

using pool::testing::FakeScheduler;
using pool::testing::FakeWindow;
using pool::testing::FakeWindowFactory;

class StartCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_.set_auto_start(true);
    pool_ = std::make_unique<pool::Pool>(pool::PoolOptions{.size = 1}, factory_, scheduler_);
    pool_->Start();
    absl::StatusOr<pool::Grant> granted = absl::UnknownError("not answered");
    pool_->Acquire({.deadline = scheduler_.Now() + absl::Minutes(1)},
                   [&](absl::StatusOr<pool::Grant> grant) { granted = std::move(grant); });
    ASSERT_TRUE(granted.ok()) << granted.status();
    grant_ = *granted;
    window_ = factory_.window(grant_.window);
    ASSERT_NE(window_, nullptr);
  }

  v1::NavigateRequest Navigate() const {
    v1::NavigateRequest request;
    request.set_lease_id(grant_.lease.value());
    request.set_url("http://127.0.0.1:8080/");
    return request;
  }

  FakeScheduler scheduler_;
  FakeWindowFactory factory_;
  std::unique_ptr<pool::Pool> pool_;
  pool::Grant grant_;
  std::shared_ptr<FakeWindow> window_;
};

TEST_F(StartCommandTest, AReleaseSentOnTheReplyReturnsTheWindowAtOnce) {
  // A caller that releases as soon as its command answers (the Python
  // client's `with` block ending) must find the window no longer leased.
  int leased_at_reply = -1;
  StartCommand(*pool_, ServiceOptions{}, kNavigate, Navigate(), absl::InfiniteFuture(),
               [&](absl::StatusOr<v1::NavigateResponse> response) {
                 EXPECT_TRUE(response.ok()) << response.status();
                 EXPECT_TRUE(pool_->Release(grant_.lease, pool::ReleaseMode::kReset).ok());
                 leased_at_reply = pool_->Status().leased;
               });
  ASSERT_EQ(window_->calls().size(), 1u);
  EXPECT_EQ(window_->calls()[0].method, "navigate");
  ASSERT_TRUE(window_->CompleteCall(R"({"url": "http://127.0.0.1:8080/", "title": "Home"})"));
  EXPECT_EQ(leased_at_reply, 0);
  EXPECT_EQ(window_->reset_count(), 1);
}

TEST_F(StartCommandTest, AReleaseWhileTheCommandRunsWaitsForIt) {
  bool answered = false;
  StartCommand(*pool_, ServiceOptions{}, kNavigate, Navigate(), absl::InfiniteFuture(),
               [&](absl::StatusOr<v1::NavigateResponse>) { answered = true; });
  ASSERT_TRUE(pool_->Release(grant_.lease, pool::ReleaseMode::kReset).ok());
  // Never reset under a running command.
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_EQ(window_->reset_count(), 0);
  ASSERT_TRUE(window_->CompleteCall(absl::UnknownError("the page threw")));
  EXPECT_TRUE(answered);
  EXPECT_EQ(pool_->Status().leased, 0);
  EXPECT_EQ(window_->reset_count(), 1);
}

}  // namespace
}  // namespace foxpool::server
