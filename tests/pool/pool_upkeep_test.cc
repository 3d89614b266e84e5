// Growth and shrinking, recycling, health probes and the memory guard.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "tests/pool/pool_fixture.h"

namespace foxpool::pool {
namespace {

using ::testing::ElementsAre;

class Recycles : public PoolObserver {
 public:
  void OnWindowRecycled(WindowId id, Recycle reason) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(absl::StrCat(id.ToString(), " ", ToString(reason)));
  }
  void OnCrashLoop(int failures, absl::Duration backoff) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(absl::StrCat("crash loop ", failures, " ", absl::FormatDuration(backoff)));
  }
  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

class PoolUpkeepTest : public PoolTest {
 protected:
  void Make(PoolOptions options) {
    factory_.set_auto_start(true);
    pool_ = std::make_unique<Pool>(options, factory_, scheduler_, &observer_);
    pool_->Start();
  }
  void TearDown() override { pool_.reset(); }  // Before the observer.
  void Release(const Grant& grant, ReleaseMode mode = ReleaseMode::kReset) {
    ASSERT_TRUE(pool_->Release(grant.lease, mode).ok());
  }

  Recycles observer_;
};

TEST_F(PoolUpkeepTest, AWindowThatServedItsLeasesIsRecycledAtRelease) {
  Make({.size = 1, .max_leases_per_window = 2});
  Release(MustAcquire());
  Grant second = MustAcquire();
  EXPECT_EQ(second.window, WindowId(1));
  Release(second);
  EXPECT_THAT(observer_.events(), ElementsAre("w1 max_leases"));
  EXPECT_TRUE(Window(WindowId(1))->closed());
  EXPECT_EQ(Window(WindowId(1))->reset_count(), 1);  // Closed, not reset, the second time.
  EXPECT_EQ(MustAcquire().window, WindowId(2));
}

TEST_F(PoolUpkeepTest, ThePoolGrowsWhileCallersWaitAndShrinksWhenQuiet) {
  Make({.size = 1,
        .max_windows = 3,
        .shrink_after = absl::Minutes(5),
        .upkeep_interval = absl::Seconds(1),
        .probe_interval = absl::Hours(1)});
  Grant first = MustAcquire();
  AcquireResult* second = Acquire();
  AcquireResult* third = Acquire();
  AcquireResult* fourth = Acquire();  // Beyond max_windows: waits.
  ASSERT_TRUE(second->grant.ok() && third->grant.ok());
  EXPECT_EQ(factory_.start_count(), 3);
  EXPECT_EQ(fourth->answers, 0);
  Release(first);
  ASSERT_TRUE(fourth->grant.ok());
  Release(*second->grant);
  Release(*third->grant);
  Release(*fourth->grant);
  EXPECT_EQ(pool_->Status().idle, 3);
  scheduler_.Advance(absl::Minutes(4));
  EXPECT_EQ(pool_->Status().idle, 3);  // Not quiet for long enough yet.
  scheduler_.Advance(absl::Minutes(2));
  PoolStatus status = pool_->Status();
  EXPECT_EQ(status.idle, 1);  // Back to its size, one close per upkeep.
  EXPECT_EQ(observer_.events().size(), 2u);
  EXPECT_THAT(observer_.events()[0], ::testing::EndsWith("surplus"));
}

TEST_F(PoolUpkeepTest, MinIdleKeepsAWindowInReserve) {
  Make({.size = 1, .max_windows = 3, .min_idle = 1});
  EXPECT_EQ(factory_.start_count(), 1);
  MustAcquire();
  EXPECT_EQ(factory_.start_count(), 2);  // Started before anyone waits.
  EXPECT_EQ(pool_->Status().idle, 1);
}

TEST_F(PoolUpkeepTest, AnIdleWindowThatMissesAProbeIsReplaced) {
  Make({.size = 1, .upkeep_interval = absl::Seconds(1), .probe_interval = absl::Seconds(10)});
  scheduler_.Advance(absl::Seconds(10));
  std::shared_ptr<FakeWindow> w1 = Window(WindowId(1));
  ASSERT_EQ(w1->calls().size(), 1u);
  EXPECT_EQ(w1->calls()[0].method, "ping");
  EXPECT_EQ(w1->calls()[0].deadline, scheduler_.Now() + absl::Seconds(5));
  ASSERT_TRUE(w1->CompleteCall("1"));  // Healthy.
  EXPECT_FALSE(w1->closed());
  scheduler_.Advance(absl::Seconds(10));
  ASSERT_TRUE(w1->CompleteCall(absl::DeadlineExceededError("no answer")));
  EXPECT_TRUE(w1->closed());
  EXPECT_THAT(observer_.events(), ElementsAre("w1 unresponsive"));
  EXPECT_EQ(MustAcquire().window, WindowId(2));
}

TEST_F(PoolUpkeepTest, ASuspectLeasedWindowThatFailsItsProbeEndsTheLeaseWithAborted) {
  Make({.size = 1});
  Grant grant = MustAcquire();
  pool_->Suspect(grant.window);
  ASSERT_TRUE(Window(grant.window)->CompleteCall(absl::DeadlineExceededError("no answer")));
  absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease);
  ASSERT_EQ(use.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(use.status().message()), ::testing::HasSubstr("stopped responding"));
  EXPECT_TRUE(Window(grant.window)->closed());
  EXPECT_EQ(MustAcquire().window, WindowId(2));
}

TEST_F(PoolUpkeepTest, AWindowOverItsMemoryIsReplacedBeforeItCloses) {
  factory_.set_auto_start(false);
  pool_ = std::make_unique<Pool>(PoolOptions{.size = 1, .max_window_memory = 1000}, factory_,
                                 scheduler_, &observer_);
  pool_->Start();
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  pool_->ReportMemory({.windows = {{WindowId(1), 2000}}});
  EXPECT_THAT(observer_.events(), ElementsAre("w1 max_memory"));
  EXPECT_EQ(factory_.start_count(), 2);  // The replacement starts first...
  EXPECT_FALSE(Window(WindowId(1))->closed());
  EXPECT_EQ(pool_->Status().idle, 1);  // ...while the old one still serves.
  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  EXPECT_TRUE(Window(WindowId(1))->closed());
  EXPECT_EQ(MustAcquire().window, WindowId(2));
}

TEST_F(PoolUpkeepTest, ARetiringWindowThatIsLeasedClosesWhenItsLeaseEnds) {
  Make({.size = 1, .max_window_memory = 1000});
  Grant grant = MustAcquire();
  pool_->ReportMemory({.windows = {{WindowId(1), 2000}}});
  EXPECT_EQ(pool_->Status().idle, 1);  // The replacement.
  EXPECT_FALSE(Window(WindowId(1))->closed());
  Release(grant);
  EXPECT_TRUE(Window(WindowId(1))->closed());
  EXPECT_EQ(Window(WindowId(1))->reset_count(), 0);
  EXPECT_EQ(pool_->Status().idle, 1);
}

TEST_F(PoolUpkeepTest, OldWindowsAreReplacedOneAtATime) {
  factory_.set_auto_start(false);
  pool_ = std::make_unique<Pool>(PoolOptions{.size = 2,
                                             .max_window_age = absl::Hours(1),
                                             .upkeep_interval = absl::Seconds(1),
                                             .probe_interval = absl::Hours(10)},
                                 factory_, scheduler_, &observer_);
  pool_->Start();
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  scheduler_.Advance(absl::Hours(1));
  EXPECT_EQ(factory_.start_count(), 3);  // One replacement, not two.
  scheduler_.Advance(absl::Seconds(5));
  EXPECT_EQ(factory_.start_count(), 3);
  ASSERT_NE(factory_.CompleteStart(2), nullptr);
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(factory_.start_count(), 4);  // Then the next.
  EXPECT_EQ(observer_.events().size(), 2u);
}

TEST_F(PoolUpkeepTest, WhenMemoryIsShortTheLargestIdleWindowGoesAndNoneStarts) {
  Make({.size = 3, .refuse_when_memory_short = true});
  Grant held = MustAcquire();
  pool_->ReportMemory({.windows = {{WindowId(1), 900}, {WindowId(2), 500}, {WindowId(3), 700}},
                       .short_of_memory = true});
  EXPECT_THAT(observer_.events(), ElementsAre("w3 memory_pressure"));  // w1 is leased.
  pool_->ReportMemory({.short_of_memory = true});
  EXPECT_THAT(observer_.events(), ElementsAre("w3 memory_pressure", "w2 memory_pressure"));
  EXPECT_EQ(factory_.start_count(), 3);
  EXPECT_TRUE(pool_->Status().memory_short);
  AcquireResult* refused = Acquire();
  EXPECT_EQ(refused->grant.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused->grant.status().message()), ::testing::HasSubstr("memory"));
  pool_->ReportMemory({.short_of_memory = false});  // Recovered: back to size.
  EXPECT_EQ(factory_.start_count(), 5);
  EXPECT_EQ(pool_->Status().idle, 2);
  Release(held);
}

TEST_F(PoolUpkeepTest, TheSmallestIdleWindowIsLeasedFirst) {
  Make({.size = 2});
  pool_->ReportMemory({.windows = {{WindowId(1), 500u << 20}, {WindowId(2), 300u << 20}}});
  EXPECT_EQ(MustAcquire().window, WindowId(2));
}

TEST_F(PoolUpkeepTest, RepeatedFailedStartsAreReportedAsACrashLoop) {
  factory_.set_auto_start(false);
  pool_ = std::make_unique<Pool>(PoolOptions{.size = 1, .crash_loop_after = 2}, factory_,
                                 scheduler_, &observer_);
  pool_->Start();
  ASSERT_TRUE(factory_.FailStart(0, absl::InternalError("broken binary")));
  scheduler_.Advance(absl::Seconds(1));
  ASSERT_TRUE(factory_.FailStart(1, absl::InternalError("broken binary")));
  EXPECT_THAT(observer_.events(), ElementsAre("crash loop 2 500ms"));
  EXPECT_EQ(pool_->Status().consecutive_start_failures, 2);
}

class PoolProfileTest : public PoolTest {
 protected:
  AcquireOptions Profile(const std::string& name) {
    AcquireOptions options;
    options.profile = name;
    return options;
  }
};

TEST_F(PoolProfileTest, AProfilesWindowServesOneLeaseAtATimeAndStaysWarmWhenKept) {
  MakePool({.size = 1});
  AcquireResult* first = Acquire(absl::Minutes(1), Profile("alice"));
  EXPECT_THAT(factory_.start_profiles(), ::testing::ElementsAre("", "alice"));
  ASSERT_TRUE(first->grant.ok()) << first->grant.status();
  WindowId alice = first->grant->window;
  EXPECT_EQ(alice, WindowId(2));
  AcquireResult* second = Acquire(absl::Minutes(1), Profile("alice"));
  EXPECT_EQ(second->answers, 0);  // Waits for alice's window.
  EXPECT_EQ(factory_.start_count(), 2);
  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kKeep).ok());
  ASSERT_TRUE(second->grant.ok());
  EXPECT_EQ(second->grant->window, alice);
  EXPECT_EQ(Window(alice)->reset_count(), 0);  // Never reset: its data is the point.
  // Pool callers never get a profile's window.
  EXPECT_EQ(MustAcquire().window, WindowId(1));
}

TEST_F(PoolProfileTest, ReleasingAProfilesLeaseClosesItsWindowAndTheNextLeaseStartsOne) {
  MakePool({.size = 1});
  AcquireResult* first = Acquire(absl::Minutes(1), Profile("alice"));
  ASSERT_TRUE(first->grant.ok());
  ASSERT_TRUE(pool_->Release(first->grant->lease, ReleaseMode::kReset).ok());
  EXPECT_TRUE(Window(first->grant->window)->closed());
  EXPECT_EQ(pool_->Status().idle, 1);  // Only the pool's window.
  AcquireResult* again = Acquire(absl::Minutes(1), Profile("alice"));
  ASSERT_TRUE(again->grant.ok());
  EXPECT_EQ(again->grant->window, WindowId(3));
  EXPECT_THAT(factory_.start_profiles(), ::testing::ElementsAre("", "alice", "alice"));
}

TEST_F(PoolProfileTest, CallersOfAProfileWhoseWindowCannotStartHearWhy) {
  MakePool({.size = 1}, /*auto_start=*/false);
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  AcquireResult* first = Acquire(absl::Minutes(1), Profile("bob"));
  AcquireResult* second = Acquire(absl::Minutes(1), Profile("bob"));
  ASSERT_TRUE(factory_.FailStart(1, absl::InternalError("profile is broken")));
  EXPECT_EQ(first->grant.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(first->grant.status().message()), ::testing::HasSubstr("bob"));
  EXPECT_EQ(second->grant.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(factory_.start_count(), 2);  // No retry loop for a profile.
}

TEST_F(PoolProfileTest, AWarmProfileWindowClosesWhenUnused) {
  MakePool({.size = 1,
            .shrink_after = absl::Minutes(1),
            .upkeep_interval = absl::Seconds(1),
            .probe_interval = absl::Hours(1)});
  AcquireResult* lease = Acquire(absl::Minutes(1), Profile("alice"));
  ASSERT_TRUE(lease->grant.ok());
  ASSERT_TRUE(pool_->Release(lease->grant->lease, ReleaseMode::kKeep).ok());
  scheduler_.Advance(absl::Seconds(30));
  EXPECT_FALSE(Window(lease->grant->window)->closed());
  scheduler_.Advance(absl::Seconds(31));
  EXPECT_TRUE(Window(lease->grant->window)->closed());
  EXPECT_EQ(factory_.start_count(), 2);  // Not replaced.
}

TEST_F(PoolTest, LaunchesAreLimitedAndTakeTurnsInOrder) {
  MakePool({.size = 4, .max_starting = 2}, /*auto_start=*/false);
  // The first launches alone; all four count as starting.
  ASSERT_EQ(factory_.start_count(), 1);
  EXPECT_EQ(pool_->Status().starting, 4);

  // Once it serves, two at a time; a start that ends, ready or failed,
  // hands its turn to the next in line.
  ASSERT_NE(factory_.CompleteStart(0), nullptr);
  ASSERT_EQ(factory_.start_count(), 3);
  ASSERT_TRUE(factory_.FailStart(1, absl::InternalError("no profile")));
  ASSERT_EQ(factory_.start_count(), 4);
  EXPECT_LT(factory_.start_id(2).value(), factory_.start_id(3).value());

  // The failed window's replacement waits out its backoff, then its turn.
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(factory_.start_count(), 4);
  ASSERT_NE(factory_.CompleteStart(2), nullptr);
  EXPECT_EQ(factory_.start_count(), 5);
  ASSERT_NE(factory_.CompleteStart(3), nullptr);
  ASSERT_NE(factory_.CompleteStart(4), nullptr);
  EXPECT_EQ(pool_->Status().idle, 4);
  EXPECT_EQ(factory_.start_count(), 5);
}

TEST_F(PoolTest, LaunchesYieldToCommandsTheGateHoldsBack) {
  CommandGate gate({.initial_limit = 1, .adaptive = false}, scheduler_);
  MakePool({.size = 5, .upkeep_interval = absl::Seconds(1), .max_starting = 2},
           /*auto_start=*/false, &gate);
  ASSERT_NE(factory_.CompleteStart(0), nullptr);  // Serving from now on.
  ASSERT_EQ(factory_.start_count(), 3);

  // One command runs, the next waits for it: launches go one at a time.
  int started = 0;
  gate.Enter("a", absl::InfiniteFuture(), [&started](absl::Status) { ++started; });
  gate.Enter("b", absl::InfiniteFuture(), [&started](absl::Status) { ++started; });
  ASSERT_EQ(gate.stats().queued, 1);
  ASSERT_NE(factory_.CompleteStart(1), nullptr);
  EXPECT_EQ(factory_.start_count(), 3);  // One still launching: no other.
  ASSERT_NE(factory_.CompleteStart(2), nullptr);
  EXPECT_EQ(factory_.start_count(), 4);  // None launching: one more.

  // Nothing waits any more: the next upkeep goes back to two at a time.
  gate.Done("evaluate", std::nullopt);
  ASSERT_EQ(started, 2);
  EXPECT_EQ(factory_.start_count(), 4);
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(factory_.start_count(), 5);
}

TEST_F(PoolTest, WithoutALimitEveryWindowLaunchesAtOnce) {
  MakePool({.size = 4}, /*auto_start=*/false);
  EXPECT_EQ(factory_.start_count(), 4);
}

}  // namespace
}  // namespace foxpool::pool
