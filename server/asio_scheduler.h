#pragma once

#include "absl/time/clock.h"
#include "boost/asio/io_context.hpp"
#include "pool/scheduler.h"

namespace foxpool::server {

// pool::Scheduler on the wall clock and asio timers. Thread-safe; timers run
// on the io_context's threads and are dropped when it stops.
class AsioScheduler : public pool::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io) {}
  absl::Time Now() override { return absl::Now(); }
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace foxpool::server
