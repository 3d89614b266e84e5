#include "server/commands.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/png.h"

namespace foxpool::server {
namespace {

// Only web pages and the blank page: file:, chrome:, about:config and
// friends would hand the caller the server's files or browser internals.
absl::Status CheckUrl(const std::string& url) {
  if (url == "about:blank") return absl::OkStatus();
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "http://") || absl::StartsWith(lower, "https://")) {
    return absl::OkStatus();
  }
  if (url.empty()) return absl::InvalidArgumentError("url is empty");
  return absl::InvalidArgumentError(absl::StrCat(
      "URL scheme not allowed (use http, https or about:blank): ", url.substr(0, 100)));
}

// The request's own `timeout` field, if it has one and it is set.
template <typename Request>
absl::StatusOr<absl::Duration> TimeoutField(const Request& request, const ServiceOptions& options) {
  if (!request.has_timeout()) return options.default_command_timeout;
  absl::Duration value = FromProto(request.timeout());
  if (value <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout must be positive");
  return value;
}

template <typename Request>
absl::StatusOr<absl::Duration> DefaultTimeout(const Request&, const ServiceOptions& options) {
  return options.default_command_timeout;
}

template <typename Request>
absl::StatusOr<nlohmann::json> NoParams(const Request&, const ServiceOptions&) {
  return nlohmann::json::object();
}

// A string field of a command result.
std::string Text(const nlohmann::json& result, const char* key) {
  auto it = result.is_object() ? result.find(key) : result.end();
  return it != result.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::StatusOr<nlohmann::json> NavigateParams(const v1::NavigateRequest& request,
                                              const ServiceOptions&) {
  if (absl::Status s = CheckUrl(request.url()); !s.ok()) return s;
  return nlohmann::json{{"url", request.url()}};
}

absl::StatusOr<nlohmann::json> EvaluateParams(const v1::EvaluateRequest& request,
                                              const ServiceOptions& options) {
  if (request.expression().empty()) return absl::InvalidArgumentError("expression is empty");
  if (request.expression().size() > options.max_script_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("expression has ", request.expression().size(),
                                                   " bytes; the limit is ",
                                                   options.max_script_bytes));
  }
  nlohmann::json args = nlohmann::json::array();
  if (!request.args_json().empty()) {
    args = nlohmann::json::parse(request.args_json(), nullptr, false);
    if (args.is_discarded() || !args.is_array()) {
      return absl::InvalidArgumentError("args_json must be a JSON array");
    }
  }
  return nlohmann::json{{"expression", request.expression()}, {"args", std::move(args)}};
}

absl::StatusOr<nlohmann::json> ScreenshotParams(const v1::ScreenshotRequest& request,
                                                const ServiceOptions&) {
  if (request.format() != v1::IMAGE_FORMAT_PNG_UNSPECIFIED) {
    return absl::InvalidArgumentError("only PNG screenshots are supported");
  }
  return nlohmann::json::object();
}

absl::Status FillScreenshot(const nlohmann::json& result, v1::ScreenshotResponse* out) {
  std::string image;
  if (!absl::Base64Unescape(Text(result, "base64"), &image)) {
    return absl::InternalError("the window sent a screenshot that is not base64");
  }
  absl::StatusOr<PngSize> size = ReadPngSize(image);
  if (!size.ok()) return size.status();
  out->set_format(v1::IMAGE_FORMAT_PNG_UNSPECIFIED);
  out->set_width(size->width);
  out->set_height(size->height);
  out->set_image(std::move(image));
  return absl::OkStatus();
}

}  // namespace

const Command<v1::NavigateRequest, v1::NavigateResponse> kNavigate{
    "navigate", NavigateParams, TimeoutField<v1::NavigateRequest>,
    [](const nlohmann::json& result, v1::NavigateResponse* out) {
      out->set_url(Text(result, "url"));
      out->set_title(Text(result, "title"));
      return absl::OkStatus();
    }};

const Command<v1::GetTitleRequest, v1::GetTitleResponse> kGetTitle{
    "title", NoParams<v1::GetTitleRequest>, DefaultTimeout<v1::GetTitleRequest>,
    [](const nlohmann::json& result, v1::GetTitleResponse* out) {
      out->set_title(Text(result, "title"));
      return absl::OkStatus();
    }};

const Command<v1::GetUrlRequest, v1::GetUrlResponse> kGetUrl{
    "url", NoParams<v1::GetUrlRequest>, DefaultTimeout<v1::GetUrlRequest>,
    [](const nlohmann::json& result, v1::GetUrlResponse* out) {
      out->set_url(Text(result, "url"));
      return absl::OkStatus();
    }};

const Command<v1::GetContentRequest, v1::GetContentResponse> kGetContent{
    "content", NoParams<v1::GetContentRequest>, DefaultTimeout<v1::GetContentRequest>,
    [](const nlohmann::json& result, v1::GetContentResponse* out) {
      out->set_html(Text(result, "html"));
      return absl::OkStatus();
    }};

const Command<v1::EvaluateRequest, v1::EvaluateResponse> kEvaluate{
    "evaluate", EvaluateParams, TimeoutField<v1::EvaluateRequest>,
    [](const nlohmann::json& result, v1::EvaluateResponse* out) {
      out->set_result_json(Text(result, "json"));
      return absl::OkStatus();
    }};

const Command<v1::ScreenshotRequest, v1::ScreenshotResponse> kScreenshot{
    "screenshot", ScreenshotParams, DefaultTimeout<v1::ScreenshotRequest>, FillScreenshot};

}  // namespace foxpool::server
