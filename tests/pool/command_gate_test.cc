// The command gate: room for `limit` commands, the rest in order per lease
// with leases taking turns, until their deadline; and a limit that follows
// how latencies inflate.

#include "pool/command_gate.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pool/fakes.h"

namespace foxpool::pool {
namespace {

using ::testing::ElementsAre;

class CommandGateTest : public ::testing::Test {
 protected:
  void Make(CommandGate::Options options) {
    gate_ = std::make_unique<CommandGate>(options, scheduler_);
  }

  // Enters `name` on `lease`; records it in started_ when let in and in
  // expired_ when its deadline passes first.
  void Enter(const std::string& lease, const std::string& name,
             absl::Duration wait = absl::Minutes(1)) {
    gate_->Enter(lease, scheduler_.Now() + wait, [this, name](absl::Status admitted) {
      (admitted.ok() ? started_ : expired_).push_back(name);
    });
  }

  testing::FakeScheduler scheduler_;
  std::unique_ptr<CommandGate> gate_;
  std::vector<std::string> started_;
  std::vector<std::string> expired_;
};

TEST_F(CommandGateTest, CommandsBeyondTheLimitWaitForRoom) {
  Make({.initial_limit = 2, .adaptive = false});
  Enter("a", "a1");
  Enter("b", "b1");
  Enter("c", "c1");
  EXPECT_THAT(started_, ElementsAre("a1", "b1"));
  EXPECT_EQ(gate_->stats().queued, 1);
  gate_->Done("evaluate", absl::Milliseconds(2));
  EXPECT_THAT(started_, ElementsAre("a1", "b1", "c1"));
  EXPECT_EQ(gate_->stats().in_flight, 2);
  EXPECT_EQ(gate_->stats().queued, 0);
}

TEST_F(CommandGateTest, EachLeaseKeepsItsOrderAndLeasesTakeTurns) {
  Make({.initial_limit = 1, .adaptive = false});
  Enter("a", "a1");
  Enter("a", "a2");
  Enter("a", "a3");
  Enter("b", "b1");
  Enter("c", "c1");
  for (int i = 0; i < 4; ++i) gate_->Done("evaluate", std::nullopt);
  // A busy lease does not starve the others.
  EXPECT_THAT(started_, ElementsAre("a1", "a2", "b1", "c1", "a3"));
}

TEST_F(CommandGateTest, NewcomersQueueBehindThoseWaiting) {
  Make({.initial_limit = 1, .adaptive = false});
  Enter("a", "a1");
  Enter("b", "b1");
  gate_->Done("evaluate", std::nullopt);  // b1 runs.
  Enter("c", "c1");                       // No room: waits even though it is new.
  EXPECT_THAT(started_, ElementsAre("a1", "b1"));
  EXPECT_EQ(gate_->stats().queued, 1);
}

TEST_F(CommandGateTest, ACommandThatWaitsPastItsDeadlineFailsAndFreesItsPlace) {
  Make({.initial_limit = 1, .adaptive = false});
  Enter("a", "a1");
  Enter("b", "b1", absl::Seconds(1));
  Enter("c", "c1", absl::Seconds(5));
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_THAT(expired_, ElementsAre("b1"));
  EXPECT_EQ(gate_->stats().queued, 1);
  gate_->Done("evaluate", std::nullopt);
  EXPECT_THAT(started_, ElementsAre("a1", "c1"));
  scheduler_.Advance(absl::Seconds(10));  // c1's timer finds it let in already.
  EXPECT_THAT(expired_, ElementsAre("b1"));
}

// Keeps the gate full for `rounds` completions, each taking `took`.
void Saturate(CommandGate& gate, int rounds, absl::Duration took, absl::Time deadline) {
  for (int i = 0; i < rounds; ++i) {
    while (gate.stats().in_flight < gate.stats().limit) {
      gate.Enter("l" + std::to_string(i % 7), deadline, [](absl::Status) {});
    }
    gate.Done("find_element", took);
  }
}

TEST_F(CommandGateTest, TheLimitGrowsWhileLatenciesStayAtTheirBest) {
  Make({.initial_limit = 2, .min_limit = 1, .max_limit = 8});
  Saturate(*gate_, 200, absl::Milliseconds(2), scheduler_.Now() + absl::Hours(1));
  EXPECT_EQ(gate_->stats().limit, 8);
}

TEST_F(CommandGateTest, TheLimitShrinksWhenLatenciesInflate) {
  Make({.initial_limit = 8, .min_limit = 2, .max_limit = 8});
  absl::Time deadline = scheduler_.Now() + absl::Hours(1);
  Saturate(*gate_, 20, absl::Milliseconds(2), deadline);
  Saturate(*gate_, 200, absl::Milliseconds(10), deadline);
  EXPECT_EQ(gate_->stats().limit, 2);
}

TEST_F(CommandGateTest, AnIdleGateDoesNotGrow) {
  Make({.initial_limit = 2, .min_limit = 1, .max_limit = 8});
  for (int i = 0; i < 100; ++i) {  // One command at a time: the limit was never reached.
    Enter("a", "x");
    gate_->Done("find_element", absl::Milliseconds(2));
  }
  EXPECT_EQ(gate_->stats().limit, 2);
}

}  // namespace
}  // namespace foxpool::pool
