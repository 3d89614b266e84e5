// Idempotent Acquire, retry hints, the maximum lease duration, and the
// operator's view (Leases, Revoke, oldest waiter).

#include <string>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "tests/pool/pool_fixture.h"

namespace foxpool::pool {
namespace {

using ::testing::HasSubstr;

AcquireOptions WithRequestId(const std::string& id) {
  AcquireOptions options;
  options.request_id = id;
  return options;
}

int64_t RetryAfterMs(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t ms = -1;
  if (payload.has_value()) {
    EXPECT_TRUE(absl::SimpleAtoi(std::string(*payload), &ms));
  }
  return ms;
}

TEST_F(PoolTest, ARetriedAcquireWithTheSameRequestIdGetsTheSameLease) {
  MakePool({.size = 2});
  AcquireResult* first = Acquire(absl::Minutes(1), WithRequestId("req-1"));
  ASSERT_TRUE(first->grant.ok());
  AcquireResult* retry = Acquire(absl::Minutes(1), WithRequestId("req-1"));
  ASSERT_EQ(retry->answers, 1);
  ASSERT_TRUE(retry->grant.ok());
  EXPECT_EQ(retry->grant->lease, first->grant->lease);
  EXPECT_EQ(retry->grant->window, first->grant->window);
  EXPECT_EQ(pool_->Status().leased, 1);  // No second window taken.
  EXPECT_EQ(pool_->Status().idle, 1);

  // Once released, the id is free: the next Acquire with it is a new lease.
  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kKeep).ok());
  AcquireResult* later = Acquire(absl::Minutes(1), WithRequestId("req-1"));
  ASSERT_TRUE(later->grant.ok());
  EXPECT_NE(later->grant->lease, first->grant->lease);
}

TEST_F(PoolTest, ARetryOfAWaitingAcquireTakesOverItsPlaceInTheQueue) {
  MakePool({.size = 1});
  Grant held = MustAcquire();
  AcquireResult* ahead = Acquire(absl::Minutes(1), WithRequestId("mine"));
  AcquireResult* behind = Acquire();
  Pool::WaitTicket retry_ticket;
  AcquireResult* retry = Acquire(absl::Minutes(1), WithRequestId("mine"), &retry_ticket);
  ASSERT_EQ(ahead->answers, 1);
  EXPECT_EQ(ahead->grant.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(pool_->Status().queue_depth, 2);

  ASSERT_TRUE(pool_->Release(held.lease, ReleaseMode::kKeep).ok());
  ASSERT_EQ(retry->answers, 1);  // First in line, as the call it replaced.
  EXPECT_TRUE(retry->grant.ok());
  EXPECT_EQ(behind->answers, 0);
  EXPECT_FALSE(pool_->CancelWait(retry_ticket));
}

TEST_F(PoolTest, RefusalsCarryARetryHintFromRecentLeaseDurations) {
  MakePool({.size = 1, .max_queue = 1});
  // Leases of 10 s each teach the pool how long a window stays busy.
  for (int i = 0; i < 20; ++i) {
    Grant grant = MustAcquire();
    scheduler_.Advance(absl::Seconds(10));
    ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  }
  MustAcquire();
  AcquireResult* no_wait = Acquire(absl::ZeroDuration());
  EXPECT_EQ(no_wait->grant.status().code(), absl::StatusCode::kResourceExhausted);
  int64_t alone = RetryAfterMs(no_wait->grant.status());
  EXPECT_GT(alone, 9000);
  EXPECT_LE(alone, 10000);
  Acquire();  // Fills the queue.
  AcquireResult* overflow = Acquire();
  EXPECT_EQ(overflow->grant.status().code(), absl::StatusCode::kResourceExhausted);
  // Behind one waiter, the hint is about twice as long.
  EXPECT_GT(RetryAfterMs(overflow->grant.status()), 2 * alone - 100);
  EXPECT_EQ(absl::ToInt64Milliseconds(pool_->Status().expected_wait),
            RetryAfterMs(overflow->grant.status()));
}

TEST_F(PoolTest, FailFastRefusesAtOnceWhenTheWaitWouldOutlastTheDeadline) {
  MakePool({.size = 1});
  for (int i = 0; i < 20; ++i) {  // Leases of 10 s.
    Grant grant = MustAcquire();
    scheduler_.Advance(absl::Seconds(10));
    ASSERT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep).ok());
  }
  MustAcquire();
  AcquireOptions fail_fast;
  fail_fast.fail_fast = true;
  AcquireResult* hopeless = Acquire(absl::Seconds(2), fail_fast);
  ASSERT_EQ(hopeless->answers, 1);
  EXPECT_EQ(hopeless->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GT(RetryAfterMs(hopeless->grant.status()), 2000);
  AcquireResult* patient = Acquire(absl::Seconds(30), fail_fast);
  EXPECT_EQ(patient->answers, 0);  // Queued: the deadline leaves room.
  AcquireResult* plain = Acquire(absl::Seconds(2));
  EXPECT_EQ(plain->answers, 0);  // Without fail_fast it waits as asked.
  EXPECT_EQ(pool_->Status().queue_depth, 2);
}

TEST_F(PoolTest, NoLeaseOutlivesTheMaximumDurationEvenWhenBusy) {
  MakePool({.size = 1,
            .default_idle_timeout = absl::Seconds(60),
            .max_lease_duration = absl::Minutes(5)});
  Grant grant = MustAcquire();
  for (int i = 0; i < 9; ++i) {
    scheduler_.Advance(absl::Seconds(30));
    ASSERT_TRUE(pool_->Renew(grant.lease).ok()) << i;
  }
  scheduler_.Advance(absl::Seconds(30));  // 5 minutes.
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(use.status().message(), HasSubstr("maximum lease duration"));
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(Window(grant.window)->reset_count(), 1);
}

TEST_F(PoolTest, AtTheMaximumDurationAnInFlightCommandFinishesFirst) {
  MakePool({.size = 1, .max_lease_duration = absl::Minutes(1)});
  Grant grant = MustAcquire();
  {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
    ASSERT_TRUE(use.ok());
    scheduler_.Advance(absl::Minutes(1));
    EXPECT_EQ(pool_->Use(grant.lease).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(Window(grant.window)->reset_count(), 0);  // Not under the command.
  }
  EXPECT_EQ(Window(grant.window)->reset_count(), 1);
  EXPECT_EQ(pool_->Status().idle, 1);
}

TEST_F(PoolTest, AStreamsLeaseHasNoIdleTimeoutButAMaximumDuration) {
  MakePool({.size = 1,
            .default_idle_timeout = absl::Seconds(10),
            .max_lease_duration = absl::Minutes(10)});
  AcquireOptions stream;
  stream.held_by_stream = true;
  AcquireResult* result = Acquire(absl::Minutes(1), stream);
  ASSERT_TRUE(result->grant.ok());
  scheduler_.Advance(absl::Minutes(9));
  EXPECT_TRUE(pool_->Use(result->grant->lease).ok());
  scheduler_.Advance(absl::Minutes(1));
  EXPECT_EQ(pool_->Use(result->grant->lease).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PoolTest, LeasesListsEveryLeaseOldestFirst) {
  MakePool({.size = 3});
  AcquireOptions labelled;
  labelled.labels = {{"job", "crawl"}};
  labelled.holder = "ipv4:127.0.0.1:5555";
  AcquireResult* old = Acquire(absl::Minutes(1), labelled);
  scheduler_.Advance(absl::Seconds(30));
  Grant young = MustAcquire();
  scheduler_.Advance(absl::Seconds(10));
  absl::StatusOr<LeaseUse> use = pool_->Use(young.lease);

  std::vector<LeaseInfo> leases = pool_->Leases();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].lease, old->grant->lease);
  EXPECT_EQ(leases[0].labels.at("job"), "crawl");
  EXPECT_EQ(leases[0].holder, "ipv4:127.0.0.1:5555");
  EXPECT_EQ(leases[0].age, absl::Seconds(40));
  EXPECT_EQ(leases[0].idle_for, absl::Seconds(40));
  EXPECT_EQ(leases[1].lease, young.lease);
  EXPECT_EQ(leases[1].age, absl::Seconds(10));
  EXPECT_EQ(leases[1].idle_for, absl::ZeroDuration());
  EXPECT_EQ(leases[1].commands_in_flight, 1);
}

TEST_F(PoolTest, RevokeEndsTheLeaseForItsHolderAndResetsTheWindow) {
  MakePool({.size = 1});
  Grant grant = MustAcquire();
  EXPECT_EQ(pool_->Revoke(WindowId(999)).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(pool_->Revoke(grant.window).ok());
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  EXPECT_EQ(use.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(use.status().message(), HasSubstr("revoked"));
  EXPECT_EQ(Window(grant.window)->reset_count(), 1);
  EXPECT_EQ(pool_->Status().idle, 1);
  EXPECT_EQ(pool_->Revoke(grant.window).code(), absl::StatusCode::kNotFound);
}

TEST_F(PoolTest, StatusReportsTheOldestWaitersAge) {
  MakePool({.size = 1});
  MustAcquire();
  EXPECT_EQ(pool_->Status().oldest_waiter_age, absl::ZeroDuration());
  Acquire();
  scheduler_.Advance(absl::Seconds(3));
  Acquire();
  scheduler_.Advance(absl::Seconds(2));
  EXPECT_EQ(pool_->Status().oldest_waiter_age, absl::Seconds(5));
}

}  // namespace
}  // namespace foxpool::pool
