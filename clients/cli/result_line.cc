#include "clients/cli/result_line.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace foxpool::cli {
namespace {

constexpr size_t kMaxNameChars = 80;

nlohmann::ordered_json StringOrNull(const std::string& text, bool present) {
  return present ? nlohmann::ordered_json(text) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json EvalValue(const std::optional<std::string>& result_json) {
  if (!result_json.has_value()) return nullptr;
  // The service answers JSON; anything else is kept as the text it was.
  nlohmann::ordered_json value = nlohmann::ordered_json::parse(*result_json, nullptr, false);
  return value.is_discarded() ? nlohmann::ordered_json(*result_json) : value;
}

}  // namespace

std::string ToJsonLine(const UrlResult& result) {
  nlohmann::ordered_json line;
  line["url"] = result.url;
  line["ok"] = result.status.ok();
  line["final_url"] = StringOrNull(result.final_url, result.loaded);
  line["title"] = StringOrNull(result.title, result.loaded);
  line["result"] = EvalValue(result.result_json);
  line["screenshot"] = StringOrNull(result.screenshot, !result.screenshot.empty());
  if (result.status.ok()) {
    line["error"] = nullptr;
  } else {
    line["error"] = {{"code", absl::StatusCodeToString(result.status.code())},
                     {"message", std::string(result.status.message())}};
  }
  line["attempts"] = result.attempts;
  line["ms"] = absl::ToInt64Milliseconds(result.took);
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string ScreenshotName(size_t index, size_t total, absl::string_view url) {
  int digits = static_cast<int>(absl::StrCat(total > 0 ? total - 1 : 0).size());
  if (size_t scheme = url.find("://"); scheme != absl::string_view::npos) {
    url.remove_prefix(scheme + 3);
  }
  std::string name;
  for (char c : url) {
    if (name.size() >= kMaxNameChars) break;
    bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    // One '_' for each run of other characters, none at the end.
    if (safe) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '_') {
      name.push_back('_');
    }
  }
  while (!name.empty() && (name.back() == '_' || name.back() == '.')) name.pop_back();
  if (name.empty()) name = "page";
  return absl::StrFormat("%0*d-%s.png", digits, index, name);
}

}  // namespace foxpool::cli
