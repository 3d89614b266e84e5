#include "tests/integration/foxpool_server.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/io_context.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gtest/gtest.h"

#ifndef FOXPOOLD_PATH
#error "FOXPOOLD_PATH must name the foxpoold binary"
#endif

namespace foxpool::testing {

bool WaitUntil(absl::FunctionRef<bool()> condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

bool Alive(pid_t pid) {
  // A zombie is dead for our purposes: it runs nothing and holds no memory.
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

std::set<pid_t> Descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
    pid_t ppid;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) && fields[0] != "Z") {
      children[ppid].push_back(pid);
    }
  }
  std::set<pid_t> out;
  std::vector<pid_t> stack{root};
  while (!stack.empty()) {
    pid_t pid = stack.back();
    stack.pop_back();
    for (pid_t child : children[pid]) {
      if (out.insert(child).second) stack.push_back(child);
    }
  }
  return out;
}

void ExpectCleanStop(FoxpoolServer& server) {
  std::set<pid_t> processes = Descendants(server.pid());
  std::optional<std::string> exit = server.Stop(SIGTERM, absl::Seconds(30));
  ASSERT_TRUE(exit.has_value()) << "foxpoold did not stop";
  EXPECT_EQ(*exit, "exit code 0");
  for (pid_t pid : processes) EXPECT_FALSE(Alive(pid)) << "process " << pid << " left running";
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(server.profile_root(), ec)) << "profiles left behind";
}

std::string HttpGet(int port, const std::string& path) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
    http::request<http::empty_body> request(http::verb::get, path, 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response.body();
  } catch (const std::exception&) {
    return "";
  }
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

FoxpoolServer::FoxpoolServer(int pool_size, std::vector<std::string> extra_flags,
                             std::filesystem::path profile_root)
    : pool_size_(pool_size), extra_flags_(std::move(extra_flags)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "foxpool-test-XXXXXX").string();
  temp_dir_ = mkdtemp(pattern.data());
  profile_root_ = profile_root.empty() ? temp_dir_ / "profiles" : profile_root;
}

FoxpoolServer::~FoxpoolServer() {
  if (process_ != nullptr && !process_->reaped()) {
    if (!Stop(SIGTERM, absl::Seconds(30))) Stop(SIGKILL, absl::Seconds(10));
  }
  process_.reset();
  std::error_code ec;
  std::filesystem::remove_all(temp_dir_, ec);
}

absl::Status FoxpoolServer::Start(absl::Duration timeout, int idle) {
  std::filesystem::path port_file = temp_dir_ / "port";
  std::vector<std::string> args = {
      "--grpc_address=127.0.0.1:0",
      "--metrics_address=127.0.0.1:0",
      absl::StrCat("--port_file=", port_file.string()),
      absl::StrCat("--profile_root=", profile_root_.string()),
      absl::StrCat("--pool_size=", pool_size_),
      "--drain_timeout=5s",
      // No seed profile's Firefox beside the pool's (tests count the
      // server's Firefox processes); seed_profile_test.py turns it on.
      "--seed_profiles=false",
  };
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  auto process = firefox::ChildProcess::Spawn(firefox::SpawnOptions{
      .binary = FOXPOOLD_PATH,
      .args = args,
      .output_path = (temp_dir_ / "foxpoold.log").string(),
  });
  if (!process.ok()) return process.status();
  process_ = *std::move(process);

  int port = 0;
  bool bound = WaitUntil(
      [&] {
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port >> metrics_port_) && port > 0;
      },
      absl::Seconds(20));
  if (!bound) return absl::DeadlineExceededError("foxpoold did not write its port");
  port_ = port;
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  stub_ = v1::BrowserPool::NewStub(channel);
  if (!WaitForIdle(idle < 0 ? pool_size_ : idle, timeout)) {
    return absl::DeadlineExceededError("the pool did not become idle");
  }
  return absl::OkStatus();
}

std::string FoxpoolServer::Log() const {
  std::ifstream in(temp_dir_ / "foxpoold.log");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

v1::GetPoolStatusResponse FoxpoolServer::Status() {
  v1::GetPoolStatusResponse status;
  auto context = Deadline(absl::Seconds(5));
  (void)stub_->GetPoolStatus(context.get(), v1::GetPoolStatusRequest(), &status);
  return status;
}

bool FoxpoolServer::WaitForIdle(int idle, absl::Duration timeout) {
  return WaitUntil([&] { return Status().idle() == idle; }, timeout);
}

std::optional<std::string> FoxpoolServer::Stop(int signal, absl::Duration timeout) {
  Signal(signal);
  return WaitForExit(timeout);
}

void FoxpoolServer::Signal(int signal) {
  if (!process_->reaped()) kill(process_->pid(), signal);
}

std::optional<std::string> FoxpoolServer::WaitForExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!process_->TryReap()) {
    pollfd fd{process_->fd(), POLLIN, 0};
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0) return std::nullopt;
    poll(&fd, 1, left);
  }
  return process_->exit_description();
}

}  // namespace foxpool::testing
