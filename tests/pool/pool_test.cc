#include "pool/pool.h"

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pool/fakes.h"
#include "tests/pool/pool_fixture.h"

namespace foxpool::pool {
namespace {

using ::foxpool::pool::testing::FakeScheduler;
using ::foxpool::pool::testing::FakeWindow;
using ::foxpool::pool::testing::FakeWindowFactory;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

// The fake clock itself: the pool tests lean on its ordering. -----------------

TEST(FakeSchedulerTest, RunsDueTimersInDueOrderWithTheClockAtTheirDueTime) {
  FakeScheduler scheduler;
  const absl::Time start = scheduler.Now();
  std::vector<std::string> ran;
  auto record = [&](std::string name) {
    return [&ran, &scheduler, start, name] {
      ran.push_back(absl::StrCat(name, "@", absl::FormatDuration(scheduler.Now() - start)));
    };
  };
  scheduler.RunAfter(absl::Seconds(3), record("c"));
  scheduler.RunAfter(absl::Seconds(1), record("a"));
  scheduler.RunAfter(absl::Seconds(1), record("b"));  // Ties keep their order.
  scheduler.RunAfter(absl::Seconds(5), record("late"));
  scheduler.Advance(absl::Seconds(4));
  EXPECT_THAT(ran, ::testing::ElementsAre("a@1s", "b@1s", "c@3s"));
  EXPECT_EQ(scheduler.Now(), start + absl::Seconds(4));
  EXPECT_EQ(scheduler.pending_timers(), 1u);
  EXPECT_EQ(scheduler.next_due(), start + absl::Seconds(5));
}

TEST(FakeSchedulerTest, TimersSetByATimerRunWhenTheyFallDueInTheSameAdvance) {
  FakeScheduler scheduler;
  const absl::Time start = scheduler.Now();
  std::vector<absl::Duration> ran;
  scheduler.RunAfter(absl::Seconds(1), [&] {
    ran.push_back(scheduler.Now() - start);
    scheduler.RunAfter(absl::Seconds(1), [&] { ran.push_back(scheduler.Now() - start); });
    scheduler.RunAfter(absl::Seconds(5), [&] { ran.push_back(scheduler.Now() - start); });
  });
  scheduler.Advance(absl::Seconds(3));
  EXPECT_THAT(ran, ::testing::ElementsAre(absl::Seconds(1), absl::Seconds(2)));
  scheduler.Advance(absl::Seconds(3));
  EXPECT_THAT(ran, ::testing::ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(6)));
  EXPECT_EQ(scheduler.pending_timers(), 0u);
}

// Start ----------------------------------------------------------------------

TEST_F(PoolTest, StartLaunchesSizeWindowsThatBecomeIdle) {
  MakePool({.size = 3}, /*auto_start=*/false);
  ASSERT_EQ(factory_.start_count(), 3);
  std::set<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.insert(factory_.start_id(i).value());
  EXPECT_THAT(ids, SizeIs(3));
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting, 3);
  EXPECT_EQ(status.idle, 0);
  EXPECT_EQ(status.target_size, 3);

  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  EXPECT_EQ(pool_->Status().starting, 2);
  EXPECT_EQ(pool_->Status().idle, 1);
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  ASSERT_NE(factory_.CompleteStart(2), nullptr);

  status = pool_->Status();
  EXPECT_EQ(status.starting, 0);
  EXPECT_EQ(status.idle, 3);
  EXPECT_EQ(status.leased, 0);
  EXPECT_EQ(status.resetting, 0);
  EXPECT_EQ(factory_.start_count(), 3);
}

// Acquire --------------------------------------------------------------------

TEST_F(PoolTest, AcquireOfAnIdleWindowGrantsAtOnce) {
  MakePool({.size = 2, .default_idle_timeout = absl::Seconds(45)});
  AcquireResult* result = Acquire();
  // Answered before Acquire returned.
  ASSERT_EQ(result->answers, 1);
  ASSERT_TRUE(result->grant.ok()) << result->grant.status();
  EXPECT_THAT(result->grant->lease.value(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(result->grant->waited, absl::ZeroDuration());
  EXPECT_EQ(result->grant->idle_timeout, absl::Seconds(45));
  EXPECT_TRUE(result->grant->window == factory_.start_id(0) ||
              result->grant->window == factory_.start_id(1));
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.leased, 1);
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.queue_depth, 0);
}

TEST_F(PoolTest, ALeaseMaySendAtMostMaxCommandsAndTheNextLeaseStartsAfresh) {
  MakePool({.size = 1, .max_commands_per_lease = 3});
  Grant grant = MustAcquire();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool_->Use(grant.lease).ok()) << "command " << i;
  }
  absl::StatusOr<LeaseUse> fourth = pool_->Use(grant.lease);
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fourth.status().message(), HasSubstr("--max_commands_per_lease"));
  // The lease itself is still held and may be released.
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  Grant next = MustAcquire();
  EXPECT_TRUE(pool_->Use(next.lease).ok());
}

TEST_F(PoolTest, EveryLeaseGetsItsOwnId) {
  MakePool({.size = 2});
  Grant a = MustAcquire();
  Grant b = MustAcquire();
  EXPECT_NE(a.lease.value(), b.lease.value());
  EXPECT_FALSE(a.window == b.window);

  // The same window leased again gets a fresh id every time.
  std::set<std::string> ids = {a.lease.value(), b.lease.value()};
  ASSERT_TRUE(pool_->Release(a.lease, ReleaseMode::kKeep).ok());
  for (int i = 0; i < 100; ++i) {
    Grant again = MustAcquire();
    EXPECT_TRUE(again.window == a.window);
    EXPECT_THAT(again.lease.value(), MatchesRegex("[0-9a-f]{32}"));
    ids.insert(again.lease.value());
    ASSERT_TRUE(pool_->Release(again.lease, ReleaseMode::kKeep).ok());
  }
  EXPECT_THAT(ids, SizeIs(102));
}

TEST_F(PoolTest, AThirdAcquireOnAPoolOfTwoWaitsForAReleasedWindowsReset) {
  factory_.set_hold_resets(true);
  MakePool({.size = 2});
  Grant a = MustAcquire();
  MustAcquire();
  AcquireResult* third = Acquire();
  EXPECT_EQ(third->answers, 0);
  EXPECT_EQ(pool_->Status().queue_depth, 1);

  scheduler_.Advance(absl::Seconds(3));
  ASSERT_TRUE(pool_->Release(a.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(third->answers, 0) << "granted a window before its reset finished";
  EXPECT_EQ(pool_->Status().resetting, 1);

  ASSERT_TRUE(Window(a.window)->CompleteReset());
  ASSERT_EQ(third->answers, 1);
  ASSERT_TRUE(third->grant.ok()) << third->grant.status();
  EXPECT_TRUE(third->grant->window == a.window);
  EXPECT_NE(third->grant->lease.value(), a.lease.value());
  EXPECT_EQ(third->grant->waited, absl::Seconds(3));
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.leased, 2);
  EXPECT_EQ(status.resetting, 0);
  EXPECT_EQ(status.queue_depth, 0);
}

TEST_F(PoolTest, WaitersAreGrantedInArrivalOrder) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* first = Acquire();
  AcquireResult* second = Acquire();
  AcquireResult* third = Acquire();
  EXPECT_EQ(pool_->Status().queue_depth, 3);

  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  ASSERT_EQ(first->answers, 1);
  ASSERT_TRUE(first->grant.ok());
  EXPECT_EQ(second->answers, 0);
  EXPECT_EQ(third->answers, 0);

  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kReset).ok());
  ASSERT_EQ(second->answers, 1);
  ASSERT_TRUE(second->grant.ok());
  EXPECT_EQ(third->answers, 0);

  ASSERT_TRUE(pool_->Release(second->grant->lease, ReleaseMode::kReset).ok());
  ASSERT_EQ(third->answers, 1);
  EXPECT_TRUE(third->grant.ok());
  EXPECT_EQ(pool_->Status().queue_depth, 0);
}

TEST_F(PoolTest, AWaiterWhoseDeadlinePassesGetsDeadlineExceededAndLeaves) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* waiter = Acquire(absl::Seconds(2));

  scheduler_.Advance(absl::Seconds(2) - absl::Milliseconds(1));
  EXPECT_EQ(waiter->answers, 0);
  scheduler_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(waiter->answers, 1);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(pool_->Status().queue_depth, 0);

  // The window released afterwards goes idle: nobody holds a lost lease.
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(waiter->answers, 1);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.leased, 0);
  Grant next = MustAcquire();
  EXPECT_TRUE(next.window == held.window);
}

TEST_F(PoolTest, EveryWaitIsCappedByMaxWait) {
  MakePool({.size = 1, .max_wait = absl::Seconds(5)});
  MustAcquire();
  AcquireResult* no_deadline = Acquire(absl::InfiniteDuration());
  AcquireResult* hour = Acquire(absl::Hours(1));
  scheduler_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_EQ(no_deadline->answers, 0);
  EXPECT_EQ(hour->answers, 0);
  scheduler_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(no_deadline->answers, 1);
  ASSERT_EQ(hour->answers, 1);
  EXPECT_EQ(no_deadline->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(hour->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(PoolTest, CancelWaitAnswersCancelledAndRemovesTheWaiter) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  Pool::WaitTicket ticket = 0;
  AcquireResult* waiter = Acquire(absl::Minutes(1), {}, &ticket);
  ASSERT_EQ(waiter->answers, 0);

  EXPECT_TRUE(pool_->CancelWait(ticket));
  ASSERT_EQ(waiter->answers, 1);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pool_->Status().queue_depth, 0);
  EXPECT_FALSE(pool_->CancelWait(ticket));

  // Neither the release nor the old deadline reaches the cancelled caller.
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kReset).ok());
  scheduler_.Advance(absl::Minutes(2));
  EXPECT_EQ(waiter->answers, 1);
  EXPECT_EQ(pool_->Status().idle, 1);
}

TEST_F(PoolTest, CancelWaitIsFalseOnceTheCallerWasAnswered) {
  MakePool({.size = 1});
  Pool::WaitTicket immediate = 0;
  AcquireResult* first = Acquire(absl::Minutes(1), {}, &immediate);
  ASSERT_TRUE(first->grant.ok());
  EXPECT_FALSE(pool_->CancelWait(immediate));

  Pool::WaitTicket queued = 0;
  AcquireResult* second = Acquire(absl::Minutes(1), {}, &queued);
  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kKeep).ok());
  ASSERT_EQ(second->answers, 1);
  ASSERT_TRUE(second->grant.ok());
  EXPECT_FALSE(pool_->CancelWait(queued));
  // The grant stands: its holder must release it.
  EXPECT_EQ(second->answers, 1);
  EXPECT_TRUE(pool_->Use(second->grant->lease).ok());

  Pool::WaitTicket timed_out = 0;
  AcquireResult* third = Acquire(absl::Seconds(1), {}, &timed_out);
  scheduler_.Advance(absl::Seconds(1));
  ASSERT_EQ(third->answers, 1);
  EXPECT_FALSE(pool_->CancelWait(timed_out));
  EXPECT_EQ(third->grant.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(PoolTest, AFullQueueRefusesTheNextCallerWithResourceExhausted) {
  MakePool({.size = 1, .max_queue = 2});
  MustAcquire();
  Pool::WaitTicket ticket = 0;
  AcquireResult* first = Acquire(absl::Minutes(1), {}, &ticket);
  AcquireResult* second = Acquire();
  AcquireResult* refused = Acquire();
  ASSERT_EQ(refused->answers, 1);
  EXPECT_EQ(refused->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused->grant.status().message(), HasSubstr("queue is full"));
  EXPECT_EQ(first->answers, 0);
  EXPECT_EQ(second->answers, 0);
  EXPECT_EQ(pool_->Status().queue_depth, 2);

  // A place freed is a place taken.
  ASSERT_TRUE(pool_->CancelWait(ticket));
  AcquireResult* admitted = Acquire();
  EXPECT_EQ(admitted->answers, 0);
  EXPECT_EQ(pool_->Status().queue_depth, 2);
}

TEST_F(PoolTest, ADeadlineAlreadyPastWithNoIdleWindowIsRefusedAtOnce) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* now = Acquire(absl::ZeroDuration());
  AcquireResult* past = Acquire(-absl::Seconds(1));
  ASSERT_EQ(now->answers, 1);
  ASSERT_EQ(past->answers, 1);
  EXPECT_EQ(now->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(past->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool_->Status().queue_depth, 0);

  // With a window idle, a caller that will not wait still gets it.
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kKeep).ok());
  AcquireResult* lucky = Acquire(absl::ZeroDuration());
  ASSERT_EQ(lucky->answers, 1);
  EXPECT_TRUE(lucky->grant.ok()) << lucky->grant.status();
}

TEST_F(PoolTest, AGrantCarriesTheCallersIdleTimeoutClampedToTheMaximum) {
  MakePool(
      {.size = 3, .default_idle_timeout = absl::Seconds(60), .max_idle_timeout = absl::Minutes(5)});
  AcquireOptions long_options;
  long_options.idle_timeout = absl::Hours(2);
  AcquireResult* clamped = Acquire(absl::Minutes(1), long_options);
  AcquireOptions short_options;
  short_options.idle_timeout = absl::Seconds(2);
  AcquireResult* short_lease = Acquire(absl::Minutes(1), short_options);
  AcquireResult* by_default = Acquire();
  ASSERT_TRUE(clamped->grant.ok());
  ASSERT_TRUE(short_lease->grant.ok());
  ASSERT_TRUE(by_default->grant.ok());
  EXPECT_EQ(clamped->grant->idle_timeout, absl::Minutes(5));
  EXPECT_EQ(short_lease->grant->idle_timeout, absl::Seconds(2));
  EXPECT_EQ(by_default->grant->idle_timeout, absl::Seconds(60));

  scheduler_.Advance(absl::Seconds(2));
  EXPECT_EQ(pool_->Use(short_lease->grant->lease).status().code(), absl::StatusCode::kNotFound);
  scheduler_.Advance(absl::Seconds(58));
  EXPECT_EQ(pool_->Use(by_default->grant->lease).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(pool_->Use(clamped->grant->lease).ok());
}

// Commands on leases ---------------------------------------------------------

TEST_F(PoolTest, CommandsOnAnUnknownLeaseAreNotFound) {
  MakePool({.size = 1});
  MustAcquire();
  LeaseId unknown(std::string(32, '0'));
  EXPECT_EQ(pool_->Use(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool_->Renew(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool_->Release(unknown, ReleaseMode::kReset).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool_->Use(LeaseId()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool_->Status().leased, 1);
}

TEST_F(PoolTest, UseGivesTheLeasedWindow) {
  MakePool({.size = 2});
  Grant grant = MustAcquire();
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  ASSERT_TRUE(use.ok()) << use.status();
  EXPECT_EQ(&use->window(), Window(grant.window).get());
}

TEST_F(PoolTest, CommandsOnAReleasedLeaseAreFailedPrecondition) {
  MakePool({.size = 1});
  Grant old = MustAcquire();
  ASSERT_TRUE(pool_->Release(old.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(pool_->Use(old.lease).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pool_->Renew(old.lease).status().code(), absl::StatusCode::kFailedPrecondition);

  // Also once the window serves someone else, whose lease works.
  Grant next = MustAcquire();
  ASSERT_TRUE(next.window == old.window);
  EXPECT_EQ(pool_->Use(old.lease).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(pool_->Use(next.lease).ok());
}

TEST_F(PoolTest, ReleaseIsIdempotent) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kRecycle).ok());
  // Only the first release acted.
  std::shared_ptr<FakeWindow> window = Window(grant.window);
  EXPECT_EQ(window->reset_count(), 1);
  EXPECT_FALSE(window->closed());
  EXPECT_EQ(factory_.start_count(), 1);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.leased, 0);
}

// Release modes ----------------------------------------------------------------

TEST_F(PoolTest, ReleaseWithResetResetsTheWindowBeforeItIsIdleAgain) {
  factory_.set_hold_resets(true);
  MakePool({.size = 1, .reset_timeout = absl::Seconds(7)});
  Grant grant = MustAcquire();
  scheduler_.Advance(absl::Seconds(1));
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  std::shared_ptr<FakeWindow> window = Window(grant.window);
  EXPECT_EQ(window->reset_count(), 1);
  EXPECT_THAT(window->reset_deadlines(),
              ::testing::ElementsAre(scheduler_.Now() + absl::Seconds(7)));
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.resetting, 1);
  EXPECT_EQ(status.idle, 0);
  EXPECT_EQ(status.leased, 0);
  // A window that is resetting is not handed out.
  AcquireResult* refused = Acquire(absl::ZeroDuration());
  EXPECT_EQ(refused->grant.status().code(), absl::StatusCode::kResourceExhausted);

  ASSERT_TRUE(window->CompleteReset());
  status = pool_->Status();
  EXPECT_EQ(status.resetting, 0);
  EXPECT_EQ(status.idle, 1);
  EXPECT_FALSE(window->closed());
}

TEST_F(PoolTest, ReleaseWithKeepReturnsTheWindowIdleWithoutAReset) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  std::shared_ptr<FakeWindow> window = Window(grant.window);
  EXPECT_EQ(window->reset_count(), 0);
  EXPECT_FALSE(window->closed());
  EXPECT_EQ(pool_->Status().idle, 1);
  Grant next = MustAcquire();
  EXPECT_TRUE(next.window == grant.window);
}

TEST_F(PoolTest, ReleaseWithRecycleClosesTheWindowAndStartsAReplacement) {
  MakePool({.size = 1}, /*auto_start=*/false);
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kRecycle).ok());

  std::shared_ptr<FakeWindow> old = Window(grant.window);
  EXPECT_EQ(old->close_count(), 1);
  EXPECT_EQ(old->reset_count(), 0);
  ASSERT_EQ(factory_.start_count(), 2);
  EXPECT_FALSE(factory_.start_id(1) == grant.window);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting, 1);
  EXPECT_EQ(status.idle, 0);
  EXPECT_EQ(status.leased, 0);

  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  EXPECT_EQ(pool_->Status().idle, 1);
  Grant next = MustAcquire();
  EXPECT_TRUE(next.window == factory_.start_id(1));
}

TEST_F(PoolTest, AFailedResetClosesTheWindowAndStartsAReplacement) {
  factory_.set_hold_resets(true);
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  std::shared_ptr<FakeWindow> window = Window(grant.window);
  ASSERT_EQ(pool_->Status().resetting, 1);

  ASSERT_TRUE(window->CompleteReset(absl::InternalError("2 tabs left after reset")));
  EXPECT_EQ(window->close_count(), 1);
  ASSERT_EQ(factory_.start_count(), 2);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.resetting, 0);
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.windows_failed_total, 1);
  Grant next = MustAcquire();
  EXPECT_FALSE(next.window == grant.window);
}

TEST_F(PoolTest, AResetThatAnswersAfterItsWindowDiedIsIgnored) {
  factory_.set_hold_resets(true);
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  std::shared_ptr<FakeWindow> dead = Window(grant.window);
  ASSERT_TRUE(factory_.Kill(grant.window, absl::AbortedError("crashed while resetting")));
  EXPECT_TRUE(dead->closed());
  ASSERT_EQ(pool_->Status().idle, 1);  // The replacement.

  ASSERT_TRUE(dead->CompleteReset());
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.resetting, 0);
  Grant next = MustAcquire();
  EXPECT_FALSE(next.window == grant.window);
  AcquireResult* nothing_left = Acquire(absl::ZeroDuration());
  EXPECT_EQ(nothing_left->grant.status().code(), absl::StatusCode::kResourceExhausted);
}

// Windows that die or fail to start --------------------------------------------

TEST_F(PoolTest, AWindowThatDiesWhileLeasedAbortsTheLeaseAndIsReplaced) {
  MakePool({.size = 2});
  Grant grant = MustAcquire();
  ASSERT_TRUE(factory_.Kill(grant.window, absl::UnavailableError("Firefox exited with signal 9")));

  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(use.status().message(), HasSubstr("signal 9"));
  EXPECT_EQ(pool_->Renew(grant.lease).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Window(grant.window)->close_count(), 1);
  EXPECT_EQ(factory_.start_count(), 3);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 2);
  EXPECT_EQ(status.leased, 0);
  EXPECT_EQ(status.starting, 0);
  EXPECT_EQ(status.windows_failed_total, 1);
  // The holder's late release is harmless.
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_EQ(pool_->Status().idle, 2);
}

TEST_F(PoolTest, ALeaseUseThatOutlivesItsDeadWindowEndsQuietly) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    ASSERT_TRUE(factory_.Kill(grant.window, absl::UnavailableError("lost connection")));
    EXPECT_EQ(&use->window(), Window(grant.window).get());
  }
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.leased, 0);
  EXPECT_EQ(status.resetting, 0);
  EXPECT_EQ(Window(grant.window)->reset_count(), 0);
}

TEST_F(PoolTest, ALeaseUseEndedEarlyCountsOnce) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  absl::StatusOr<LeaseUse> first = pool_->Use(grant.lease);
  absl::StatusOr<LeaseUse> second = pool_->Use(grant.lease);
  ASSERT_TRUE(first.ok() && second.ok());
  first->End();
  first->End();
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  // The second command still runs on the window: it stays leased.
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_EQ(Window(grant.window)->reset_count(), 0);
  second->End();
  EXPECT_EQ(pool_->Status().leased, 0);
  EXPECT_EQ(Window(grant.window)->reset_count(), 1);
}

TEST_F(PoolTest, AnIdleWindowThatDiesIsNeverHandedOut) {
  MakePool({.size = 1}, /*auto_start=*/false);
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  WindowId first = factory_.start_id(0);
  ASSERT_TRUE(factory_.Kill(first, absl::UnavailableError("crashed")));
  EXPECT_TRUE(Window(first)->closed());
  ASSERT_EQ(factory_.start_count(), 2);

  AcquireResult* waiter = Acquire();
  EXPECT_EQ(waiter->answers, 0);
  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  ASSERT_EQ(waiter->answers, 1);
  ASSERT_TRUE(waiter->grant.ok());
  EXPECT_TRUE(waiter->grant->window == factory_.start_id(1));
}

TEST_F(PoolTest, FailedStartsAreRetriedAfterABackoffThatGrows) {
  MakePool({.size = 1,
            .respawn_backoff_initial = absl::Seconds(1),
            .respawn_backoff_max = absl::Seconds(4)},
           /*auto_start=*/false);
  const absl::Duration kBackoffs[] = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                      absl::Seconds(4)};
  for (absl::Duration backoff : kBackoffs) {
    SCOPED_TRACE(absl::StrCat("backoff ", absl::FormatDuration(backoff)));
    std::vector<int> pending = factory_.pending_starts();
    ASSERT_THAT(pending, SizeIs(1));
    ASSERT_TRUE(factory_.FailStart(pending[0], absl::UnavailableError("firefox: not found")));
    int starts = factory_.start_count();
    EXPECT_EQ(pool_->Status().starting, 1);  // Backing off still counts.
    scheduler_.Advance(backoff - absl::Milliseconds(1));
    EXPECT_EQ(factory_.start_count(), starts) << "retried too early";
    scheduler_.Advance(absl::Milliseconds(1));
    EXPECT_EQ(factory_.start_count(), starts + 1) << "not retried";
  }
  ASSERT_NE(factory_.CompleteStart(factory_.start_count() - 1), nullptr);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);
  EXPECT_EQ(status.starting, 0);
  EXPECT_EQ(status.windows_failed_total, 4);

  // A window started: the next failure backs off from the start again.
  WindowId up = factory_.start_id(factory_.start_count() - 1);
  ASSERT_TRUE(factory_.Kill(up, absl::UnavailableError("crashed")));
  ASSERT_THAT(factory_.pending_starts(), SizeIs(1));  // A death is replaced at once.
  ASSERT_TRUE(factory_.FailStart(factory_.pending_starts()[0], absl::InternalError("no")));
  int starts = factory_.start_count();
  scheduler_.Advance(absl::Seconds(1) - absl::Milliseconds(1));
  EXPECT_EQ(factory_.start_count(), starts);
  scheduler_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(factory_.start_count(), starts + 1);
}

// Idle timeout ---------------------------------------------------------------

TEST_F(PoolTest, ALeaseUnusedForItsIdleTimeoutExpiresAndItsWindowIsReset) {
  factory_.set_hold_resets(true);
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(60)});
  Grant grant = MustAcquire();
  AcquireResult* waiter = Acquire(absl::Minutes(5));

  scheduler_.Advance(absl::Seconds(60) - absl::Milliseconds(1));
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_EQ(Window(grant.window)->reset_count(), 0);
  scheduler_.Advance(absl::Milliseconds(1));

  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(use.status().message(), HasSubstr("expired"));
  absl::StatusOr<absl::Duration> renewed = pool_->Renew(grant.lease);
  EXPECT_EQ(renewed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(renewed.status().message(), HasSubstr("expired"));
  EXPECT_EQ(Window(grant.window)->reset_count(), 1);
  EXPECT_EQ(pool_->Status().resetting, 1);
  EXPECT_EQ(waiter->answers, 0);

  ASSERT_TRUE(Window(grant.window)->CompleteReset());
  ASSERT_EQ(waiter->answers, 1);
  ASSERT_TRUE(waiter->grant.ok());
  EXPECT_TRUE(waiter->grant->window == grant.window);
  // The expired holder's release changes nothing.
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kRecycle).ok());
  EXPECT_FALSE(Window(grant.window)->closed());
  EXPECT_TRUE(pool_->Use(waiter->grant->lease).ok());
}

TEST_F(PoolTest, RenewKeepsALeaseAlive) {
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(10)});
  Grant grant = MustAcquire();
  scheduler_.Advance(absl::Seconds(9));
  absl::StatusOr<absl::Duration> renewed = pool_->Renew(grant.lease);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(*renewed, absl::Seconds(10));
  scheduler_.Advance(absl::Seconds(9));
  ASSERT_TRUE(pool_->Renew(grant.lease).ok());
  // 27 s after the grant, 9 s after the last renewal.
  scheduler_.Advance(absl::Seconds(9));
  EXPECT_EQ(pool_->Status().leased, 1);
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(pool_->Status().leased, 0);
  EXPECT_THAT(pool_->Use(grant.lease).status().message(), HasSubstr("expired"));
}

TEST_F(PoolTest, AnInFlightLeaseUseKeepsALeaseAlive) {
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(10)});
  Grant grant = MustAcquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    // Not a multiple of the timeout: the command ends between expiry checks.
    scheduler_.Advance(absl::Minutes(10) + absl::Seconds(5));
    EXPECT_EQ(pool_->Status().leased, 1);
    EXPECT_EQ(Window(grant.window)->reset_count(), 0);
  }
  // The idle timer starts over when the command ends.
  scheduler_.Advance(absl::Seconds(10) - absl::Milliseconds(1));
  EXPECT_EQ(pool_->Status().leased, 1);
  scheduler_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(pool_->Status().leased, 0);
  EXPECT_EQ(pool_->Use(grant.lease).status().code(), absl::StatusCode::kNotFound);
}

// LeaseUse and Release -------------------------------------------------------

TEST_F(PoolTest, ReleaseDuringALeaseUseDefersTheResetUntilTheUseEnds) {
  MakePool({.size = 1, .default_idle_timeout = absl::Seconds(10)});
  Grant grant = MustAcquire();
  AcquireResult* waiter = Acquire(absl::Minutes(5));
  std::shared_ptr<FakeWindow> window = Window(grant.window);
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
    EXPECT_EQ(window->reset_count(), 0);
    EXPECT_EQ(pool_->Status().leased, 1);
    EXPECT_EQ(waiter->answers, 0);
    EXPECT_EQ(pool_->Use(grant.lease).status().code(), absl::StatusCode::kFailedPrecondition);
    // Nor does the idle timeout reset the window under the command.
    scheduler_.Advance(absl::Seconds(30));
    EXPECT_EQ(window->reset_count(), 0);
    EXPECT_EQ(waiter->answers, 0);
  }
  EXPECT_EQ(window->reset_count(), 1);
  ASSERT_EQ(waiter->answers, 1);
  ASSERT_TRUE(waiter->grant.ok());
  EXPECT_TRUE(waiter->grant->window == grant.window);
}

TEST_F(PoolTest, EveryLeaseUseMustEndBeforeADeferredReleaseActs) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  std::optional<LeaseUse> second;
  {
    absl::StatusOr<LeaseUse> first = pool_->Use(grant.lease);
    ASSERT_TRUE(first.ok());
    absl::StatusOr<LeaseUse> other = pool_->Use(grant.lease);
    ASSERT_TRUE(other.ok());
    // A moved-from LeaseUse ends nothing when it is destroyed.
    second.emplace(*std::move(other));
    ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kRecycle).ok());
  }
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_FALSE(Window(grant.window)->closed());
  second.reset();
  EXPECT_EQ(pool_->Status().leased, 0);
  EXPECT_TRUE(Window(grant.window)->closed());
  EXPECT_EQ(pool_->Status().idle, 1);  // The replacement.
}

// Drain and shutdown ---------------------------------------------------------

TEST_F(PoolTest, DrainFailsWaitersAndNewAcquiresWithUnavailable) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  AcquireResult* waiter = Acquire();
  pool_->Drain();
  ASSERT_EQ(waiter->answers, 1);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kUnavailable);
  AcquireResult* late = Acquire();
  ASSERT_EQ(late->answers, 1);
  EXPECT_EQ(late->grant.status().code(), absl::StatusCode::kUnavailable);
  PoolStatus status = pool_->Status();
  EXPECT_TRUE(status.draining);
  EXPECT_EQ(status.queue_depth, 0);

  // Leases go on, and end as usual.
  EXPECT_TRUE(pool_->Use(grant.lease).ok());
  EXPECT_TRUE(pool_->Renew(grant.lease).ok());
  EXPECT_FALSE(pool_->AwaitNoLeases(absl::ZeroDuration()));
  ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
  EXPECT_TRUE(pool_->AwaitNoLeases(absl::ZeroDuration()));
  EXPECT_EQ(pool_->Status().idle, 1);
  // An idle window is not handed out while draining.
  AcquireResult* after = Acquire();
  EXPECT_EQ(after->grant.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool_->Status().idle, 1);
}

TEST_F(PoolTest, ShutdownClosesEveryWindowAndEndsEveryLease) {
  factory_.set_hold_resets(true);
  MakePool({.size = 3});
  Grant leased = MustAcquire();
  Grant resetting = MustAcquire();
  ASSERT_TRUE(pool_->Release(resetting.lease, ReleaseMode::kReset).ok());
  ASSERT_EQ(pool_->Status().idle, 1);
  ASSERT_EQ(pool_->Status().resetting, 1);

  pool_->Shutdown();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Window(factory_.start_id(i))->close_count(), 1) << factory_.start_id(i).ToString();
  }
  EXPECT_EQ(pool_->Use(leased.lease).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Acquire()->grant.status().code(), absl::StatusCode::kUnavailable);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting + status.idle + status.leased + status.resetting, 0);

  // Late answers start nothing and hand nothing out.
  ASSERT_TRUE(Window(resetting.window)->CompleteReset());
  EXPECT_TRUE(pool_->Release(leased.lease, ReleaseMode::kRecycle).ok());
  scheduler_.Advance(absl::Hours(1));
  EXPECT_EQ(pool_->Status().idle, 0);
  EXPECT_EQ(factory_.start_count(), 3);
  // Shutting down again (as the destructor does) closes nothing twice.
  pool_.reset();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Window(factory_.start_id(i))->close_count(), 1);
}

TEST_F(PoolTest, ShutdownAnswersWaitersWithUnavailable) {
  MakePool({.size = 1});
  MustAcquire();
  AcquireResult* waiter = Acquire();
  pool_->Shutdown();
  ASSERT_EQ(waiter->answers, 1);
  EXPECT_EQ(waiter->grant.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PoolTest, AStartThatCompletesAfterShutdownHasItsWindowClosed) {
  MakePool({.size = 2}, /*auto_start=*/false);
  std::shared_ptr<FakeWindow> early = factory_.CompleteStart(0);
  ASSERT_NE(early, nullptr);
  pool_->Shutdown();
  EXPECT_TRUE(early->closed());

  std::shared_ptr<FakeWindow> late = factory_.CompleteStart(1);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->close_count(), 1);
  EXPECT_EQ(pool_->Status().idle, 0);
  EXPECT_EQ(factory_.start_count(), 2);
}

TEST_F(PoolTest, NoStartIsRetriedAfterShutdown) {
  MakePool({.size = 2}, /*auto_start=*/false);
  ASSERT_TRUE(factory_.FailStart(0, absl::UnavailableError("no display")));  // Backing off.
  pool_->Shutdown();
  ASSERT_TRUE(factory_.FailStart(1, absl::UnavailableError("no display")));  // Fails late.
  scheduler_.Advance(absl::Hours(1));
  EXPECT_EQ(factory_.start_count(), 2);
  EXPECT_THAT(factory_.pending_starts(), ::testing::IsEmpty());
}

// Status ---------------------------------------------------------------------

TEST_F(PoolTest, StatusCountsEachStateAndTheQueue) {
  factory_.set_hold_resets(true);
  MakePool({.size = 4, .max_queue = 4}, /*auto_start=*/false);
  for (int i = 0; i < 3; ++i) ASSERT_NE(factory_.CompleteStart(i), nullptr);
  MustAcquire();
  Grant resetting = MustAcquire();
  MustAcquire();
  ASSERT_TRUE(pool_->Release(resetting.lease, ReleaseMode::kReset).ok());
  Acquire();
  Acquire();

  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.starting, 1);
  EXPECT_EQ(status.idle, 0);
  EXPECT_EQ(status.leased, 2);
  EXPECT_EQ(status.resetting, 1);
  EXPECT_EQ(status.queue_depth, 2);
  EXPECT_EQ(status.target_size, 4);
  EXPECT_FALSE(status.draining);
  EXPECT_EQ(status.windows_failed_total, 0);

  ASSERT_NE(factory_.CompleteStart(3), nullptr);  // Goes to the first waiter.
  status = pool_->Status();
  EXPECT_EQ(status.starting, 0);
  EXPECT_EQ(status.leased, 3);
  EXPECT_EQ(status.queue_depth, 1);
}

// Observer -------------------------------------------------------------------

class RecordingObserver : public PoolObserver {
 public:
  void OnWindowReady(WindowId id, absl::Duration took) override {
    Add(absl::StrCat("ready ", id.ToString(), " in ", absl::FormatDuration(took)));
  }
  void OnWindowFailed(WindowId id, const absl::Status& why) override {
    Add(absl::StrCat("failed ", id.ToString(), " ", absl::StatusCodeToString(why.code())));
  }
  void OnWindowRecycled(WindowId id, Recycle reason) override {
    Add(absl::StrCat("recycled ", id.ToString(), " ", ToString(reason)));
  }
  void OnWindowReset(WindowId id, absl::Duration took) override {
    Add(absl::StrCat("reset ", id.ToString()));
  }
  void OnLeaseGranted(const Grant& grant) override {
    Add(absl::StrCat("granted ", grant.window.ToString(), " after ",
                     absl::FormatDuration(grant.waited)));
  }
  void OnAcquireRefused(AcquireRefusal why, absl::Duration waited) override {
    Add(absl::StrCat("refused ", ToString(why), " after ", absl::FormatDuration(waited)));
  }
  void OnLeaseEnded(const LeaseId& lease, WindowId window, LeaseEnd reason, absl::Duration held,
                    const absl::Status& why) override {
    Add(absl::StrCat("ended ", window.ToString(), " ", ToString(reason), " after ",
                     absl::FormatDuration(held), " ", absl::StatusCodeToString(why.code())));
  }
  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(PoolTest, TheObserverHearsOfWindowsAndLeases) {
  RecordingObserver observer;
  factory_.set_auto_start(true);
  pool_ = std::make_unique<Pool>(PoolOptions{.size = 1, .default_idle_timeout = absl::Seconds(5)},
                                 factory_, scheduler_, &observer);
  pool_->Start();
  Grant first = MustAcquire();
  scheduler_.Advance(absl::Seconds(2));
  ASSERT_TRUE(pool_->Release(first.lease, ReleaseMode::kKeep).ok());
  Grant second = MustAcquire();
  scheduler_.Advance(absl::Seconds(5));  // Expires, and the reset passes.
  Grant third = MustAcquire();
  ASSERT_TRUE(factory_.Kill(third.window, absl::UnavailableError("crashed")));
  EXPECT_THAT(observer.events(),
              ::testing::ElementsAre("ready w1 in 0", "granted w1 after 0",
                                     "ended w1 released after 2s OK", "granted w1 after 0",
                                     "ended w1 idle_timeout after 5s NOT_FOUND", "reset w1",
                                     "granted w1 after 0", "ended w1 window_died after 0 ABORTED",
                                     "failed w1 UNAVAILABLE", "ready w2 in 0"));
  pool_.reset();  // Before the observer.
}

TEST_F(PoolTest, TheObserverHearsWhyAcquiresGotNothing) {
  RecordingObserver observer;
  factory_.set_auto_start(true);
  pool_ = std::make_unique<Pool>(PoolOptions{.size = 1, .max_queue = 1}, factory_, scheduler_,
                                 &observer);
  pool_->Start();
  Grant held = MustAcquire();
  auto within = [this](absl::Duration wait) {
    AcquireOptions options;
    options.deadline = scheduler_.Now() + wait;
    return options;
  };
  auto ignore = [](absl::StatusOr<Grant>) {};
  pool_->Acquire(within(absl::ZeroDuration()), ignore);  // No wait.
  pool_->Acquire(within(absl::Seconds(3)), ignore);      // Queued.
  pool_->Acquire(within(absl::Seconds(3)), ignore);      // Queue full.
  scheduler_.Advance(absl::Seconds(3));                  // The queued one gives up.
  Pool::WaitTicket ticket = pool_->Acquire(within(absl::Seconds(3)), ignore);
  scheduler_.Advance(absl::Seconds(1));
  ASSERT_TRUE(pool_->CancelWait(ticket));
  pool_->Acquire(within(absl::Seconds(3)), ignore);
  pool_->Drain();  // Refuses the waiter.
  pool_->Acquire(within(absl::Seconds(3)), ignore);
  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kRecycle).ok());
  EXPECT_THAT(
      observer.events(),
      ::testing::ElementsAre("ready w1 in 0", "granted w1 after 0", "refused no_wait after 0",
                             "refused queue_full after 0", "refused deadline after 3s",
                             "refused cancelled after 1s", "refused draining after 0",
                             "refused draining after 0", "ended w1 released after 4s OK",
                             "recycled w1 requested"));  // Not replaced: the pool drains.
  pool_.reset();
}

// Threads ---------------------------------------------------------------------

TEST_F(PoolTest, ConcurrentCallersNeverShareAWindow) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  MakePool({.size = 2, .max_queue = kThreads});
  absl::Mutex mu;
  absl::flat_hash_map<WindowId, int> holders;  // Guarded by mu.
  std::atomic<int> failures{0};

  auto caller = [&] {
    for (int round = 0; round < kRounds; ++round) {
      // Shared with the continuation, which may outlive a failed wait.
      struct Answer {
        absl::Notification done;
        absl::StatusOr<Grant> grant;
      };
      auto answer = std::make_shared<Answer>();
      AcquireOptions options;
      options.deadline = absl::InfiniteFuture();
      pool_->Acquire(options, [answer](absl::StatusOr<Grant> g) {
        answer->grant = std::move(g);
        answer->done.Notify();
      });
      // A safety net only: every grant here follows another caller's release.
      if (!answer->done.WaitForNotificationWithTimeout(absl::Seconds(30))) {
        ++failures;
        return;
      }
      const absl::StatusOr<Grant>& grant = answer->grant;
      if (!grant.ok()) {
        ++failures;
        return;
      }
      {
        absl::MutexLock lock(&mu);
        if (++holders[grant->window] != 1) ++failures;
      }
      if (!pool_->Use(grant->lease).ok()) ++failures;
      {
        absl::MutexLock lock(&mu);
        --holders[grant->window];
      }
      ReleaseMode mode = round % 2 == 0 ? ReleaseMode::kReset : ReleaseMode::kKeep;
      if (!pool_->Release(grant->lease, mode).ok()) ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(caller);
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 2);
  EXPECT_EQ(status.leased, 0);
  EXPECT_EQ(status.queue_depth, 0);
  EXPECT_EQ(factory_.start_count(), 2);
}

}  // namespace
}  // namespace foxpool::pool
