#include "pool/pool.h"

#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pool/fakes.h"

namespace foxpool::pool {
namespace {

using testing::AcquireResult;
using testing::FakeScheduler;
using testing::FakeWindowFactory;
using ::testing::HasSubstr;

class PoolTest : public ::testing::Test {
 protected:
  void MakePool(PoolOptions options = {}) {
    options_ = options;
    pool_ = std::make_unique<Pool>(options, factory_, scheduler_);
    pool_->Start();
  }

  // Acquires with a deadline `wait` from now.
  AcquireResult* Acquire(absl::Duration wait = absl::Seconds(10),
                         Pool::WaitTicket* ticket = nullptr) {
    results_.push_back(std::make_unique<AcquireResult>());
    AcquireOptions options;
    options.deadline = scheduler_.Now() + wait;
    Pool::WaitTicket t = pool_->Acquire(options, results_.back()->Callback());
    if (ticket != nullptr) *ticket = t;
    return results_.back().get();
  }

  Grant MustAcquire() {
    AcquireResult* r = Acquire();
    EXPECT_TRUE(r->done);
    EXPECT_TRUE(r->grant.ok()) << r->grant.status();
    return *r->grant;
  }

  PoolOptions options_;
  FakeScheduler scheduler_;
  FakeWindowFactory factory_;
  // Before the pool: its destructor still answers waiters.
  std::vector<std::unique_ptr<AcquireResult>> results_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolTest, StartLaunchesSizeWindowsThatBecomeIdle) {
  factory_.set_auto_start(false);
  MakePool({.size = 3});
  EXPECT_EQ(pool_->Status().starting, 3);
  EXPECT_EQ(pool_->Status().idle, 0);
  for (WindowId id : factory_.pending_starts()) factory_.CompleteStart(id);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting, 0);
  EXPECT_EQ(status.idle, 3);
  EXPECT_EQ(status.target_size, 3);
}

TEST_F(PoolTest, AcquireGrantsAnIdleWindowAtOnceWithAnUnguessableLease) {
  MakePool({.size = 2});
  Grant a = MustAcquire();
  Grant b = MustAcquire();
  EXPECT_TRUE(std::regex_match(a.lease.value(), std::regex("[0-9a-f]{32}")));
  EXPECT_NE(a.lease.value(), b.lease.value());
  EXPECT_FALSE(a.window == b.window);
  EXPECT_EQ(a.waited, absl::ZeroDuration());
  EXPECT_EQ(a.idle_timeout, PoolOptions().default_idle_timeout);
  EXPECT_EQ(pool_->Status().leased, 2);
}

TEST_F(PoolTest, WaitersAreServedInArrivalOrderAfterResets) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* first = Acquire();
  AcquireResult* second = Acquire();
  EXPECT_FALSE(first->done);
  EXPECT_EQ(pool_->Status().queue_depth, 2);

  auto window = factory_.window(held.window);
  window->set_auto_reset(false);
  scheduler_.Advance(absl::Seconds(1));
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(pool_->Status().resetting, 1);
  EXPECT_FALSE(first->done);  // Not before the reset has passed.
  window->CompleteReset();
  ASSERT_TRUE(first->done);
  ASSERT_TRUE(first->grant.ok());
  EXPECT_EQ(first->grant->waited, absl::Seconds(1));
  EXPECT_FALSE(second->done);

  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kReset).ok());
  window->CompleteReset();
  ASSERT_TRUE(second->done);
  EXPECT_TRUE(second->grant.ok());
  EXPECT_EQ(window->resets(), 2);
}

TEST_F(PoolTest, AWaiterWhoseDeadlinePassesLeavesAndLosesNoWindow) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* waiter = Acquire(absl::Seconds(2));
  scheduler_.Advance(absl::Milliseconds(1999));
  EXPECT_FALSE(waiter->done);
  scheduler_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(waiter->done);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(pool_->Status().queue_depth, 0);

  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(pool_->Status().leased, 0);
}

TEST_F(PoolTest, TheServerCapsEveryWait) {
  MakePool({.size = 1, .max_wait = absl::Seconds(5)});
  MustAcquire();
  AcquireResult* waiter = Acquire(absl::Hours(1));
  scheduler_.Advance(absl::Seconds(5));
  ASSERT_TRUE(waiter->done);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(PoolTest, CancelWaitGivesCancelledAndIsFalseOnceGranted) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  Pool::WaitTicket ticket;
  AcquireResult* waiter = Acquire(absl::Seconds(10), &ticket);
  EXPECT_TRUE(pool_->CancelWait(ticket));
  ASSERT_TRUE(waiter->done);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(pool_->CancelWait(ticket));  // Twice is a no-op.

  AcquireResult* granted = Acquire(absl::Seconds(10), &ticket);
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  ASSERT_TRUE(granted->done);
  EXPECT_TRUE(granted->grant.ok());
  EXPECT_FALSE(pool_->CancelWait(ticket));  // Too late: the caller must release it.
}

TEST_F(PoolTest, AFullQueueAndANoWaitCallerAreRefusedAtOnce) {
  MakePool({.size = 1, .max_queue = 2});
  MustAcquire();
  AcquireResult* no_wait = Acquire(absl::ZeroDuration());
  ASSERT_TRUE(no_wait->done);
  EXPECT_EQ(no_wait->grant.status().code(), absl::StatusCode::kResourceExhausted);
  Acquire();
  Acquire();
  AcquireResult* third = Acquire();
  ASSERT_TRUE(third->done);
  EXPECT_EQ(third->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third->grant.status().message(), HasSubstr("queue is full"));
  EXPECT_EQ(pool_->Status().queue_depth, 2);
}

TEST_F(PoolTest, CommandsOnUnknownOrReleasedLeasesFail) {
  MakePool({.size = 1});
  EXPECT_EQ(pool_->Use(LeaseId("nope")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool_->Release(LeaseId("nope"), ReleaseMode::kReset).code(),
            absl::StatusCode::kNotFound);
  Grant grant = MustAcquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    EXPECT_EQ(&use->window(), factory_.window(grant.window).get());
  }
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  absl::StatusOr<LeaseUse> stale = pool_->Use(grant.lease);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pool_->Renew(grant.lease).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());  // Idempotent.
  EXPECT_EQ(factory_.window(grant.window)->resets(), 1);
}

TEST_F(PoolTest, AStaleLeaseNeverReachesTheNextHoldersWindow) {
  MakePool({.size = 1});
  Grant first = MustAcquire();
  ASSERT_TRUE(pool_->Release(first.lease, ReleaseMode::kReset).ok());
  Grant second = MustAcquire();
  EXPECT_TRUE(first.window == second.window);
  EXPECT_FALSE(pool_->Use(first.lease).ok());
  EXPECT_TRUE(pool_->Use(second.lease).ok());
}

TEST_F(PoolTest, KeepReturnsTheWindowWithoutAReset) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(factory_.window(grant.window)->resets(), 0);
}

TEST_F(PoolTest, RecycleClosesTheWindowAndStartsAnother) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kRecycle).ok());
  EXPECT_EQ(factory_.window(grant.window)->closes(), 1);
  Grant next = MustAcquire();
  EXPECT_FALSE(next.window == grant.window);
  EXPECT_EQ(pool_->Status().leased, 1);
}

TEST_F(PoolTest, AFailedResetReplacesTheWindow) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  factory_.window(grant.window)->set_auto_reset(true, absl::InternalError("2 tabs left"));
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(factory_.window(grant.window)->closes(), 1);
  Grant next = MustAcquire();
  EXPECT_FALSE(next.window == grant.window);
  EXPECT_EQ(pool_->Status().windows_failed_total, 1);
}

TEST_F(PoolTest, AWindowThatDiesWhileLeasedIsReplacedAndItsHolderTold) {
  MakePool({.size = 2});
  Grant grant = MustAcquire();
  factory_.Kill(grant.window, absl::AbortedError("Firefox killed by signal 9 (SIGKILL)"));
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(use.status().message(), HasSubstr("SIGKILL"));
  EXPECT_EQ(factory_.window(grant.window)->closes(), 1);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 2);
  EXPECT_EQ(status.leased, 0);
  EXPECT_EQ(status.windows_failed_total, 1);
  EXPECT_EQ(factory_.completed_starts(), 3);
}

TEST_F(PoolTest, AnIdleWindowThatDiesIsReplacedAndNotHandedOut) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  factory_.set_auto_start(false);
  factory_.Kill(grant.window, absl::AbortedError("crashed"));
  AcquireResult* waiter = Acquire();
  EXPECT_FALSE(waiter->done);  // The dead window is not handed out.
  ASSERT_EQ(factory_.pending_starts().size(), 1u);
  factory_.CompleteStart(factory_.pending_starts()[0]);
  ASSERT_TRUE(waiter->done);
  EXPECT_FALSE(waiter->grant->window == grant.window);
}

TEST_F(PoolTest, FailedStartsAreRetriedWithGrowingBackoff) {
  factory_.set_auto_start(false);
  MakePool({.size = 1,
            .respawn_backoff_initial = absl::Seconds(1),
            .respawn_backoff_max = absl::Seconds(3)});
  auto fail_pending = [&] {
    std::vector<WindowId> pending = factory_.pending_starts();
    ASSERT_EQ(pending.size(), 1u);
    factory_.FailStart(pending[0], absl::UnavailableError("no such binary"));
  };
  fail_pending();
  EXPECT_TRUE(factory_.pending_starts().empty());
  scheduler_.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(factory_.pending_starts().empty());
  scheduler_.Advance(absl::Milliseconds(1));
  fail_pending();  // Second failure: 2 s.
  scheduler_.Advance(absl::Milliseconds(1999));
  EXPECT_TRUE(factory_.pending_starts().empty());
  scheduler_.Advance(absl::Milliseconds(1));
  fail_pending();  // Third: capped at 3 s.
  scheduler_.Advance(absl::Milliseconds(2999));
  EXPECT_TRUE(factory_.pending_starts().empty());
  scheduler_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(factory_.pending_starts().size(), 1u);
  factory_.CompleteStart(factory_.pending_starts()[0]);
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(pool_->Status().windows_failed_total, 3);
}

TEST_F(PoolTest, AnIdleLeaseExpiresAndItsWindowIsResetAndReturned) {
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(60)});
  Grant grant = MustAcquire();
  scheduler_.Advance(absl::Seconds(59));
  EXPECT_TRUE(pool_->Use(grant.lease).ok());  // A command restarts the timer.
  scheduler_.Advance(absl::Seconds(59));
  ASSERT_TRUE(pool_->Renew(grant.lease).ok());
  scheduler_.Advance(absl::Seconds(59));
  EXPECT_EQ(pool_->Status().leased, 1);
  scheduler_.Advance(absl::Seconds(1));
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(use.status().message(), HasSubstr("expired"));
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(factory_.window(grant.window)->resets(), 1);
}

TEST_F(PoolTest, ACommandInFlightKeepsTheLeaseAlive) {
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(10)});
  Grant grant = MustAcquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    scheduler_.Advance(absl::Seconds(30));
    EXPECT_EQ(pool_->Status().leased, 1);
  }
  // The timer restarts when the command ends.
  scheduler_.Advance(absl::Seconds(9));
  EXPECT_TRUE(pool_->Renew(grant.lease).ok());
}

TEST_F(PoolTest, ACallerMayChooseAShorterOrClampedIdleTimeout) {
  MakePool({.size = 2, .max_idle_timeout = absl::Minutes(5)});
  AcquireOptions options;
  options.deadline = scheduler_.Now() + absl::Seconds(1);
  options.idle_timeout = absl::Hours(2);
  AcquireResult clamped;
  pool_->Acquire(options, clamped.Callback());
  ASSERT_TRUE(clamped.grant.ok());
  EXPECT_EQ(clamped.grant->idle_timeout, absl::Minutes(5));
  options.idle_timeout = absl::Seconds(2);
  AcquireResult shorter;
  pool_->Acquire(options, shorter.Callback());
  ASSERT_TRUE(shorter.grant.ok());
  scheduler_.Advance(absl::Seconds(2));
  EXPECT_EQ(pool_->Use(shorter.grant->lease).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(pool_->Use(clamped.grant->lease).ok());
}

TEST_F(PoolTest, ReleaseDuringACommandDefersTheResetUntilItEnds) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  AcquireResult* waiter = Acquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
    EXPECT_EQ(factory_.window(grant.window)->resets(), 0);
    EXPECT_FALSE(waiter->done);
    EXPECT_EQ(pool_->Use(grant.lease).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(factory_.window(grant.window)->resets(), 1);
  ASSERT_TRUE(waiter->done);
  EXPECT_TRUE(waiter->grant.ok());
}

TEST_F(PoolTest, DrainRefusesWaitersAndNewCallersButKeepsLeases) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  AcquireResult* waiter = Acquire();
  pool_->Drain();
  ASSERT_TRUE(waiter->done);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kUnavailable);
  AcquireResult* late = Acquire();
  ASSERT_TRUE(late->done);
  EXPECT_EQ(late->grant.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(pool_->Use(grant.lease).ok());
  EXPECT_TRUE(pool_->Status().draining);
  EXPECT_FALSE(pool_->AwaitNoLeases(absl::Milliseconds(1)));
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_TRUE(pool_->AwaitNoLeases(absl::Milliseconds(1)));
}

TEST_F(PoolTest, ShutdownClosesEveryWindowIncludingLateStarts) {
  factory_.set_auto_start(false);
  MakePool({.size = 3});
  std::vector<WindowId> pending = factory_.pending_starts();
  factory_.CompleteStart(pending[0]);
  factory_.CompleteStart(pending[1]);
  Grant grant = MustAcquire();
  pool_->Shutdown();
  EXPECT_EQ(factory_.window(pending[0])->closes(), 1);
  EXPECT_EQ(factory_.window(pending[1])->closes(), 1);
  EXPECT_EQ(pool_->Use(grant.lease).status().code(), absl::StatusCode::kUnavailable);
  factory_.CompleteStart(pending[2]);  // Finishes starting after shutdown.
  EXPECT_EQ(factory_.window(pending[2])->closes(), 1);
  EXPECT_EQ(factory_.pending_starts().size(), 0u);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle + status.leased + status.starting + status.resetting, 0);
}

TEST_F(PoolTest, StatusCountsEveryState) {
  factory_.set_auto_start(false);
  MakePool({.size = 4, .max_queue = 4});
  std::vector<WindowId> pending = factory_.pending_starts();
  for (int i = 0; i < 3; ++i) factory_.CompleteStart(pending[i]);
  Grant leased = MustAcquire();
  Grant resetting = MustAcquire();
  factory_.window(resetting.window)->set_auto_reset(false);
  ASSERT_TRUE(pool_->Release(resetting.lease, ReleaseMode::kReset).ok());
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting, 1);
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.leased, 1);
  EXPECT_EQ(status.resetting, 1);
  EXPECT_EQ(status.queue_depth, 0);
}

}  // namespace
}  // namespace foxpool::pool
