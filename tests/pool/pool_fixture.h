#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "tests/pool/fakes.h"

namespace foxpool::pool {

using ::foxpool::pool::testing::FakeScheduler;
using ::foxpool::pool::testing::FakeWindow;
using ::foxpool::pool::testing::FakeWindowFactory;

// The outcome of one Acquire, and how often its continuation ran (the pool
// promises exactly once).
struct AcquireResult {
  int answers = 0;
  absl::StatusOr<Grant> grant = absl::UnknownError("not answered");
};

class PoolTest : public ::testing::Test {
 protected:
  // Makes the pool and starts its windows. With `auto_start`, every window
  // starts (and goes idle) before this returns; otherwise the test completes
  // the starts through factory_.
  void MakePool(PoolOptions options, bool auto_start = true, const CommandGate* commands = nullptr,
                PoolObserver* observer = nullptr) {
    factory_.set_auto_start(auto_start);
    pool_ = std::make_unique<Pool>(options, factory_, scheduler_, observer, commands);
    pool_->Start();
  }

  // Acquires with a deadline `wait` from now (InfiniteDuration: no deadline).
  AcquireResult* Acquire(absl::Duration wait = absl::Minutes(1), AcquireOptions options = {},
                         Pool::WaitTicket* ticket = nullptr) {
    results_.push_back(std::make_unique<AcquireResult>());
    AcquireResult* result = results_.back().get();
    options.deadline = scheduler_.Now() + wait;
    Pool::WaitTicket t = pool_->Acquire(std::move(options), [result](absl::StatusOr<Grant> grant) {
      ++result->answers;
      result->grant = std::move(grant);
    });
    if (ticket != nullptr) *ticket = t;
    return result;
  }

  // Acquires a window that must be idle.
  Grant MustAcquire() {
    AcquireResult* result = Acquire();
    EXPECT_EQ(result->answers, 1) << "no idle window";
    EXPECT_TRUE(result->grant.ok()) << result->grant.status();
    return result->grant.ok() ? *result->grant : Grant{};
  }

  std::shared_ptr<FakeWindow> Window(WindowId id) {
    std::shared_ptr<FakeWindow> window = factory_.window(id);
    EXPECT_NE(window, nullptr) << "no window " << id.ToString();
    return window;
  }

  FakeScheduler scheduler_;
  FakeWindowFactory factory_;
  // Outlive the pool, whose destructor still answers waiters.
  std::vector<std::unique_ptr<AcquireResult>> results_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace foxpool::pool
