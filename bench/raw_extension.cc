// The raw extension round trip: one Firefox window started by foxpool's own
// launcher and driven straight through the hub, with no gRPC, no pool and no
// service in between. foxpool's round trip (bench/loadgen.cc) minus this one
// is what the service adds. It also times the reset between leases exactly
// (the service only has histogram buckets of it): a page loaded and a
// cookie set, then Reset.
//
// The commands carry the same JSON parameters the server sends (the request
// message printed as proto3 JSON, plus `timeout_ms`).

#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/samples.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "firefox/hub.h"
#include "firefox/launcher.h"
#include "foxpool/v1/browser_pool.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/integration/http_server.h"

ABSL_FLAG(int, samples, 200, "Calls per command.");
ABSL_FLAG(int, resets, 50, "Resets to time, each after a page load.");
ABSL_FLAG(std::string, out, "", "Append JSON result rows to this file.");

namespace foxpool::bench {
namespace {

namespace v1 = foxpool::v1;

constexpr absl::Duration kTimeout = absl::Seconds(30);

std::string Params(const google::protobuf::Message& request) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(request, &text, print);
  nlohmann::json params = nlohmann::json::parse(text);
  params["timeout_ms"] = absl::ToInt64Milliseconds(kTimeout);
  return params.dump();
}

// One call, waited for on this thread (the io_context runs elsewhere).
absl::StatusOr<std::string> Call(pool::Window& window, const std::string& method,
                                 const std::string& params) {
  std::promise<absl::StatusOr<std::string>> answered;
  window.Call(
      method, params, absl::Now() + kTimeout,
      [&answered](absl::StatusOr<std::string> result) { answered.set_value(std::move(result)); });
  return answered.get_future().get();
}

absl::Status Reset(pool::Window& window) {
  std::promise<absl::Status> reset;
  window.Reset(absl::Now() + kTimeout, [&reset](absl::Status s) { reset.set_value(s); });
  return reset.get_future().get();
}

// What a lease typically leaves behind: a page, a cookie, local storage.
absl::Status UseLikeALease(pool::Window& window, const std::string& navigate) {
  if (absl::StatusOr<std::string> s = Call(window, "navigate", navigate); !s.ok())
    return s.status();
  v1::EvaluateRequest dirty;
  dirty.set_expression("document.cookie = 'a=1'; localStorage.setItem('b', '2'); 1");
  return Call(window, "evaluate", Params(dirty)).status();
}

struct Command {
  const char* name;
  const char* method;
  std::string params;
};

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  testing::HttpServer pages;
  pages.Add("/", testing::Page{.body = kPage});
  pages.Start();

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  firefox::Hub hub(io, firefox::HubOptions{});
  firefox::Launcher launcher(io, hub, firefox::LauncherOptions{});
  int exit_code = 1;
  if (absl::Status s = hub.Listen(); !s.ok()) {
    std::fprintf(stderr, "hub: %s\n", s.ToString().c_str());
  } else if (s = launcher.Init(); !s.ok()) {
    std::fprintf(stderr, "launcher: %s\n", s.ToString().c_str());
  } else {
    std::promise<absl::StatusOr<std::shared_ptr<pool::Window>>> started;
    launcher.Start(
        pool::WindowId(1), pool::WindowSpec{},
        [&started](absl::StatusOr<std::shared_ptr<pool::Window>> w) {
          started.set_value(std::move(w));
        },
        [](absl::Status) {});
    absl::StatusOr<std::shared_ptr<pool::Window>> window = started.get_future().get();
    if (!window.ok()) {
      std::fprintf(stderr, "window: %s\n", window.status().ToString().c_str());
    } else {
      exit_code = 0;
      v1::NavigateRequest navigate;
      navigate.set_url(pages.Url("/"));
      v1::EvaluateRequest evaluate;
      evaluate.set_expression("1+1");
      v1::FindElementRequest find;
      find.mutable_locator()->set_value("#b");
      const std::vector<Command> commands = {
          {"GetTitle", "title", Params(v1::GetTitleRequest())},
          {"Evaluate 1+1", "evaluate", Params(evaluate)},
          {"FindElement #b", "find_element", Params(find)},
          {"Screenshot (viewport PNG)", "screenshot", Params(v1::ScreenshotRequest())},
          {"Navigate (local page)", "navigate", Params(navigate)},
      };
      RowWriter rows(absl::GetFlag(FLAGS_out), "raw_extension", {});
      std::printf("| command | p50 ms | p90 ms | p99 ms | n |\n| --- | --- | --- | --- | --- |\n");
      (void)Call(**window, "navigate", Params(navigate));
      // A window just started is still settling (its first calls take ten
      // times as long); the service's windows are warm by the time they are
      // leased.
      for (int i = 0; i < 50; ++i) (void)Call(**window, "title", commands[0].params);
      for (const Command& command : commands) {
        Samples samples;
        absl::StatusOr<std::string> warm = Call(**window, command.method, command.params);
        if (!warm.ok()) {
          std::fprintf(stderr, "%s: %s\n", command.name, warm.status().ToString().c_str());
          exit_code = 1;
          break;
        }
        for (int i = 0; i < absl::GetFlag(FLAGS_samples); ++i) {
          absl::Time begun = absl::Now();
          (void)Call(**window, command.method, command.params);
          samples.Add(absl::Now() - begun);
        }
        std::printf("%s\n", samples.Row(command.name).c_str());
        rows.Write("roundtrip", command.name, samples.Json());
      }
      Samples resets;
      for (int i = 0; exit_code == 0 && i < absl::GetFlag(FLAGS_resets); ++i) {
        absl::Status used = UseLikeALease(**window, Params(navigate));
        absl::Time begun = absl::Now();
        absl::Status reset = used.ok() ? Reset(**window) : used;
        if (!reset.ok()) {
          std::fprintf(stderr, "reset: %s\n", reset.ToString().c_str());
          exit_code = 1;
        }
        resets.Add(absl::Now() - begun);
      }
      std::printf("%s\n", resets.Row("reset between leases").c_str());
      rows.Write("reset", "reset between leases", resets.Json());
      (*window)->Close();
    }
    launcher.Shutdown(absl::Seconds(10));
  }
  hub.Stop();
  work.reset();
  io.stop();
  for (std::thread& t : threads) t.join();
  return exit_code;
}

}  // namespace
}  // namespace foxpool::bench

int main(int argc, char** argv) { return foxpool::bench::Main(argc, argv); }
