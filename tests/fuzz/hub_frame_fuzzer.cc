// Fuzzes what the hub does with the frames a connection sends: the first
// frame's hello (ParseHello), then, as every later frame of an
// authenticated connection, ParseFrame and Channel::OnFrame on a channel
// with requests pending, and the response's way to the caller
// (server::FillResponse). Any local process or web page can send the first;
// what the extension relays later can be page-controlled.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "firefox/channel.h"
#include "firefox/frame.h"
#include "foxpool/v1/browser_pool.pb.h"
#include "nlohmann/json.hpp"
#include "server/commands.h"

namespace {

using foxpool::firefox::Channel;

class NullConnection : public foxpool::firefox::Connection {
 public:
  void Send(std::string) override {}
  void Close() override {}
};

// The result as FirefoxWindow hands it on, read as a few responses.
void Deliver(absl::StatusOr<nlohmann::json> result) {
  if (!result.ok()) return;
  std::string text = result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  foxpool::v1::GetTextResponse text_response;
  (void)foxpool::server::FillResponse(text, &text_response);
  foxpool::v1::FindElementsResponse elements;
  (void)foxpool::server::FillResponse(text, &elements);
  foxpool::v1::GetCookiesResponse cookies;
  (void)foxpool::server::FillResponse(text, &cookies);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)foxpool::firefox::ParseHello(text);

  // As the hub reads every later frame: what ParseFrame refuses is dropped.
  absl::StatusOr<nlohmann::json> parsed = foxpool::firefox::ParseFrame(text);
  if (!parsed.ok()) return 0;
  const nlohmann::json& frame = *parsed;
  boost::asio::io_context io;
  auto channel =
      std::make_shared<Channel>(io.get_executor(), foxpool::firefox::SessionId("fuzz"), "secret");
  channel->SetEventSink([](const nlohmann::json& event) { (void)event.dump(); });
  if (!channel->Attach(std::make_shared<NullConnection>()).ok()) __builtin_trap();
  // Requests 1 to 3 pending, as the ids the frame may answer.
  for (int i = 0; i < 3; ++i) {
    channel->Call("title", nlohmann::json::object(), absl::Now() + absl::Hours(1), Deliver);
  }
  channel->OnFrame(frame);
  channel->OnFrame(frame);  // A second answer to the same id is dropped.
  channel->Close(absl::AbortedError("fuzz iteration over"));
  io.run();
  return 0;
}
