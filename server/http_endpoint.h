#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace foxpool::server {

// One page the endpoint serves: its content type and how to render it.
struct HttpPage {
  std::string content_type;
  std::function<std::string()> render;
  // When set, asked before rendering: false answers 503 Service Unavailable
  // (with the rendered body), for load balancers and Kubernetes probes.
  std::function<bool()> available;
};

// A small HTTP/1.1 server (Boost.Beast) for operators and Prometheus:
// GET/HEAD of a fixed set of paths, keep-alive, a 30 s idle timeout per
// connection. Runs on its own io_context and thread, so a slow scrape or
// status render never delays the hub or gRPC. Start/Stop from one thread.
class HttpEndpoint {
 public:
  explicit HttpEndpoint(std::map<std::string, HttpPage> pages);
  ~HttpEndpoint();

  // Binds "host:port" (port 0: any free port) and starts serving.
  absl::Status Start(const std::string& address);
  uint16_t port() const { return port_; }
  void Stop();

 private:
  void DoAccept();

  const std::map<std::string, HttpPage> pages_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace foxpool::server
