#include "firefox/hub.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "boost/asio/dispatch.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "spdlog/spdlog.h"

namespace foxpool::firefox {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// One WebSocket connection from an extension (or from anyone else on the
// machine). Lives on its own strand; keeps a read pending at all times so
// that timeouts and closes are noticed, and one write in flight.
class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  // `pending` is the hub's count of connections yet to say hello, which
  // admitted this one (see Hub::AdmitPending). Shared, not reached through
  // the hub: a session whose handler is still queued when the io_context
  // is destroyed is destroyed after the hub.
  Session(tcp::socket&& socket, Hub& hub, std::shared_ptr<std::atomic<int>> pending)
      : ws_(std::move(socket)),
        hello_timer_(ws_.get_executor()),
        hub_(hub),
        pending_(std::move(pending)) {}
  ~Session() override { HelloDone(); }

  void Run() {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] { self->OnRun(); });
  }

  void Send(std::string text) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
      self->queue_.push_back(std::move(text));
      if (self->queue_.size() == 1) self->DoWrite();
    });
  }

  void Close() override {
    asio::post(ws_.get_executor(),
               [self = shared_from_this()] { self->CloseNow(websocket::close_code::normal); });
  }

 private:
  void OnRun() {
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = std::chrono::seconds(20);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(hub_.options().max_frame_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "foxpool-hub"); }));
    hello_timer_.expires_after(absl::ToChronoNanoseconds(hub_.options().hello_timeout));
    hello_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->channel_ == nullptr) self->Refuse(Refusal::kNoHello, "no hello in time");
    });
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->hello_timer_.cancel();
        // Not a WebSocket handshake (a page's fetch, a port scan), unless the
        // hello timer already refused it.
        if (!self->closing_) {
          self->hub_.CountRefused(Refusal::kMalformed);
          spdlog::warn("hub: refused a connection: not a WebSocket handshake ({})", ec.message());
        }
        return;
      }
      self->accepted_ = true;
      if (self->closing_) {  // The hello timer fired during the handshake.
        self->closing_ = false;
        self->CloseNow(websocket::close_code::policy_error);
        return;
      }
      self->DoRead();
    });
  }

  void DoRead() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      hello_timer_.cancel();
      if (ec == websocket::error::message_too_big) {
        // Beast has already failed the connection (close code 1009).
        hub_.CountRefused(Refusal::kOversized);
        spdlog::warn("hub: closed a connection{} that sent a frame above {} bytes",
                     channel_ != nullptr ? " of session " + channel_->id().value() : "",
                     hub_.options().max_frame_bytes);
      }
      if (channel_ != nullptr) channel_->Detach(this);
      return;
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (channel_ == nullptr) {
      if (!Authenticate(text)) return;
    } else if (!ws_.got_text()) {
      hub_.CountRefused(Refusal::kBinary);
      spdlog::warn("hub: session {} sent a binary frame; dropped", channel_->id().value());
    } else if (absl::StatusOr<nlohmann::json> frame = ParseFrame(text); frame.ok()) {
      auto type = frame->find("type");
      if (type != frame->end() && *type == "blocked" && frame->contains("totals")) {
        hub_.CountBlocked(channel_->id(), (*frame)["totals"]);
      } else {
        channel_->OnFrame(*frame);
      }
    } else {
      hub_.CountRefused(Refusal::kMalformed);
      spdlog::warn("hub: session {} sent a frame that was dropped: {}", channel_->id().value(),
                   std::string(frame.status().message()));
    }
    DoRead();
  }

  bool Authenticate(const std::string& text) {
    if (closing_) return false;
    if (!ws_.got_text()) {
      Refuse(Refusal::kBinary, "the first frame is binary");
      return false;
    }
    absl::StatusOr<Hello> hello = ParseHello(text);
    if (!hello.ok()) {
      Refuse(Refusal::kMalformed, std::string(hello.status().message()));
      return false;
    }
    Refusal why = Refusal::kUnknownSession;
    std::shared_ptr<Channel> channel = hub_.Authenticate(*hello, why);
    if (channel == nullptr) {
      Refuse(why, why == Refusal::kWrongSecret ? "wrong secret" : "unknown session");
      return false;
    }
    if (absl::Status attached = channel->Attach(shared_from_this()); !attached.ok()) {
      Refuse(Refusal::kDuplicate, std::string(attached.message()));
      return false;
    }
    channel_ = std::move(channel);
    HelloDone();
    hello_timer_.cancel();
    queue_.push_front(R"({"type":"welcome"})");
    if (queue_.size() == 1) DoWrite();
    return true;
  }

  void Refuse(Refusal reason, const std::string& why) {
    hub_.CountRefused(reason);
    spdlog::warn("hub: refused a connection: {}", why);
    CloseNow(websocket::close_code::policy_error);
  }

  void CloseNow(websocket::close_code code) {
    if (closing_) return;
    closing_ = true;
    hello_timer_.cancel();
    queue_.clear();
    if (!accepted_) return;  // OnRun's accept handler closes it.
    ws_.async_close(code, [self = shared_from_this()](beast::error_code) {
      // The pending read completes with an error and detaches the channel.
    });
  }

  void DoWrite() {
    if (closing_ || queue_.empty()) return;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return;  // The read side sees the failure too.
                      if (!self->queue_.empty()) self->queue_.pop_front();
                      self->DoWrite();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer hello_timer_;
  Hub& hub_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::shared_ptr<Channel> channel_;
  bool accepted_ = false;
  bool closing_ = false;
  // Counted in the hub's connections yet to say hello; null once it has.
  std::shared_ptr<std::atomic<int>> pending_;

  void HelloDone() {
    if (pending_ != nullptr) pending_->fetch_sub(1);
    pending_.reset();
  }
};

}  // namespace

Hub::Hub(boost::asio::io_context& io, HubOptions options)
    : io_(io), options_(options), acceptor_(asio::make_strand(io)) {}

Hub::~Hub() {
  // By now the io_context no longer runs (see the header), so the acceptor
  // may be closed from here.
  beast::error_code ignored;
  acceptor_.close(ignored);
}

absl::Status Hub::Listen() {
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        "hub: cannot listen on 127.0.0.1:" + std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  return absl::OkStatus();
}

void Hub::DoAccept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec && AdmitPending()) {
      std::make_shared<Session>(std::move(socket), *this, pending_)->Run();
    } else if (!ec) {
      CountRefused(Refusal::kTooManyPending);
      spdlog::warn("hub: refused a connection: {} connections have yet to say hello",
                   options_.max_pending_connections);
      socket.close(ec);
    }
    DoAccept();
  });
}

std::shared_ptr<Channel> Hub::Expect(const SessionId& id, std::string secret) {
  auto channel = std::make_shared<Channel>(io_.get_executor(), id, std::move(secret));
  absl::MutexLock lock(&mu_);
  sessions_[id] = channel;
  return channel;
}

void Hub::Forget(const SessionId& id, absl::Status why) {
  std::shared_ptr<Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    channel = std::move(it->second);
    sessions_.erase(it);
    blocked_seen_.erase(id);
  }
  channel->Close(std::move(why));
}

std::shared_ptr<Channel> Hub::Authenticate(const Hello& hello, Refusal& why) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(SessionId(hello.session));
  if (it == sessions_.end()) {
    why = Refusal::kUnknownSession;
    return nullptr;
  }
  if (!it->second->VerifySecret(hello.secret)) {
    why = Refusal::kWrongSecret;
    return nullptr;
  }
  return it->second;
}

void Hub::CountRefused(Refusal reason) {
  absl::MutexLock lock(&mu_);
  ++refused_[static_cast<int>(reason)];
}

void Hub::CountBlocked(const SessionId& id, const nlohmann::json& totals) {
  if (!totals.is_object()) return;
  absl::MutexLock lock(&mu_);
  if (!sessions_.contains(id)) return;
  std::map<std::string, int64_t>& seen = blocked_seen_[id];
  for (const char* reason : kBlockedReasons) {
    auto total = totals.find(reason);
    if (total == totals.end() || !total->is_number_unsigned()) continue;
    int64_t now = static_cast<int64_t>(std::min<uint64_t>(total->get<uint64_t>(), INT64_MAX));
    int64_t& before = seen[reason];
    if (now <= before) continue;
    blocked_[reason] += now - before;
    before = now;
  }
}

std::map<std::string, int64_t> Hub::blocked() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int64_t> by_reason;
  for (const char* reason : kBlockedReasons) {
    auto it = blocked_.find(reason);
    by_reason[reason] = it == blocked_.end() ? 0 : it->second;
  }
  return by_reason;
}

RefusalCounts Hub::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

int64_t Hub::refused_total() const {
  int64_t total = 0;
  for (int64_t n : refused()) total += n;
  return total;
}

bool Hub::AdmitPending() {
  int n = pending_->load();
  do {
    if (n >= options_.max_pending_connections) return false;
  } while (!pending_->compare_exchange_weak(n, n + 1));
  return true;
}

void Hub::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  absl::flat_hash_map<SessionId, std::shared_ptr<Channel>> sessions;
  {
    absl::MutexLock lock(&mu_);
    sessions.swap(sessions_);
  }
  for (auto& [id, channel] : sessions) {
    channel->Close(absl::UnavailableError("the hub stopped"));
  }
}

}  // namespace foxpool::firefox
