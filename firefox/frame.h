#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace foxpool::firefox {

// Why the hub refused a connection; each has its own counter
// (foxpool_hub_connections_refused_total{reason}).
enum class Refusal {
  kNoHello,         // nothing proven within the hello timeout
  kMalformed,       // the first frame is not a well-formed hello
  kBinary,          // a binary frame where text is expected
  kOversized,       // a frame above the hub's size limit
  kUnknownSession,  // a session the hub does not expect
  kWrongSecret,     // a known session with the wrong secret
  kDuplicate,       // a second connection for a live session
  kTooManyPending,  // too many connections still to say hello
};
inline constexpr int kRefusalCount = 8;
std::string_view RefusalName(Refusal reason);
using RefusalCounts = std::array<int64_t, kRefusalCount>;

// What the first frame of a connection claims:
// {"type":"hello","session":ID,"secret":SECRET}.
struct Hello {
  std::string session;
  std::string secret;
};

// Longest session id or secret a hello may carry; real ones are far shorter.
inline constexpr size_t kMaxHelloField = 256;

// Parses a connection's first frame (untrusted: any local process or web
// page can send it). INVALID_ARGUMENT when it is not JSON, not an object,
// not of type "hello", or lacks a non-empty string session and secret
// within kMaxHelloField bytes.
absl::StatusOr<Hello> ParseHello(std::string_view text);

// Deepest nesting a frame may have. nlohmann::json parses and destroys
// iteratively but copies and prints recursively, and what an extension
// relays (an Evaluate result, an event) is page-controlled: a frame nested
// 20,000 deep would overflow the stack. protobuf's JSON parser stops at 100.
inline constexpr int kMaxFrameDepth = 100;

// Parses JSON that may be hostile, keeping only values nested at most
// `max_depth` deep (0: the outermost value's own level). Deeper values are
// dropped as they are parsed (iteratively), so what is kept can be copied
// and printed without overflowing the stack; `too_deep` says whether any
// was. Discarded when `text` is not JSON.
nlohmann::json ParseShallow(std::string_view text, int max_depth, bool& too_deep);

// Parses a frame from an authenticated extension. INVALID_ARGUMENT when it
// is not JSON or not an object. A frame nested deeper than kMaxFrameDepth
// is INVALID_ARGUMENT too, unless it is a response: that becomes an error
// response (RESOURCE_EXHAUSTED) to the same request, so its caller hears at
// once instead of at its deadline.
absl::StatusOr<nlohmann::json> ParseFrame(std::string_view text);

}  // namespace foxpool::firefox
