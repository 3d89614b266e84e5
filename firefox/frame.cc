#include "firefox/frame.h"

#include "nlohmann/json.hpp"

namespace foxpool::firefox {

std::string_view RefusalName(Refusal reason) {
  switch (reason) {
    case Refusal::kNoHello:
      return "no_hello";
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kBinary:
      return "binary";
    case Refusal::kOversized:
      return "oversized";
    case Refusal::kUnknownSession:
      return "unknown_session";
    case Refusal::kWrongSecret:
      return "wrong_secret";
    case Refusal::kDuplicate:
      return "duplicate";
    case Refusal::kTooManyPending:
      return "too_many_pending";
  }
  return "unknown";
}

nlohmann::json ParseShallow(std::string_view text, int max_depth, bool& too_deep) {
  too_deep = false;
  return nlohmann::json::parse(
      text,
      [max_depth, &too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth <= max_depth) return true;
        too_deep = true;
        return false;
      },
      /*allow_exceptions=*/false);
}

absl::StatusOr<nlohmann::json> ParseFrame(std::string_view text) {
  // A too deep response keeps its id: its caller is told.
  bool too_deep;
  nlohmann::json frame = ParseShallow(text, kMaxFrameDepth, too_deep);
  if (frame.is_discarded() || !frame.is_object()) {
    return absl::InvalidArgumentError("the frame is not a JSON object");
  }
  if (!too_deep) return frame;
  auto id = frame.find("id");
  if (id == frame.end() || !id->is_number_unsigned()) {
    return absl::InvalidArgumentError("the frame is nested too deeply");
  }
  return nlohmann::json{{"id", *id},
                        {"ok", false},
                        {"error",
                         {{"code", "RESOURCE_EXHAUSTED"},
                          {"message", "the result is nested more than " +
                                          std::to_string(kMaxFrameDepth) + " levels deep"}}}};
}

absl::StatusOr<Hello> ParseHello(std::string_view text) {
  absl::StatusOr<nlohmann::json> parsed = ParseFrame(text);
  if (!parsed.ok()) return parsed.status();
  const nlohmann::json& frame = *parsed;
  auto field = [&](const char* key) -> const std::string* {
    auto it = frame.find(key);
    return it != frame.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* type = field("type");
  if (type == nullptr || *type != "hello") {
    return absl::InvalidArgumentError("the first frame is not a hello");
  }
  const std::string* session = field("session");
  const std::string* secret = field("secret");
  for (const std::string* value : {session, secret}) {
    if (value == nullptr || value->empty() || value->size() > kMaxHelloField) {
      return absl::InvalidArgumentError("the hello lacks a valid session and secret");
    }
  }
  return Hello{*session, *secret};
}

}  // namespace foxpool::firefox
