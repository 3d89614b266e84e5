#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace foxpool::testing {

struct Page {
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  // Extra response headers, e.g. {"Set-Cookie", "a=b; Path=/"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

// A tiny HTTP/1.1 server on 127.0.0.1 (port chosen by the OS) serving fixed
// pages, so that integration tests never leave the machine. One thread
// accepts; each connection is served on its own thread and closed after one
// response. Pages may be added before Start() only.
class HttpServer {
 public:
  HttpServer();
  ~HttpServer();

  void Add(const std::string& path, Page page) { pages_[path] = std::move(page); }
  void Start();
  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const;
  // Requests served so far, by path.
  int hits(const std::string& path);

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);

  std::map<std::string, Page> pages_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::map<std::string, int> hits_;
};

}  // namespace foxpool::testing
