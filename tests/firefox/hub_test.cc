// The hub with real WebSocket clients: those that prove a session drive it;
// those that do not (a web page guessing at ws://127.0.0.1:PORT) get nothing.

#include "firefox/hub.h"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::firefox {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

// A synchronous WebSocket client with a receive timeout, so that a broken
// hub fails the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : ws_(io_) {
    ws_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    timeval timeout{5, 0};
    setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ws_.handshake("127.0.0.1", "/");
  }

  void Send(const std::string& text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
  }
  void SendBinary(const std::string& bytes) {
    ws_.binary(true);
    ws_.write(asio::buffer(bytes));
  }

  // The next text frame, or an empty optional when the hub closed the
  // connection (or nothing came within the timeout).
  std::optional<nlohmann::json> Read() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      closed_by_peer_ = ec == websocket::error::closed;
      return std::nullopt;
    }
    return nlohmann::json::parse(beast::buffers_to_string(buffer.data()));
  }

  bool Hello(const std::string& session, const std::string& secret) {
    Send(nlohmann::json{{"type", "hello"}, {"session", session}, {"secret", secret}}.dump());
    std::optional<nlohmann::json> reply = Read();
    return reply.has_value() && (*reply)["type"] == "welcome";
  }

  void Close() {
    beast::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
  }

  bool closed_by_peer() const { return closed_by_peer_; }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  bool closed_by_peer_ = false;
};

// Waits for a Channel::Call's completion.
struct CallResult {
  absl::Notification done;
  absl::StatusOr<nlohmann::json> result = absl::UnknownError("not done");
  Channel::Done Callback() {
    return [this](absl::StatusOr<nlohmann::json> r) {
      result = std::move(r);
      done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(5)) {
    return done.WaitForNotificationWithTimeout(timeout);
  }
};

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override { StartHub(HubOptions{}); }

  void StartHub(HubOptions options) {
    hub_ = std::make_unique<Hub>(io_, options);
    ASSERT_TRUE(hub_->Listen().ok());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    channel_ = hub_->Expect(session_, kSecret);
    channel_->SetListener([this](bool connected) {
      absl::MutexLock lock(&mu_);
      transitions_.push_back(connected);
    });
  }

  void TearDown() override {
    hub_->Stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Waits until the listener has seen `count` transitions; returns them.
  std::vector<bool> Transitions(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return transitions_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
    return transitions_;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::unique_ptr<Hub> hub_;
  SessionId session_{"session-1"};
  std::shared_ptr<Channel> channel_;
  absl::Mutex mu_;
  std::vector<bool> transitions_ ABSL_GUARDED_BY(mu_);
};

TEST_F(HubTest, AnAuthenticatedClientReceivesCommandsAndAnswersThem) {
  Client client(hub_->port());
  ASSERT_TRUE(client.Hello(session_.value(), kSecret));
  EXPECT_EQ(Transitions(1), std::vector<bool>{true});

  CallResult ok;
  channel_->Call("ping", {{"x", 1}}, absl::Now() + absl::Seconds(5), ok.Callback());
  std::optional<nlohmann::json> command = client.Read();
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ((*command)["method"], "ping");
  EXPECT_EQ((*command)["params"]["x"], 1);
  client.Send(
      nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", {{"pong", true}}}}.dump());
  ASSERT_TRUE(ok.Wait());
  ASSERT_TRUE(ok.result.ok()) << ok.result.status();
  EXPECT_EQ((*ok.result)["pong"], true);

  CallResult failed;
  channel_->Call("evaluate", nlohmann::json::object(), absl::Now() + absl::Seconds(5),
                 failed.Callback());
  command = client.Read();
  ASSERT_TRUE(command.has_value());
  client.Send(nlohmann::json{{"id", (*command)["id"]},
                             {"ok", false},
                             {"error", {{"code", "INVALID_ARGUMENT"}, {"message", "bad"}}}}
                  .dump());
  ASSERT_TRUE(failed.Wait());
  EXPECT_EQ(failed.result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.result.status().message(), "bad");
  EXPECT_EQ(hub_->refused_total(), 0);
}

TEST_F(HubTest, EventFramesReachTheEventSinkAndNothingElse) {
  absl::Mutex mu;
  std::vector<nlohmann::json> events;
  channel_->SetEventSink([&](const nlohmann::json& event) {
    absl::MutexLock lock(&mu);
    events.push_back(event);
  });
  Client client(hub_->port());
  ASSERT_TRUE(client.Hello(session_.value(), kSecret));
  // Malformed and unknown frames are dropped; only event objects count.
  client.Send(R"({"type": "event", "event": "not an object"})");
  client.Send(R"({"type": "other", "event": {"kind": "X"}})");
  client.Send(R"({"type": "event", "event": {"kind": "KIND_CONSOLE", "text": "one"}})");
  client.Send(R"({"type": "event", "event": {"kind": "KIND_PAGE_ERROR", "text": "two"}})");
  {
    absl::MutexLock lock(&mu);
    auto two = [&] { return events.size() >= 2; };
    mu.AwaitWithTimeout(absl::Condition(&two), absl::Seconds(5));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0]["text"], "one");
    EXPECT_EQ(events[1]["kind"], "KIND_PAGE_ERROR");
  }
  // With the sink removed, events are dropped; commands still work.
  channel_->SetEventSink(nullptr);
  client.Send(R"({"type": "event", "event": {"kind": "KIND_CONSOLE", "text": "three"}})");
  CallResult ok;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), ok.Callback());
  std::optional<nlohmann::json> command = client.Read();
  ASSERT_TRUE(command.has_value());
  client.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", {}}}.dump());
  ASSERT_TRUE(ok.Wait());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(events.size(), 2u);
}

TEST_F(HubTest, BlockedRequestTotalsAddUpAcrossReportsAndSessions) {
  std::shared_ptr<Channel> other = hub_->Expect(SessionId("session-2"), kSecret);
  Client first(hub_->port());
  ASSERT_TRUE(first.Hello(session_.value(), kSecret));
  Client second(hub_->port());
  ASSERT_TRUE(second.Hello("session-2", kSecret));
  first.Send(R"({"type": "blocked", "totals": {"private_network": 2}})");
  // Running totals: only what grew counts; a total that shrinks, an unknown
  // reason and a non-number are ignored.
  first.Send(R"({"type": "blocked", "totals": {"private_network": 5, "scheme": 1}})");
  first.Send(R"({"type": "blocked", "totals": {"private_network": 4, "made_up": 9}})");
  first.Send(R"({"type": "blocked", "totals": {"unresolved": "many", "scheme": -3}})");
  second.Send(R"({"type": "blocked", "totals": {"private_network": 1, "unresolved": 2}})");
  // Frames on a connection are handled in order: an answered call follows them.
  for (auto [client, channel] : {std::pair{&first, channel_}, std::pair{&second, other}}) {
    CallResult call;
    channel->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5),
                  call.Callback());
    std::optional<nlohmann::json> command = client->Read();
    ASSERT_TRUE(command.has_value());
    client->Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", {}}}.dump());
    ASSERT_TRUE(call.Wait());
  }
  using Totals = std::map<std::string, int64_t>;
  EXPECT_EQ(hub_->blocked(), (Totals{{"private_network", 6}, {"scheme", 1}, {"unresolved", 2}}));
  EXPECT_EQ(hub_->refused_total(), 0);
  // A forgotten session's totals stay counted.
  hub_->Forget(SessionId("session-2"), absl::CancelledError("closed"));
  EXPECT_EQ(hub_->blocked()["unresolved"], 2);
}

TEST_F(HubTest, ClientsThatCannotProveTheSessionAreRefusedAndHearNothing) {
  struct Attempt {
    const char* what;
    std::string first_frame;
    Refusal reason;
    bool binary = false;
  };
  std::vector<Attempt> attempts = {
      {"wrong secret",
       nlohmann::json{{"type", "hello"}, {"session", session_.value()}, {"secret", "guess"}}.dump(),
       Refusal::kWrongSecret},
      {"secret prefix",
       nlohmann::json{{"type", "hello"},
                      {"session", session_.value()},
                      {"secret", std::string(kSecret).substr(0, 31)}}
           .dump(),
       Refusal::kWrongSecret},
      {"unknown session",
       nlohmann::json{{"type", "hello"}, {"session", "other"}, {"secret", kSecret}}.dump(),
       Refusal::kUnknownSession},
      {"not JSON", "hello?", Refusal::kMalformed},
      {"a command first", nlohmann::json{{"id", 1}, {"ok", true}, {"result", nullptr}}.dump(),
       Refusal::kMalformed},
      {"secret as a number",
       nlohmann::json{{"type", "hello"}, {"session", session_.value()}, {"secret", 1}}.dump(),
       Refusal::kMalformed},
      {"the right hello, binary",
       nlohmann::json{{"type", "hello"}, {"session", session_.value()}, {"secret", kSecret}}.dump(),
       Refusal::kBinary, /*binary=*/true},
  };
  int refused = 0;
  for (const Attempt& attempt : attempts) {
    SCOPED_TRACE(attempt.what);
    int64_t before = hub_->refused(attempt.reason);
    Client intruder(hub_->port());
    if (attempt.binary) {
      intruder.SendBinary(attempt.first_frame);
    } else {
      intruder.Send(attempt.first_frame);
    }
    // Whatever is pending on the channel never reaches the intruder.
    CallResult call;
    channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5),
                   call.Callback());
    EXPECT_EQ(intruder.Read(), std::nullopt);
    EXPECT_TRUE(intruder.closed_by_peer());
    ASSERT_TRUE(call.Wait());
    EXPECT_EQ(call.result.status().code(), absl::StatusCode::kAborted);
    EXPECT_THAT(call.result.status().message(), HasSubstr("not connected"));
    EXPECT_EQ(hub_->refused_total(), ++refused);
    EXPECT_EQ(hub_->refused(attempt.reason), before + 1);
  }
}

TEST_F(HubTest, ASecondConnectionForALiveSessionIsRefused) {
  Client owner(hub_->port());
  ASSERT_TRUE(owner.Hello(session_.value(), kSecret));
  Client second(hub_->port());
  EXPECT_FALSE(second.Hello(session_.value(), kSecret));
  EXPECT_TRUE(second.closed_by_peer());
  EXPECT_EQ(hub_->refused_total(), 1);
  EXPECT_EQ(hub_->refused(Refusal::kDuplicate), 1);

  CallResult call;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), call.Callback());
  std::optional<nlohmann::json> command = owner.Read();
  ASSERT_TRUE(command.has_value());
  owner.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", 7}}.dump());
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(*call.result, 7);
}

TEST_F(HubTest, ACallWithoutAnAnswerFailsAtItsDeadline) {
  Client client(hub_->port());
  ASSERT_TRUE(client.Hello(session_.value(), kSecret));
  CallResult call;
  absl::Time start = absl::Now();
  channel_->Call("ping", nlohmann::json::object(), start + absl::Milliseconds(200),
                 call.Callback());
  std::optional<nlohmann::json> command = client.Read();
  ASSERT_TRUE(command.has_value());
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(call.result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  // A late answer is dropped, and the channel still works.
  client.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", 1}}.dump());
  CallResult next;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), next.Callback());
  command = client.Read();
  ASSERT_TRUE(command.has_value());
  client.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", 2}}.dump());
  ASSERT_TRUE(next.Wait());
  EXPECT_EQ(*next.result, 2);
}

TEST_F(HubTest, ALostConnectionFailsPendingCallsAtOnceAndTheSessionMayReconnect) {
  {
    Client client(hub_->port());
    ASSERT_TRUE(client.Hello(session_.value(), kSecret));
    CallResult call;
    absl::Time start = absl::Now();
    channel_->Call("ping", nlohmann::json::object(), start + absl::Seconds(30), call.Callback());
    ASSERT_TRUE(client.Read().has_value());
    client.Close();
    ASSERT_TRUE(call.Wait());
    EXPECT_EQ(call.result.status().code(), absl::StatusCode::kAborted);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  }
  EXPECT_EQ(Transitions(2), (std::vector<bool>{true, false}));

  Client again(hub_->port());
  ASSERT_TRUE(again.Hello(session_.value(), kSecret));
  EXPECT_EQ(Transitions(3), (std::vector<bool>{true, false, true}));
  CallResult call;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), call.Callback());
  std::optional<nlohmann::json> command = again.Read();
  ASSERT_TRUE(command.has_value());
  again.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", "back"}}.dump());
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(*call.result, "back");
}

TEST_F(HubTest, ForgetClosesTheConnectionAndFailsPendingCallsWithTheReason) {
  Client client(hub_->port());
  ASSERT_TRUE(client.Hello(session_.value(), kSecret));
  CallResult call;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(30),
                 call.Callback());
  ASSERT_TRUE(client.Read().has_value());
  hub_->Forget(session_, absl::AbortedError("Firefox killed by signal 9 (SIGKILL)"));
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(call.result.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(call.result.status().message(), HasSubstr("SIGKILL"));
  EXPECT_EQ(client.Read(), std::nullopt);
  EXPECT_TRUE(client.closed_by_peer());
  // A forgotten session cannot come back.
  Client again(hub_->port());
  EXPECT_FALSE(again.Hello(session_.value(), kSecret));
}

TEST_F(HubTest, VerifySecretAcceptsOnlyTheExactSecret) {
  EXPECT_TRUE(channel_->VerifySecret(kSecret));
  EXPECT_FALSE(channel_->VerifySecret(""));
  EXPECT_FALSE(channel_->VerifySecret(std::string(kSecret).substr(0, 31)));
  EXPECT_FALSE(channel_->VerifySecret(std::string(kSecret) + "0"));
  std::string flipped = kSecret;
  flipped[31] = 'e';
  EXPECT_FALSE(channel_->VerifySecret(flipped));
}

TEST(HubTimeoutTest, AClientThatSaysNothingIsDropped) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread thread([&] { io.run(); });
  {
    Hub hub(io, HubOptions{.hello_timeout = absl::Milliseconds(200)});
    ASSERT_TRUE(hub.Listen().ok());
    Client silent(hub.port());
    absl::Time start = absl::Now();
    EXPECT_EQ(silent.Read(), std::nullopt);
    EXPECT_TRUE(silent.closed_by_peer());
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
    EXPECT_EQ(hub.refused_total(), 1);
    EXPECT_EQ(hub.refused(Refusal::kNoHello), 1);
    hub.Stop();
    work.reset();
    io.stop();
    thread.join();
  }
}

}  // namespace
}  // namespace foxpool::firefox

namespace foxpool::firefox {
namespace {

// Polls `condition` until it holds or 5 s pass; the hub counts on its own
// threads.
bool Eventually(const std::function<bool()>& condition) {
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// A hub with small limits, to reach them cheaply.
class HubLimitsTest : public HubTest {
 protected:
  void SetUp() override {
    StartHub(HubOptions{.max_frame_bytes = 4096, .max_pending_connections = 2});
  }
};

TEST_F(HubLimitsTest, AnOversizedFirstFrameIsRefusedAndCounted) {
  Client intruder(hub_->port());
  intruder.Send(std::string(5000, 'x'));
  EXPECT_EQ(intruder.Read(), std::nullopt);
  EXPECT_TRUE(Eventually([&] { return hub_->refused(Refusal::kOversized) == 1; }));
  // The session is still there for its real extension.
  Client owner(hub_->port());
  EXPECT_TRUE(owner.Hello(session_.value(), kSecret));
}

TEST_F(HubLimitsTest, AnAuthenticatedConnectionThatSendsTooMuchIsClosedAndMayReconnect) {
  Client owner(hub_->port());
  ASSERT_TRUE(owner.Hello(session_.value(), kSecret));
  CallResult call;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), call.Callback());
  ASSERT_TRUE(owner.Read().has_value());
  owner.Send(nlohmann::json{{"id", 1}, {"ok", true}, {"result", std::string(5000, 'x')}}.dump());
  // The hub closes (1009); reading completes the closing handshake.
  EXPECT_EQ(owner.Read(), std::nullopt);
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(call.result.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(Eventually([&] { return hub_->refused(Refusal::kOversized) == 1; }));
  Client again(hub_->port());
  EXPECT_TRUE(again.Hello(session_.value(), kSecret));
}

TEST_F(HubLimitsTest, MalformedAndBinaryFramesFromTheExtensionAreDroppedAndCounted) {
  Client owner(hub_->port());
  ASSERT_TRUE(owner.Hello(session_.value(), kSecret));
  owner.Send("not json");
  owner.Send("[1,2,3]");
  owner.SendBinary("\x01\x02");
  // The connection survives them: a call still gets its answer.
  CallResult call;
  channel_->Call("ping", nlohmann::json::object(), absl::Now() + absl::Seconds(5), call.Callback());
  std::optional<nlohmann::json> command = owner.Read();
  ASSERT_TRUE(command.has_value());
  owner.Send(nlohmann::json{{"id", (*command)["id"]}, {"ok", true}, {"result", "pong"}}.dump());
  ASSERT_TRUE(call.Wait());
  ASSERT_TRUE(call.result.ok()) << call.result.status();
  EXPECT_EQ(*call.result, "pong");
  EXPECT_EQ(hub_->refused(Refusal::kMalformed), 2);
  EXPECT_EQ(hub_->refused(Refusal::kBinary), 1);
}

TEST_F(HubLimitsTest, ConnectionsBeyondThePendingLimitAreClosedUntilOthersSayHello) {
  Client silent1(hub_->port());
  Client silent2(hub_->port());
  // The third is closed at once: its handshake fails, or its first read.
  bool refused = false;
  try {
    Client third(hub_->port());
    refused = !third.Read().has_value();
  } catch (const boost::system::system_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(hub_->refused(Refusal::kTooManyPending), 1);
  // Once the silent ones are gone, the real extension gets in.
  silent1.Close();
  silent2.Close();
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  bool welcomed = false;
  while (!welcomed && absl::Now() < deadline) {
    try {
      Client owner(hub_->port());
      welcomed = owner.Hello(session_.value(), kSecret);
    } catch (const boost::system::system_error&) {
    }
  }
  EXPECT_TRUE(welcomed);
}

TEST(ParseFrameTest, ADeeplyNestedResponseBecomesAnErrorForItsRequest) {
  std::string deep = std::string(20000, '[') + std::string(20000, ']');
  absl::StatusOr<nlohmann::json> frame = ParseFrame(R"({"id":7,"ok":true,"result":)" + deep + "}");
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)["id"], 7);
  EXPECT_EQ((*frame)["ok"], false);
  EXPECT_EQ((*frame)["error"]["code"], "RESOURCE_EXHAUSTED");
  // Not a response: nothing to answer, the frame is refused.
  EXPECT_EQ(ParseFrame(R"({"type":"event","event":)" + deep + "}").status().code(),
            absl::StatusCode::kInvalidArgument);
  // At the limit it is kept whole.
  std::string ok = std::string(kMaxFrameDepth - 1, '[') + std::string(kMaxFrameDepth - 1, ']');
  frame = ParseFrame(R"({"id":8,"ok":true,"result":)" + ok + "}");
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ((*frame)["ok"], true);
  EXPECT_EQ(ParseFrame("[1]").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseHelloTest, AcceptsOnlyAWellFormedHello) {
  absl::StatusOr<Hello> hello = ParseHello(R"({"type":"hello","session":"s","secret":"x"})");
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->session, "s");
  EXPECT_EQ(hello->secret, "x");
  for (const char* bad :
       {"", "null", "[]", R"({"type":"hello"})", R"({"type":"Hello","session":"s","secret":"x"})",
        R"({"type":"hello","session":"","secret":"x"})",
        R"({"type":"hello","session":"s","secret":["x"]})"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseHello(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  std::string long_secret(kMaxHelloField + 1, 'a');
  EXPECT_FALSE(
      ParseHello(
          nlohmann::json{{"type", "hello"}, {"session", "s"}, {"secret", long_secret}}.dump())
          .ok());
}

}  // namespace
}  // namespace foxpool::firefox
