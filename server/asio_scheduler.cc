#include "server/asio_scheduler.h"

#include <memory>

#include "boost/asio/steady_timer.hpp"

namespace foxpool::server {

void AsioScheduler::RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_);
  timer->expires_after(absl::ToChronoNanoseconds(std::max(delay, absl::ZeroDuration())));
  timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) mutable {
    if (!ec) fn();
  });
}

}  // namespace foxpool::server
