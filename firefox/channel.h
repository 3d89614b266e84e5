#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/steady_timer.hpp"
#include "nlohmann/json.hpp"

namespace foxpool::firefox {

// Identifies one window's extension on the hub; random, never reused.
class SessionId {
 public:
  SessionId() = default;
  explicit SessionId(std::string value) : value_(std::move(value)) {}
  static SessionId Random();
  const std::string& value() const { return value_; }
  friend bool operator==(const SessionId& a, const SessionId& b) { return a.value_ == b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const SessionId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  std::string value_;
};

// The transport a channel speaks through: one authenticated WebSocket.
class Connection {
 public:
  virtual ~Connection() = default;
  // Queues one text frame. Thread-safe; never blocks.
  virtual void Send(std::string text) = 0;
  // Closes the connection. Thread-safe; idempotent.
  virtual void Close() = 0;
};

// One window's request/response channel to its extension.
//
// Correlates commands `{id, method, params}` with responses
// `{id, ok, result | error}`; every request has a deadline; when the
// connection closes every pending request fails at once. Thread-safe
// (a mutex guards the small state; callbacks run without it held).
class Channel : public std::enable_shared_from_this<Channel> {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<nlohmann::json>) &&>;
  using Listener = std::function<void(bool connected)>;

  Channel(boost::asio::any_io_executor executor, SessionId id, std::string secret);
  ~Channel();

  const SessionId& id() const { return id_; }

  // Called with true when the extension connects, false when it goes.
  void SetListener(Listener listener);

  // Called with the `event` object of every event frame
  // ({"type": "event", "event": {...}}), on the hub's thread; null drops
  // them.
  using EventSink = std::function<void(const nlohmann::json& event)>;
  void SetEventSink(EventSink sink);

  // Sends a command; `done` is called exactly once: with the result, the
  // extension's error, DEADLINE_EXCEEDED, or ABORTED when not connected or
  // the connection closes first.
  void Call(std::string_view method, nlohmann::json params, absl::Time deadline, Done done);

  // --- for the hub ---
  // Constant-time comparison with this session's secret.
  bool VerifySecret(std::string_view secret) const;
  // Binds an authenticated connection. FAILED_PRECONDITION when one is
  // already bound or the channel is closed.
  absl::Status Attach(std::shared_ptr<Connection> connection);
  // Unbinds `connection` (if it is the bound one) and fails pending requests.
  void Detach(const Connection* connection);
  // A frame from the extension: a response or an event.
  void OnFrame(const nlohmann::json& frame);
  // Fails pending requests with `why`, closes the connection, refuses any
  // new one.
  void Close(absl::Status why);

 private:
  struct Pending {
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void Expire(uint64_t id);
  void FailAll(const absl::Status& why);
  void Notify();

  boost::asio::any_io_executor executor_;
  const SessionId id_;
  const std::string secret_;

  absl::Mutex mu_;
  Listener listener_ ABSL_GUARDED_BY(mu_);
  EventSink event_sink_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Connection> connection_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
};

// Maps an error frame's code ("INVALID_ARGUMENT") and message to a status.
absl::Status StatusFromErrorFrame(const nlohmann::json& error);

}  // namespace foxpool::firefox
