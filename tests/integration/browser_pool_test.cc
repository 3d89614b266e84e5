// The BrowserPool API end to end: the real foxpoold with a pool of two real
// headless Firefox windows, over real gRPC, against pages served here.

#include <future>
#include <memory>
#include <regex>
#include <string>

#include "absl/time/clock.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/http_server.h"
#include "tests/integration/lease.h"

namespace foxpool::testing {
namespace {

using ::testing::HasSubstr;

class BrowserPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    http_ = new HttpServer();
    http_->Add("/title.html", Page{.body = "<!doctype html><title>Hello foxpool</title>"
                                           "<h1 id=greeting>hi</h1>"
                                           "<script>window.answer = 42;</script>"});
    http_->Add("/red.html", Page{.body = "<!doctype html><title>red</title>"
                                         "<body style='margin:0;background:#f00'></body>"});
    http_->Add("/cookie.html", Page{.body = "<!doctype html><title>cookie</title>",
                                    .headers = {{"Set-Cookie", "from_http=1; Path=/"}}});
    http_->Add("/csp.html", Page{.body = "<!doctype html><title>strict</title>",
                                 .headers = {{"Content-Security-Policy", "script-src 'self'"}}});
    http_->Start();
    server_ = new FoxpoolServer(/*pool_size=*/2);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete http_;
    http_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    // Every test starts from a full pool of idle windows.
    ASSERT_TRUE(server_->WaitForIdle(2, absl::Seconds(60)));
  }

  v1::BrowserPool::Stub& stub() { return server_->stub(); }

  static HttpServer* http_;
  static FoxpoolServer* server_;
};

HttpServer* BrowserPoolTest::http_ = nullptr;
FoxpoolServer* BrowserPoolTest::server_ = nullptr;

TEST_F(BrowserPoolTest, AcquireGrantsAnIdleWindowWithAnUnguessableLease) {
  Lease a(stub());
  Lease b(stub());
  ASSERT_TRUE(a.status().ok()) << a.status().error_message();
  ASSERT_TRUE(b.status().ok()) << b.status().error_message();
  EXPECT_TRUE(std::regex_match(a.id(), std::regex("[0-9a-f]{32}"))) << a.id();
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.window(), b.window());
  EXPECT_EQ(server_->Status().leased(), 2);
}

TEST_F(BrowserPoolTest, NavigateThenReadTitleUrlAndContent) {
  Lease lease(stub());
  ASSERT_TRUE(lease.status().ok());
  v1::NavigateResponse navigated;
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html"), &navigated).ok());
  EXPECT_EQ(navigated.title(), "Hello foxpool");
  EXPECT_EQ(navigated.url(), http_->Url("/title.html"));

  v1::GetTitleRequest title_request;
  title_request.set_lease_id(lease.id());
  v1::GetTitleResponse title;
  ASSERT_TRUE(stub().GetTitle(Deadline().get(), title_request, &title).ok());
  EXPECT_EQ(title.title(), "Hello foxpool");

  v1::GetUrlRequest url_request;
  url_request.set_lease_id(lease.id());
  v1::GetUrlResponse url;
  ASSERT_TRUE(stub().GetUrl(Deadline().get(), url_request, &url).ok());
  EXPECT_EQ(url.url(), http_->Url("/title.html"));

  v1::GetContentRequest content_request;
  content_request.set_lease_id(lease.id());
  v1::GetContentResponse content;
  ASSERT_TRUE(stub().GetContent(Deadline().get(), content_request, &content).ok());
  EXPECT_THAT(content.html(), HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(content.html(), HasSubstr("<h1 id=\"greeting\">hi</h1>"));

  // From one page to the next (not only from about:blank).
  ASSERT_TRUE(lease.Navigate(http_->Url("/red.html"), &navigated).ok());
  EXPECT_EQ(navigated.title(), "red");
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html"), &navigated).ok());
  EXPECT_EQ(navigated.title(), "Hello foxpool");
}

TEST_F(BrowserPoolTest, EvaluateReturnsJsonFromThePageRealm) {
  Lease lease(stub());
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html")).ok());
  EXPECT_EQ(lease.Eval("1 + 1"), "2");
  EXPECT_EQ(lease.Eval("document.title"), "\"Hello foxpool\"");
  // A page global: the script runs in the page, not in an isolated world.
  EXPECT_EQ(lease.Eval("window.answer"), "42");
  EXPECT_EQ(lease.Eval("let x = 20; x + 1"), "21");
  EXPECT_EQ(lease.Eval("undefined"), "null");
  EXPECT_EQ(nlohmann::json::parse(lease.Eval("({a: [1, 'two', null], b: {c: true}})")),
            nlohmann::json::parse(R"({"a":[1,"two",null],"b":{"c":true}})"));

  std::string json;
  ASSERT_TRUE(lease
                  .Evaluate("async (a, b) => { await new Promise(r => setTimeout(r, 20));"
                            " return {sum: a.n + b}; }",
                            &json, R"([{"n": 40}, 2])")
                  .ok());
  EXPECT_EQ(nlohmann::json::parse(json), nlohmann::json::parse(R"({"sum":42})"));
  ASSERT_TRUE(lease.Evaluate("(s) => s.toUpperCase()", &json, R"(["fox"])").ok());
  EXPECT_EQ(json, "\"FOX\"");
}

TEST_F(BrowserPoolTest, EvaluateErrorsCarryTheJavaScriptMessage) {
  Lease lease(stub());
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html")).ok());

  grpc::Status thrown = lease.Evaluate("throw new TypeError('boom at line 1')", nullptr);
  EXPECT_EQ(thrown.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_THAT(thrown.error_message(), HasSubstr("TypeError: boom at line 1"));

  grpc::Status rejected = lease.Evaluate("async () => { throw new Error('async nope'); }", nullptr);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_THAT(rejected.error_message(), HasSubstr("async nope"));

  grpc::Status syntax = lease.Evaluate("1 +* 2", nullptr);
  EXPECT_EQ(syntax.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(syntax.error_message(), HasSubstr("SyntaxError"));

  grpc::Status unserialisable = lease.Evaluate("window", nullptr);
  EXPECT_EQ(unserialisable.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::Status bad_args = lease.Evaluate("(a) => a", nullptr, "{not json");
  EXPECT_EQ(bad_args.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A page whose Content-Security-Policy forbids eval says so.
  ASSERT_TRUE(lease.Navigate(http_->Url("/csp.html")).ok());
  grpc::Status blocked = lease.Evaluate("1 + 1", nullptr);
  EXPECT_EQ(blocked.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(blocked.error_message(), HasSubstr("Content-Security-Policy"));

  // The window still works after all that.
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html")).ok());
  EXPECT_EQ(lease.Eval("2 * 21"), "42");
}

TEST_F(BrowserPoolTest, ScreenshotIsAPngOfTheViewport) {
  Lease lease(stub());
  ASSERT_TRUE(lease.Navigate(http_->Url("/red.html")).ok());
  nlohmann::json viewport = nlohmann::json::parse(
      lease.Eval("[window.innerWidth * devicePixelRatio, window.innerHeight * devicePixelRatio]"));

  v1::ScreenshotRequest request;
  request.set_lease_id(lease.id());
  v1::ScreenshotResponse shot;
  grpc::Status status = stub().Screenshot(Deadline().get(), request, &shot);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string& png = shot.image();
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  EXPECT_EQ(be32(16), viewport[0].get<uint32_t>());
  EXPECT_EQ(be32(20), viewport[1].get<uint32_t>());
  EXPECT_EQ(shot.width(), viewport[0].get<int>());
  EXPECT_EQ(shot.height(), viewport[1].get<int>());
}

TEST_F(BrowserPoolTest, ReleasedWindowComesBackClean) {
  Lease other(stub());  // Holds the second window, so the next lease reuses the first.
  std::string window;
  std::string stale_id;
  {
    Lease lease(stub());
    ASSERT_TRUE(lease.status().ok());
    window = lease.window();
    stale_id = lease.id();
    ASSERT_TRUE(lease.Navigate(http_->Url("/cookie.html")).ok());
    EXPECT_EQ(lease.Eval("document.cookie = 'from_js=2; path=/'; "
                         "localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 't'); "
                         "[document.cookie, localStorage.length, sessionStorage.length]"),
              R"(["from_http=1; from_js=2",1,1])");
    ASSERT_TRUE(lease.Release().ok());
  }
  Lease next(stub());
  ASSERT_TRUE(next.status().ok());
  ASSERT_EQ(next.window(), window);
  v1::GetUrlRequest url_request;
  url_request.set_lease_id(next.id());
  v1::GetUrlResponse url;
  ASSERT_TRUE(stub().GetUrl(Deadline().get(), url_request, &url).ok());
  EXPECT_EQ(url.url(), "about:blank");
  EXPECT_EQ(next.Eval("history.length"), "1");
  // The previous holder's id cannot reach the window now leased to another.
  v1::EvaluateRequest stale;
  stale.set_lease_id(stale_id);
  stale.set_expression("location.href = 'about:blank#hijacked'");
  v1::EvaluateResponse ignored;
  EXPECT_EQ(stub().Evaluate(Deadline().get(), stale, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(next.Eval("location.hash"), "\"\"");
  // Same origin as before: nothing of the previous lease is visible.
  ASSERT_TRUE(next.Navigate(http_->Url("/title.html")).ok());
  EXPECT_EQ(next.Eval("[document.cookie, localStorage.length, sessionStorage.length]"),
            R"(["",0,0])");
}

TEST_F(BrowserPoolTest, ThirdAcquireWaitsUntilARelease) {
  auto first = std::make_unique<Lease>(stub());
  Lease second(stub());
  ASSERT_TRUE(first->status().ok());
  ASSERT_TRUE(second.status().ok());
  std::string freed_window = first->window();

  auto waiter = std::async(std::launch::async, [&] {
    v1::AcquireResponse response;
    auto context = Deadline(absl::Seconds(30));
    grpc::Status status = stub().Acquire(context.get(), v1::AcquireRequest(), &response);
    return std::make_pair(status, response);
  });
  ASSERT_TRUE(WaitUntil([&] { return server_->Status().queue_depth() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  ASSERT_TRUE(first->Release().ok());
  auto [status, response] = waiter.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.window_id(), freed_window);
  EXPECT_GT(response.waited().seconds() * 1000000000LL + response.waited().nanos(), 0);
  v1::ReleaseRequest release;
  release.set_lease_id(response.lease_id());
  v1::ReleaseResponse released;
  EXPECT_TRUE(stub().Release(Deadline().get(), release, &released).ok());
}

TEST_F(BrowserPoolTest, AWaitEndsAtTheCallersDeadlineAndLosesNothing) {
  {
    Lease a(stub());
    Lease b(stub());
    v1::AcquireResponse response;
    auto context = Deadline(absl::Milliseconds(500));
    grpc::Status status = stub().Acquire(context.get(), v1::AcquireRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

    v1::AcquireRequest no_wait;
    no_wait.mutable_max_wait()->set_seconds(0);
    status = stub().Acquire(Deadline().get(), no_wait, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

    v1::AcquireRequest short_wait;
    short_wait.mutable_max_wait()->set_nanos(200'000'000);
    status = stub().Acquire(Deadline().get(), short_wait, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_TRUE(WaitUntil([&] { return server_->Status().queue_depth() == 0; }, absl::Seconds(5)));
  }
  // Both windows come back: no lease was handed to a caller who had left.
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(30)));
  EXPECT_EQ(server_->Status().leased(), 0);
}

TEST_F(BrowserPoolTest, BadRequestsGetClearErrors) {
  Lease lease(stub());
  ASSERT_TRUE(lease.status().ok());
  EXPECT_EQ(lease.Navigate("file:///etc/passwd").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lease.Navigate("javascript:alert(1)").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lease.Navigate("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lease.Evaluate("", nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A port nobody listens on: bound and closed again here.
  uint16_t closed_port;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }
  std::string refused_url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
  grpc::Status refused = lease.Navigate(refused_url);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), HasSubstr("NS_ERROR_CONNECTION_REFUSED"));
  EXPECT_THAT(refused.error_message(), HasSubstr(refused_url));

  v1::GetTitleRequest request;
  v1::GetTitleResponse response;
  request.set_lease_id("");
  EXPECT_EQ(stub().GetTitle(Deadline().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_lease_id("00000000000000000000000000000000");
  EXPECT_EQ(stub().GetTitle(Deadline().get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  std::string id = lease.id();
  ASSERT_TRUE(lease.Release().ok());
  request.set_lease_id(id);
  grpc::Status stale = stub().GetTitle(Deadline().get(), request, &response);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(stale.error_message(), HasSubstr("released"));
  // Releasing again is harmless.
  v1::ReleaseRequest release;
  release.set_lease_id(id);
  v1::ReleaseResponse released;
  EXPECT_TRUE(stub().Release(Deadline().get(), release, &released).ok());
}

TEST_F(BrowserPoolTest, AnIdleLeaseExpiresAndItsWindowReturns) {
  v1::AcquireRequest request;
  request.mutable_idle_timeout()->set_nanos(600'000'000);
  (*request.mutable_labels())["job"] = "expiry-test";
  Lease lease(stub(), request);
  ASSERT_TRUE(lease.status().ok()) << lease.status().error_message();

  // Renew keeps it alive past one idle timeout...
  absl::Time renewed_until = absl::Now() + absl::Milliseconds(1200);
  while (absl::Now() < renewed_until) {
    v1::RenewRequest renew;
    renew.set_lease_id(lease.id());
    v1::RenewResponse renewed;
    ASSERT_TRUE(stub().Renew(Deadline().get(), renew, &renewed).ok());
    EXPECT_EQ(renewed.idle_timeout().nanos(), 600'000'000);
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(lease.Eval("1"), "1");
  // ...and without it the lease expires and its window goes back to the pool.
  ASSERT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
  grpc::Status expired = lease.Evaluate("1", nullptr);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(expired.error_message(), HasSubstr("expired"));
}

TEST_F(BrowserPoolTest, AcquireRejectsBadOptions) {
  v1::AcquireResponse response;
  v1::AcquireRequest too_many_labels;
  for (int i = 0; i < 17; ++i) (*too_many_labels.mutable_labels())["k" + std::to_string(i)] = "v";
  EXPECT_EQ(stub().Acquire(Deadline().get(), too_many_labels, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::AcquireRequest negative_wait;
  negative_wait.mutable_max_wait()->set_seconds(-1);
  EXPECT_EQ(stub().Acquire(Deadline().get(), negative_wait, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::AcquireRequest zero_idle;
  zero_idle.mutable_idle_timeout()->set_seconds(0);
  EXPECT_EQ(stub().Acquire(Deadline().get(), zero_idle, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(server_->Status().leased(), 0);
}

TEST_F(BrowserPoolTest, APageThatOpensTheHubGetsNothing) {
  std::smatch match;
  std::string log = server_->Log();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("hub on 127\\.0\\.0\\.1:(\\d+)")));
  std::string hub_port = match[1];

  Lease lease(stub());
  ASSERT_TRUE(lease.Navigate(http_->Url("/title.html")).ok());
  // The page tries what a hostile page would: connect, forge hellos with
  // guessed ids and secrets, send commands and responses, and listen.
  std::string json;
  grpc::Status status = lease.Evaluate(R"(async (port) => {
        const attempt = (first) => new Promise((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
          const heard = [];
          ws.onopen = () => {
            ws.send(first);
            ws.send(JSON.stringify({id: 1, ok: true, result: {}}));
          };
          ws.onmessage = (e) => heard.push(String(e.data));
          ws.onclose = (e) => resolve({code: e.code, heard});
          setTimeout(() => resolve({code: "still open", heard}), 10000);
        });
        return [
          await attempt(JSON.stringify({type: "hello", session: "guess", secret: "guess"})),
          await attempt(JSON.stringify({type: "hello", session: "", secret: ""})),
          await attempt("not even json"),
          await attempt(JSON.stringify({id: 1, method: "evaluate", params: {}})),
        ];
      })",
                                       &json, "[" + hub_port + "]");
  ASSERT_TRUE(status.ok()) << status.error_message();
  nlohmann::json attempts = nlohmann::json::parse(json);
  ASSERT_EQ(attempts.size(), 4u);
  for (const auto& attempt : attempts) {
    EXPECT_EQ(attempt["code"], 1008) << attempt.dump();  // Policy violation.
    EXPECT_TRUE(attempt["heard"].empty()) << attempt.dump();
  }
  // The window itself is unharmed: its own extension still drives it.
  EXPECT_EQ(lease.Eval("document.title"), "\"Hello foxpool\"");
}

TEST_F(BrowserPoolTest, ARetriedAcquireWithTheSameRequestIdGetsTheSameLease) {
  v1::AcquireRequest request;
  request.set_request_id("4f0c2a8e-retry-test");
  Lease first(stub(), request);
  ASSERT_TRUE(first.status().ok());
  v1::AcquireResponse again;
  ASSERT_TRUE(stub().Acquire(Deadline().get(), request, &again).ok());
  EXPECT_EQ(again.lease_id(), first.id());
  EXPECT_EQ(server_->Status().leased(), 1);

  v1::AcquireRequest too_long;
  too_long.set_request_id(std::string(129, 'x'));
  EXPECT_EQ(stub().Acquire(Deadline().get(), too_long, &again).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BrowserPoolTest, RefusalsCarryARetryAfterHint) {
  Lease a(stub());
  Lease b(stub());
  v1::AcquireRequest no_wait;
  no_wait.mutable_max_wait()->set_seconds(0);
  v1::AcquireResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status status = stub().Acquire(&context, no_wait, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto hint = context.GetServerTrailingMetadata().find("retry-after-ms");
  ASSERT_NE(hint, context.GetServerTrailingMetadata().end());
  int64_t ms = std::stoll(std::string(hint->second.data(), hint->second.size()));
  EXPECT_GT(ms, 0);
  EXPECT_LE(ms, 5 * 60 * 1000);
}

TEST_F(BrowserPoolTest, AnOperatorListsLeasesAndRevokesOne) {
  v1::AcquireRequest request;
  (*request.mutable_labels())["job"] = "crawl-42";
  Lease lease(stub(), request);
  ASSERT_TRUE(lease.status().ok());
  ASSERT_EQ(lease.Eval("1"), "1");

  v1::ListLeasesResponse listed;
  ASSERT_TRUE(stub().ListLeases(Deadline().get(), v1::ListLeasesRequest(), &listed).ok());
  ASSERT_EQ(listed.leases_size(), 1);
  const v1::LeaseInfo& info = listed.leases(0);
  EXPECT_EQ(info.lease_id_prefix(), lease.id().substr(0, 8));
  EXPECT_EQ(info.window_id(), lease.window());
  EXPECT_EQ(info.labels().at("job"), "crawl-42");
  EXPECT_THAT(info.holder(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(info.idle_timeout().seconds(), 60);

  v1::RevokeRequest revoke;
  v1::RevokeResponse revoked;
  revoke.set_window_id("nonsense");
  EXPECT_EQ(stub().Revoke(Deadline().get(), revoke, &revoked).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  revoke.set_window_id(lease.window());
  ASSERT_TRUE(stub().Revoke(Deadline().get(), revoke, &revoked).ok());
  grpc::Status after = lease.Evaluate("1", nullptr);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(after.error_message(), HasSubstr("revoked"));
  EXPECT_EQ(stub().Revoke(Deadline().get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
}

TEST_F(BrowserPoolTest, ReleaseModesKeepAndRecycle) {
  Lease other(stub());
  std::string window;
  {
    Lease lease(stub());
    window = lease.window();
    ASSERT_TRUE(lease.Navigate(http_->Url("/title.html")).ok());
    ASSERT_TRUE(lease.Release(v1::RELEASE_MODE_KEEP).ok());
  }
  {
    Lease kept(stub());
    ASSERT_EQ(kept.window(), window);
    EXPECT_EQ(kept.Eval("location.href"), "\"" + http_->Url("/title.html") + "\"");
    ASSERT_TRUE(kept.Release(v1::RELEASE_MODE_RECYCLE).ok());
  }
  Lease fresh(stub());  // Waits for the replacement window to start.
  ASSERT_TRUE(fresh.status().ok());
  EXPECT_NE(fresh.window(), window);
  EXPECT_EQ(fresh.Eval("location.href"), "\"about:blank\"");
}

}  // namespace
}  // namespace foxpool::testing
