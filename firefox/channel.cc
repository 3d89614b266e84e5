#include "firefox/channel.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "pool/ids.h"

namespace foxpool::firefox {

SessionId SessionId::Random() { return SessionId(pool::RandomHex(16)); }

Channel::Channel(boost::asio::any_io_executor executor, SessionId id, std::string secret)
    : executor_(std::move(executor)), id_(std::move(id)), secret_(std::move(secret)) {}

Channel::~Channel() = default;

void Channel::SetListener(Listener listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

void Channel::SetEventSink(EventSink sink) {
  absl::MutexLock lock(&mu_);
  event_sink_ = std::move(sink);
}

bool Channel::VerifySecret(std::string_view secret) const {
  // Compare every byte whatever the first difference, so timing reveals
  // nothing of the secret.
  unsigned char diff = secret.size() != secret_.size();
  for (size_t i = 0; i < secret_.size(); ++i) {
    unsigned char theirs = i < secret.size() ? secret[i] : 0;
    diff |= static_cast<unsigned char>(theirs ^ secret_[i]);
  }
  return diff == 0;
}

absl::Status Channel::Attach(std::shared_ptr<Connection> connection) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("session is closed");
    if (connection_ != nullptr) {
      return absl::FailedPreconditionError("session already has a connection");
    }
    connection_ = std::move(connection);
  }
  Notify();
  return absl::OkStatus();
}

void Channel::Detach(const Connection* connection) {
  {
    absl::MutexLock lock(&mu_);
    if (connection_.get() != connection || connection == nullptr) return;
    connection_.reset();
  }
  FailAll(absl::AbortedError("the window's extension disconnected"));
  Notify();
}

void Channel::Notify() {
  // On the executor, never on the hub's stack, and with the state read when
  // the listener runs (a quick detach and re-attach reads as connected).
  boost::asio::post(executor_, [self = shared_from_this()] {
    Listener listener;
    bool connected;
    {
      absl::MutexLock lock(&self->mu_);
      listener = self->listener_;
      connected = self->connection_ != nullptr;
    }
    if (listener) listener(connected);
  });
}

void Channel::Close(absl::Status why) {
  std::shared_ptr<Connection> connection;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    connection = std::move(connection_);
    listener_ = nullptr;
  }
  if (connection != nullptr) connection->Close();
  FailAll(why);
}

void Channel::Call(std::string_view method, nlohmann::json params, absl::Time deadline, Done done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      refused = absl::AbortedError("the window was closed");
    } else if (connection_ == nullptr) {
      refused = absl::AbortedError("the window's extension is not connected");
    } else {
      uint64_t id = next_id_++;
      auto timer = std::make_unique<boost::asio::steady_timer>(executor_);
      absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
      timer->expires_after(absl::ToChronoNanoseconds(left));
      timer->async_wait([weak = weak_from_this(), id](boost::system::error_code ec) {
        if (ec) return;  // Cancelled: the response came first.
        if (auto self = weak.lock()) self->Expire(id);
      });
      pending_.emplace(id, Pending{std::move(done), std::move(timer)});
      nlohmann::json frame = {{"id", id}, {"method", method}, {"params", std::move(params)}};
      connection_->Send(frame.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  if (!refused.ok()) std::move(done)(refused);
}

void Channel::Expire(uint64_t id) {
  Done done;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    done = std::move(it->second.done);
    pending_.erase(it);
  }
  std::move(done)(absl::DeadlineExceededError("the window did not answer before the deadline"));
}

void Channel::FailAll(const absl::Status& why) {
  absl::flat_hash_map<uint64_t, Pending> failed;
  {
    absl::MutexLock lock(&mu_);
    failed.swap(pending_);
  }
  // In id order, so callers see failures in the order they called.
  std::vector<uint64_t> ids;
  for (auto& [id, pending] : failed) {
    pending.timer->cancel();
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) std::move(failed[id].done)(why);
}

void Channel::OnFrame(const nlohmann::json& frame) {
  auto id_it = frame.find("id");
  if (id_it == frame.end() || !id_it->is_number_unsigned()) {
    auto type = frame.find("type");
    auto event = frame.find("event");
    if (type == frame.end() || *type != "event" || event == frame.end() || !event->is_object()) {
      return;
    }
    EventSink sink;
    {
      absl::MutexLock lock(&mu_);
      sink = event_sink_;
    }
    if (sink) sink(*event);
    return;
  }
  uint64_t id = id_it->get<uint64_t>();
  Done done;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // Late answer to an expired request.
    done = std::move(it->second.done);
    it->second.timer->cancel();
    pending_.erase(it);
  }
  auto ok = frame.find("ok");
  if (ok != frame.end() && ok->is_boolean() && ok->get<bool>()) {
    auto result = frame.find("result");
    std::move(done)(result == frame.end() ? nlohmann::json() : *result);
  } else {
    auto error = frame.find("error");
    std::move(done)(StatusFromErrorFrame(error == frame.end() ? nlohmann::json::object() : *error));
  }
}

absl::Status StatusFromErrorFrame(const nlohmann::json& error) {
  static const std::pair<std::string_view, absl::StatusCode> kCodes[] = {
      {"CANCELLED", absl::StatusCode::kCancelled},
      {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
      {"DEADLINE_EXCEEDED", absl::StatusCode::kDeadlineExceeded},
      {"NOT_FOUND", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists},
      {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
      {"RESOURCE_EXHAUSTED", absl::StatusCode::kResourceExhausted},
      {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition},
      {"ABORTED", absl::StatusCode::kAborted},
      {"OUT_OF_RANGE", absl::StatusCode::kOutOfRange},
      {"UNIMPLEMENTED", absl::StatusCode::kUnimplemented},
      {"INTERNAL", absl::StatusCode::kInternal},
      {"UNAVAILABLE", absl::StatusCode::kUnavailable},
  };
  auto text = [&](const char* key) {
    if (!error.is_object()) return std::string();
    auto it = error.find(key);
    return it != error.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string code = text("code");
  std::string message = text("message");
  if (message.empty()) message = "the extension reported an error";
  for (const auto& [name, value] : kCodes) {
    if (code == name) return absl::Status(value, message);
  }
  return absl::UnknownError(message);
}

}  // namespace foxpool::firefox
