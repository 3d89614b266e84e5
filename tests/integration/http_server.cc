#include "tests/integration/http_server.h"

#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace foxpool::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpServer::HttpServer() : acceptor_(io_) {}

HttpServer::~HttpServer() {
  stopping_ = true;
  if (accept_thread_.joinable()) {
    // Wake the blocking accept with a connection of our own.
    beast::error_code ignored;
    tcp::socket poke(io_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
    accept_thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& worker : workers_) worker.join();
}

void HttpServer::Start() {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

std::string HttpServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int HttpServer::hits(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_[path];
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    beast::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec || stopping_) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
  }
}

void HttpServer::Serve(tcp::socket socket) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::read(socket, buffer, request, ec);
  if (ec) return;
  std::string path(request.target());
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  http::response<http::string_body> response;
  response.version(11);
  response.keep_alive(false);
  auto page = pages_.find(path);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++hits_[path];
  }
  if (page == pages_.end()) {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain");
    response.body() = "not found";
  } else {
    response.result(http::status::ok);
    response.set(http::field::content_type, page->second.content_type);
    for (const auto& [name, value] : page->second.headers) response.insert(name, value);
    response.body() = page->second.body;
  }
  response.prepare_payload();
  http::write(socket, response, ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace foxpool::testing
