#include "server/http_endpoint.h"

#include <atomic>
#include <string>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gtest/gtest.h"

namespace foxpool::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// A blocking client on one kept-alive connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  http::response<http::string_body> Send(http::verb verb, const std::string& target) {
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(true);
    request.prepare_payload();
    http::write(socket_, request);
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpEndpointTest : public ::testing::Test {
 protected:
  HttpEndpointTest() : endpoint_({{"/metrics", {"text/plain", [this] { return Render(); }}}}) {}
  std::string Render() { return "renders " + std::to_string(++renders_) + "\n"; }

  std::atomic<int> renders_{0};
  HttpEndpoint endpoint_;
};

TEST_F(HttpEndpointTest, ServesItsPagesOnOneKeptAliveConnection) {
  ASSERT_TRUE(endpoint_.Start("127.0.0.1:0").ok());
  ASSERT_NE(endpoint_.port(), 0);
  Client client(endpoint_.port());
  auto first = client.Send(http::verb::get, "/metrics");
  EXPECT_EQ(first.result(), http::status::ok);
  EXPECT_EQ(first[http::field::content_type], "text/plain");
  EXPECT_EQ(first.body(), "renders 1\n");
  auto second = client.Send(http::verb::get, "/metrics?x=1");  // The query is ignored.
  EXPECT_EQ(second.body(), "renders 2\n");
}

TEST_F(HttpEndpointTest, AnswersUnknownPathsAndMethodsWithTheirCodes) {
  ASSERT_TRUE(endpoint_.Start("127.0.0.1:0").ok());
  Client client(endpoint_.port());
  EXPECT_EQ(client.Send(http::verb::get, "/secret").result(), http::status::not_found);
  auto post = client.Send(http::verb::post, "/metrics");
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
  auto head = client.Send(http::verb::head, "/metrics");
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(renders_, 0);  // HEAD renders nothing.
}

TEST(HttpEndpointHealthTest, APageThatIsNotAvailableAnswers503) {
  std::atomic<bool> up{false};
  HttpEndpoint endpoint({{"/healthz",
                          {"text/plain", [&] { return up ? "SERVING\n" : "NOT_SERVING\n"; },
                           [&] { return up.load(); }}}});
  ASSERT_TRUE(endpoint.Start("127.0.0.1:0").ok());
  Client client(endpoint.port());
  auto down = client.Send(http::verb::get, "/healthz");
  EXPECT_EQ(down.result(), http::status::service_unavailable);
  EXPECT_EQ(down.body(), "NOT_SERVING\n");
  EXPECT_EQ(client.Send(http::verb::head, "/healthz").result(), http::status::service_unavailable);
  up = true;
  auto serving = client.Send(http::verb::get, "/healthz");
  EXPECT_EQ(serving.result(), http::status::ok);
  EXPECT_EQ(serving.body(), "SERVING\n");
}

TEST_F(HttpEndpointTest, BadOrBusyAddressesAreErrors) {
  EXPECT_EQ(endpoint_.Start("nonsense").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint_.Start("example.com:80").code(), absl::StatusCode::kInvalidArgument);
  HttpEndpoint first({});
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  EXPECT_EQ(endpoint_.Start("127.0.0.1:" + std::to_string(first.port())).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace foxpool::server
