// foxpool's load generator: measures a running foxpoold from outside, the
// way its users see it.
//
//   1. warm Acquire → Release(KEEP) latency (a window idle every time);
//   2. the round trip of everyday commands on one lease;
//   3. closed-loop throughput: L leased windows each keep one command in
//      flight (the next sent from the previous one's completion, on gRPC's
//      callback API), for L in --windows;
//   4. a whole task on a leased window (Acquire, Navigate, GetTitle,
//      Release), two at a time: what "a new browser per task" costs here.
//
// Prints Markdown tables (p50/p90/p99 in milliseconds) and, with --out,
// appends the rows bench/report.py reads. The pool needs at
// least max(--windows) windows. Pages come from a server on 127.0.0.1 that
// this program runs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/samples.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/integration/http_server.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "foxpoold's gRPC address.");
ABSL_FLAG(int, samples, 200, "Calls per latency measurement.");
ABSL_FLAG(std::vector<std::string>, windows, (std::vector<std::string>{"1", "2"}),
          "Leased windows driving commands at once, one throughput run each.");
ABSL_FLAG(absl::Duration, run_time, absl::Seconds(10), "Length of each throughput run.");
ABSL_FLAG(int, tasks, 40, "Whole tasks (acquire, load, read the title, release) to time.");
ABSL_FLAG(std::string, out, "", "Append JSON result rows to this file.");
ABSL_FLAG(std::vector<std::string>, config, {},
          "key=value pairs describing the server's settings, copied into every row.");
ABSL_FLAG(std::vector<std::string>, sections,
          (std::vector<std::string>{"lease", "roundtrip", "closed_loop", "per_task"}),
          "Which measurements to run.");

namespace foxpool::bench {
namespace {

namespace v1 = foxpool::v1;

std::unique_ptr<grpc::ClientContext> Deadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

void Check(const grpc::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, status.error_message().c_str());
    std::exit(1);
  }
}

std::string Acquire(v1::BrowserPool::Stub& stub) {
  v1::AcquireRequest request;
  (*request.mutable_labels())["job"] = "loadgen";
  v1::AcquireResponse response;
  Check(stub.Acquire(Deadline().get(), request, &response), "Acquire");
  return response.lease_id();
}

void Release(v1::BrowserPool::Stub& stub, const std::string& lease, v1::ReleaseMode mode) {
  v1::ReleaseRequest request;
  request.set_lease_id(lease);
  request.set_mode(mode);
  v1::ReleaseResponse response;
  Check(stub.Release(Deadline().get(), request, &response), "Release");
}

void WarmAcquire(v1::BrowserPool::Stub& stub, int n, RowWriter& rows) {
  Samples acquire, release;
  for (int i = 0; i < n; ++i) {
    absl::Time started = absl::Now();
    std::string lease = Acquire(stub);
    absl::Time acquired = absl::Now();
    Release(stub, lease, v1::RELEASE_MODE_KEEP);
    acquire.Add(acquired - started);
    release.Add(absl::Now() - acquired);
  }
  std::printf("%s\n%s\n", acquire.Row("Acquire (a window idle)").c_str(),
              release.Row("Release (KEEP)").c_str());
  rows.Write("lease", "Acquire (a window idle)", acquire.Json());
  rows.Write("lease", "Release (KEEP)", release.Json());
}

// One command on a lease, as a sequential call.
struct Command {
  std::string name;
  std::function<grpc::Status(v1::BrowserPool::Stub&, const std::string& lease)> run;
};

template <typename Request, typename Response>
Command Unary(std::string name,
              grpc::Status (v1::BrowserPool::Stub::*method)(grpc::ClientContext*, const Request&,
                                                            Response*),
              Request request) {
  return {std::move(name),
          [method, request](v1::BrowserPool::Stub& stub, const std::string& lease) {
            Request copy = request;
            copy.set_lease_id(lease);
            Response response;
            return (stub.*method)(Deadline().get(), copy, &response);
          }};
}

std::vector<Command> Commands(const std::string& page_url) {
  v1::EvaluateRequest evaluate;
  evaluate.set_expression("1+1");
  v1::FindElementRequest find;
  find.mutable_locator()->set_value("#b");
  v1::ClickRequest click;
  click.mutable_element()->mutable_locator()->set_value("#b");
  v1::ScreenshotRequest screenshot;
  v1::NavigateRequest navigate;
  navigate.set_url(page_url);
  using Stub = v1::BrowserPool::Stub;
  return {
      Unary("GetTitle", &Stub::GetTitle, v1::GetTitleRequest()),
      Unary("Evaluate 1+1", &Stub::Evaluate, evaluate),
      Unary("FindElement #b", &Stub::FindElement, find),
      Unary("Click #b", &Stub::Click, click),
      Unary("Screenshot (viewport PNG)", &Stub::Screenshot, screenshot),
      Unary("Navigate (local page)", &Stub::Navigate, navigate),
  };
}

void RoundTrips(v1::BrowserPool::Stub& stub, const std::string& page_url, int n, RowWriter& rows) {
  std::string lease = Acquire(stub);
  std::vector<Command> commands = Commands(page_url);
  Check(commands.back().run(stub, lease), "Navigate");  // The page the others act on.
  for (const Command& command : commands) {
    Samples samples;
    Check(command.run(stub, lease), command.name.c_str());  // Warm-up.
    for (int i = 0; i < n; ++i) {
      absl::Time started = absl::Now();
      Check(command.run(stub, lease), command.name.c_str());
      samples.Add(absl::Now() - started);
    }
    std::printf("%s\n", samples.Row(command.name).c_str());
    rows.Write("roundtrip", command.name, samples.Json());
  }
  Release(stub, lease, v1::RELEASE_MODE_RESET_UNSPECIFIED);
}

// One leased window in a closed loop: FindElement after FindElement, each
// sent from the completion of the one before, until `until`.
class Driver {
 public:
  Driver(v1::BrowserPool::Stub& stub, std::string lease, absl::Time until)
      : stub_(stub), until_(until) {
    request_.set_lease_id(std::move(lease));
    request_.mutable_locator()->set_value("#b");
  }

  void Start() { Next(); }

  // Blocks until the loop has stopped; returns its latencies and errors.
  std::pair<Samples, int> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return {std::move(samples_), errors_};
  }

 private:
  // What one call needs until its completion.
  struct Call {
    grpc::ClientContext context;
    v1::FindElementResponse response;
    absl::Time started = absl::Now();
  };

  void Next() {
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stub_.async()->FindElement(&call->context, &request_, &call->response,
                               [this, call](grpc::Status status) {
                                 absl::Time now = absl::Now();
                                 bool more;
                                 {
                                   absl::MutexLock lock(&mu_);
                                   if (!status.ok()) ++errors_;
                                   samples_.Add(now - call->started);
                                   more = now < until_;
                                   done_ = !more;
                                 }
                                 if (more) Next();
                               });
  }

  v1::BrowserPool::Stub& stub_;
  const absl::Time until_;
  v1::FindElementRequest request_;
  absl::Mutex mu_;
  Samples samples_ ABSL_GUARDED_BY(mu_);
  int errors_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

void Throughput(v1::BrowserPool::Stub& stub, const std::string& page_url, int windows,
                absl::Duration run_time, RowWriter& rows) {
  std::vector<std::string> leases;
  v1::NavigateRequest navigate;
  navigate.set_url(page_url);
  for (int i = 0; i < windows; ++i) {
    leases.push_back(Acquire(stub));
    navigate.set_lease_id(leases.back());
    v1::NavigateResponse loaded;
    Check(stub.Navigate(Deadline().get(), navigate, &loaded), "Navigate");
  }
  absl::Time until = absl::Now() + run_time;
  std::vector<std::unique_ptr<Driver>> drivers;
  for (const std::string& lease : leases) {
    drivers.push_back(std::make_unique<Driver>(stub, lease, until));
  }
  absl::Time started = absl::Now();
  for (auto& driver : drivers) driver->Start();
  Samples all;
  int errors = 0;
  for (auto& driver : drivers) {
    auto [samples, failed] = driver->Wait();
    all.Merge(samples);
    errors += failed;
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  std::printf("%s %.0f/s | %d |\n", all.Row(absl::StrFormat("%d", windows)).c_str(),
              all.size() / seconds, errors);
  nlohmann::json row = all.Json();
  row["windows"] = windows;
  row["per_s"] = all.size() / seconds;
  row["errors"] = errors;
  rows.Write("closed_loop", "FindElement #b", std::move(row));
  for (const std::string& lease : leases) Release(stub, lease, v1::RELEASE_MODE_KEEP);
}

// `n` whole tasks, two at a time: Acquire, Navigate to the page, GetTitle,
// Release (RESET, so the next task gets a clean window).
void Tasks(v1::BrowserPool::Stub& stub, const std::string& page_url, int n, RowWriter& rows) {
  constexpr int kConcurrency = 2;
  Samples all;
  absl::Mutex mu;
  auto task = [&] {
    absl::Time started = absl::Now();
    std::string lease = Acquire(stub);
    v1::NavigateRequest navigate;
    navigate.set_lease_id(lease);
    navigate.set_url(page_url);
    v1::NavigateResponse loaded;
    Check(stub.Navigate(Deadline().get(), navigate, &loaded), "Navigate");
    v1::GetTitleRequest title;
    title.set_lease_id(lease);
    v1::GetTitleResponse titled;
    Check(stub.GetTitle(Deadline().get(), title, &titled), "GetTitle");
    Release(stub, lease, v1::RELEASE_MODE_RESET_UNSPECIFIED);
    absl::MutexLock lock(&mu);
    all.Add(absl::Now() - started);
  };
  absl::Time started = absl::Now();
  std::vector<std::thread> workers;
  for (int w = 0; w < kConcurrency; ++w) {
    workers.emplace_back([&, w] {
      for (int i = w; i < n; i += kConcurrency) task();
    });
  }
  for (std::thread& worker : workers) worker.join();
  double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  constexpr char kName[] = "acquire, load, read title, release";
  std::printf("%s %.1f/s |\n", all.Row(kName).c_str(), all.size() / seconds);
  nlohmann::json row = all.Json();
  row["per_s"] = all.size() / seconds;
  row["concurrency"] = kConcurrency;
  rows.Write("per_task", kName, std::move(row));
}

nlohmann::json ConfigFlag() {
  nlohmann::json config = nlohmann::json::object();
  for (const std::string& pair : absl::GetFlag(FLAGS_config)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    config[kv.first] = kv.second;
  }
  return config;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  testing::HttpServer pages;
  pages.Add("/", testing::Page{.body = kPage});
  pages.Start();
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials());
  auto stub = v1::BrowserPool::NewStub(channel);
  int n = absl::GetFlag(FLAGS_samples);
  RowWriter rows(absl::GetFlag(FLAGS_out), "foxpool", ConfigFlag());
  const std::vector<std::string> sections = absl::GetFlag(FLAGS_sections);
  auto wanted = [&](const char* section) {
    return std::find(sections.begin(), sections.end(), section) != sections.end();
  };

  if (wanted("lease")) {
    std::printf(
        "## Leases\n\n| call | p50 ms | p90 ms | p99 ms | n |\n| --- | --- | --- | --- | --- |\n");
    WarmAcquire(*stub, n, rows);
  }
  if (wanted("roundtrip")) {
    std::printf(
        "\n## Command round trips (one lease)\n\n"
        "| command | p50 ms | p90 ms | p99 ms | n |\n| --- | --- | --- | --- | --- |\n");
    RoundTrips(*stub, pages.Url("/"), n, rows);
  }
  if (wanted("closed_loop")) {
    std::printf(
        "\n## Closed loop: FindElement on every leased window at once\n\n"
        "| windows | p50 ms | p90 ms | p99 ms | n | throughput | errors |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (const std::string& windows : absl::GetFlag(FLAGS_windows)) {
      int count = 0;
      if (!absl::SimpleAtoi(windows, &count) || count <= 0) {
        std::fprintf(stderr, "--windows: not a count: %s\n", windows.c_str());
        return 2;
      }
      Throughput(*stub, pages.Url("/"), count, absl::GetFlag(FLAGS_run_time), rows);
    }
  }
  if (wanted("per_task")) {
    std::printf(
        "\n## Whole tasks, two at a time\n\n"
        "| task | p50 ms | p90 ms | p99 ms | n | throughput |\n"
        "| --- | --- | --- | --- | --- | --- |\n");
    Tasks(*stub, pages.Url("/"), absl::GetFlag(FLAGS_tasks), rows);
  }
  return 0;
}

}  // namespace
}  // namespace foxpool::bench

int main(int argc, char** argv) { return foxpool::bench::Main(argc, argv); }
