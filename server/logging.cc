#include "server/logging.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_sinks.h"

namespace foxpool::server {
namespace {

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    absl::string_view text(msg.payload.data(), msg.payload.size());
    nlohmann::json line;
    line["ts"] =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(msg.time), absl::UTCTimeZone());
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["thread"] = msg.thread_id;
    size_t cut = text.rfind(kFieldsSeparator);
    nlohmann::json fields = nlohmann::json::object();
    if (cut != absl::string_view::npos) {
      for (absl::string_view pair :
           absl::StrSplit(text.substr(cut + kFieldsSeparator.size()), ' ', absl::SkipEmpty())) {
        size_t eq = pair.find('=');
        if (eq == 0 || eq == absl::string_view::npos) {
          fields = nlohmann::json::object();  // Not fields after all: keep the text whole.
          cut = absl::string_view::npos;
          break;
        }
        fields[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
      }
    }
    line["msg"] = std::string(text.substr(0, cut));
    line.update(fields);
    // Invalid UTF-8 (a page's bytes in a message) is replaced, not thrown on.
    std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back('\n');
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_format must be text or json, not \"", name, "\""));
}

void SetUpLogging(LogFormat format, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>("foxpool",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_formatter(MakeJsonFormatter());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%t] %v");
  }
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

std::string LeaseFields(absl::string_view lease_id, pool::WindowId window,
                        absl::string_view session) {
  return absl::StrCat(kFieldsSeparator, "lease=", lease_id.substr(0, 8),
                      " window=", window.ToString(), " session=", session.empty() ? "-" : session);
}

std::unique_ptr<spdlog::formatter> MakeJsonFormatter() { return std::make_unique<JsonFormatter>(); }

}  // namespace foxpool::server
