#include "server/commands.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "firefox/frame.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/grpc_status.h"

namespace foxpool::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr size_t kMaxLocatorBytes = 64 << 10;
// google.protobuf.Duration's own bound: 10,000 years.
constexpr int64_t kMaxDurationSeconds = 315'576'000'000;

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, " ", what));
}

// Walks every set field of `message` (named `path` in errors).
absl::Status CheckMessage(const Message& message, const std::string& path,
                          const ServiceOptions& options, size_t& upload_bytes) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  if (type->full_name() == "foxpool.v1.Locator") {
    const auto& locator = static_cast<const v1::Locator&>(message);
    if (absl::StripAsciiWhitespace(locator.value()).empty()) return Invalid(path, "is empty");
    if (locator.value().size() > kMaxLocatorBytes) {
      return Invalid(path, absl::StrCat("is longer than ", kMaxLocatorBytes, " bytes"));
    }
  } else if (type->full_name() == "foxpool.v1.ElementTarget") {
    const auto& element = static_cast<const v1::ElementTarget&>(message);
    if (element.element_case() == v1::ElementTarget::ELEMENT_NOT_SET) {
      return Invalid(path, "names no element: set a locator or an element_id");
    }
    if (element.has_element_id() && element.element_id().empty()) {
      return Invalid(path, "has an empty element_id");
    }
  } else if (type->full_name() == "google.protobuf.Duration") {
    const auto& duration = static_cast<const google::protobuf::Duration&>(message);
    if (FromProto(duration) < absl::ZeroDuration()) return Invalid(path, "must not be negative");
    // What google.protobuf.Duration allows (a positive one has no negative part).
    if (duration.seconds() > kMaxDurationSeconds || duration.nanos() < 0 ||
        duration.nanos() > 999'999'999) {
      return Invalid(path, absl::StrCat("is not a duration (seconds 0 to ", kMaxDurationSeconds,
                                        ", nanos 0 to 999999999)"));
    }
    return absl::OkStatus();
  } else if (type->full_name() == "foxpool.v1.FileData") {
    upload_bytes += static_cast<const v1::FileData&>(message).content().size();
    if (upload_bytes > options.max_upload_bytes) {
      return Invalid(
          path, absl::StrCat("makes the upload larger than ", options.max_upload_bytes, " bytes"));
    }
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    std::string name = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_map()) continue;
      int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
      for (int i = 0; i < count; ++i) {
        const Message& child = field->is_repeated()
                                   ? reflection->GetRepeatedMessage(message, field, i)
                                   : reflection->GetMessage(message, field);
        std::string child_path = field->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
        if (absl::Status s = CheckMessage(child, child_path, options, upload_bytes); !s.ok()) {
          return s;
        }
      }
    } else if (field->type() == FieldDescriptor::TYPE_STRING && !field->is_repeated()) {
      std::string value = reflection->GetString(message, field);
      if (field->name() == "url" && type->full_name() != "foxpool.v1.FrameSelector") {
        if (absl::Status s = firefox::CheckUrl(options.url_policy, name, value); !s.ok()) {
          return s;
        }
      }
      if ((field->name() == "expression" || field->name() == "source") &&
          value.size() > options.max_script_bytes) {
        return Invalid(name, absl::StrCat("has ", value.size(), " bytes; the limit is ",
                                          options.max_script_bytes));
      }
    }
  }
  return absl::OkStatus();
}

template <typename Request>
absl::Status RequireElement(const Request& request, const ServiceOptions&) {
  if (!request.has_element()) return Invalid("element", "is missing");
  return absl::OkStatus();
}

template <typename Request>
absl::Status RequireLocator(const Request& request, const ServiceOptions&) {
  if (!request.has_locator()) return Invalid("locator", "is missing");
  return absl::OkStatus();
}

template <typename Request>
absl::Status RequireTab(const Request& request, const ServiceOptions&) {
  if (request.tab_id() <= 0) return Invalid("tab_id", "must name a tab (ids from ListTabs)");
  return absl::OkStatus();
}

absl::Status CheckNavigate(const v1::NavigateRequest& request, const ServiceOptions&) {
  if (request.url().empty()) return Invalid("url", "is empty");
  return absl::OkStatus();
}

// Evaluate's arguments may be nested at most this many levels: written out
// again (recursively) for the extension, deeper ones would overflow the
// stack, and the extension's frames have room for them below their own
// limit (firefox::kMaxFrameDepth).
constexpr int kMaxArgsDepth = 64;
nlohmann::json ParseArgs(const std::string& args_json, bool& too_deep) {
  // Depth 0 is the outermost array's level.
  return firefox::ParseShallow(args_json, kMaxArgsDepth - 1, too_deep);
}

absl::Status CheckEvaluate(const v1::EvaluateRequest& request, const ServiceOptions&) {
  if (request.expression().empty()) return Invalid("expression", "is empty");
  if (request.args_json().empty()) return absl::OkStatus();
  bool too_deep;
  nlohmann::json args = ParseArgs(request.args_json(), too_deep);
  if (too_deep) {
    return Invalid("args_json",
                   absl::StrCat("is nested more than ", kMaxArgsDepth, " levels deep"));
  }
  if (args.is_discarded() || !args.is_array()) return Invalid("args_json", "must be a JSON array");
  return absl::OkStatus();
}

void EvaluateArgs(const v1::EvaluateRequest& request, nlohmann::json& params) {
  bool too_deep;  // Refused by CheckEvaluate.
  params["args"] = request.args_json().empty() ? nlohmann::json::array()
                                               : ParseArgs(request.args_json(), too_deep);
}

absl::Status CheckScreenshot(const v1::ScreenshotRequest& request, const ServiceOptions&) {
  if (request.quality() < 0 || request.quality() > 100) {
    return Invalid("quality", "must be 1 to 100 (0: the default, 90)");
  }
  if (request.quality() != 0 && request.format() != v1::IMAGE_FORMAT_JPEG) {
    return Invalid("quality", "applies to JPEG only");
  }
  if (request.full_page() && request.has_element()) {
    return Invalid("full_page", "and element exclude each other");
  }
  return absl::OkStatus();
}

absl::Status CheckTypeText(const v1::TypeTextRequest& request, const ServiceOptions& options) {
  if (absl::Status s = RequireElement(request, options); !s.ok()) return s;
  if (request.text().size() > options.max_script_bytes) {
    return Invalid("text", absl::StrCat("is longer than ", options.max_script_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckPressKey(const v1::PressKeyRequest& request, const ServiceOptions&) {
  if (request.key().empty()) return Invalid("key", "is empty");
  return absl::OkStatus();
}

absl::Status CheckSelectOption(const v1::SelectOptionRequest& request,
                               const ServiceOptions& options) {
  if (absl::Status s = RequireElement(request, options); !s.ok()) return s;
  if (request.values().empty()) return Invalid("values", "is empty");
  return absl::OkStatus();
}

absl::Status CheckUpload(const v1::UploadFileRequest& request, const ServiceOptions& options) {
  if (absl::Status s = RequireElement(request, options); !s.ok()) return s;
  if (request.files().empty()) return Invalid("files", "is empty");
  for (const v1::FileData& file : request.files()) {
    if (file.name().empty() || absl::StrContains(file.name(), '/')) {
      return Invalid("files.name", "must be a plain file name");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPreload(const v1::AddPreloadScriptRequest& request, const ServiceOptions&) {
  if (request.source().empty()) return Invalid("source", "is empty");
  return absl::OkStatus();
}

absl::Status CheckRemovePreload(const v1::RemovePreloadScriptRequest& request,
                                const ServiceOptions&) {
  if (request.script_id().empty()) return Invalid("script_id", "is empty");
  return absl::OkStatus();
}

absl::Status CheckSetCookie(const v1::SetCookieRequest& request, const ServiceOptions&) {
  if (request.cookie().name().empty()) return Invalid("cookie.name", "is empty");
  return absl::OkStatus();
}

absl::Status CheckSetStorage(const v1::SetStorageRequest& request, const ServiceOptions&) {
  if (request.items().empty()) return Invalid("items", "is empty");
  return absl::OkStatus();
}

absl::Status CheckProxy(const v1::SetProxyRequest& request, const ServiceOptions& options) {
  if (request.type() == v1::PROXY_TYPE_DIRECT_UNSPECIFIED) return absl::OkStatus();
  if (request.host().empty()) return Invalid("host", "is empty");
  if (request.port() < 1 || request.port() > 65535) return Invalid("port", "must be 1 to 65535");
  // Every request would go to the proxy: it is a destination like any URL.
  return firefox::CheckHost(options.url_policy, "host", request.host(), request.port());
}

absl::Status CheckViewport(const v1::SetViewportRequest& request, const ServiceOptions&) {
  constexpr int kMin = 100;
  constexpr int kMax = 8192;
  if (request.width() < kMin || request.width() > kMax || request.height() < kMin ||
      request.height() > kMax) {
    return Invalid("width and height", absl::StrCat("must be ", kMin, " to ", kMax));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsWait(std::string_view method) {
  return method == kWaitForElement.method || method == kWaitForNetworkIdle.method;
}

bool IsSampled(std::string_view method) {
  for (const char* unsampled : {kNavigate.method, kReload.method, kGoBack.method, kGoForward.method,
                                kOpenTab.method, kPrintToPdf.method}) {
    if (method == unsampled) return false;
  }
  return true;
}

size_t ResultLimit(std::string_view method, const ServiceOptions& options) {
  if (method == kScreenshot.method || method == kPrintToPdf.method) {
    return (options.max_screenshot_bytes + 2) / 3 * 4 + 4096;
  }
  return options.max_result_bytes;
}

absl::Status ResultTooLarge(size_t size, size_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the result is ", size, " bytes; the limit is ", limit,
                   " (--max_result_bytes, --max_screenshot_bytes)"));
}

absl::Status CheckRequest(const Message& request, const ServiceOptions& options) {
  size_t upload_bytes = 0;
  return CheckMessage(request, "", options, upload_bytes);
}

absl::StatusOr<absl::Duration> RequestTimeout(const Message& request,
                                              const ServiceOptions& options) {
  const FieldDescriptor* field = request.GetDescriptor()->FindFieldByName("timeout");
  if (field == nullptr || field->message_type() == nullptr ||
      !request.GetReflection()->HasField(request, field)) {
    return options.default_command_timeout;
  }
  absl::Duration value = FromProto(static_cast<const google::protobuf::Duration&>(
      request.GetReflection()->GetMessage(request, field)));
  if (value <= absl::ZeroDuration()) return Invalid("timeout", "must be positive");
  return value;
}

absl::StatusOr<nlohmann::json> RequestParams(const Message& request) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string text;
  // A message that parsed may still not print: a Duration out of its range
  // (CheckRequest refuses those first).
  auto printed = google::protobuf::util::MessageToJsonString(request, &text, print);
  if (!printed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request has no JSON form: ", std::string(printed.message())));
  }
  nlohmann::json params = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded()) return absl::InternalError("the request's JSON did not parse");
  params.erase("lease_id");
  return params;
}

absl::Status FillResponse(const std::string& result_json, Message* response) {
  if (result_json == "null") return absl::OkStatus();
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(result_json, response, parse);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("the window's answer does not fit ",
                                            response->GetDescriptor()->name(), ": ",
                                            std::string(status.message())));
  }
  return absl::OkStatus();
}

const Command<v1::NavigateRequest, v1::NavigateResponse> kNavigate{"navigate", CheckNavigate};
const Command<v1::GetTitleRequest, v1::GetTitleResponse> kGetTitle{"title"};
const Command<v1::GetUrlRequest, v1::GetUrlResponse> kGetUrl{"url"};
const Command<v1::GetContentRequest, v1::GetContentResponse> kGetContent{"content"};
const Command<v1::EvaluateRequest, v1::EvaluateResponse> kEvaluate{"evaluate", CheckEvaluate,
                                                                   EvaluateArgs};
const Command<v1::ScreenshotRequest, v1::ScreenshotResponse> kScreenshot{"screenshot",
                                                                         CheckScreenshot};
const Command<v1::ReloadRequest, v1::NavigateResponse> kReload{"reload"};
const Command<v1::HistoryRequest, v1::NavigateResponse> kGoBack{"go_back"};
const Command<v1::HistoryRequest, v1::NavigateResponse> kGoForward{"go_forward"};
const Command<v1::GetTextRequest, v1::GetTextResponse> kGetText{"get_text"};
const Command<v1::OpenTabRequest, v1::OpenTabResponse> kOpenTab{"open_tab"};
const Command<v1::ListTabsRequest, v1::ListTabsResponse> kListTabs{"list_tabs"};
const Command<v1::SwitchTabRequest, v1::SwitchTabResponse> kSwitchTab{
    "switch_tab", RequireTab<v1::SwitchTabRequest>};
const Command<v1::CloseTabRequest, v1::CloseTabResponse> kCloseTab{"close_tab",
                                                                   RequireTab<v1::CloseTabRequest>};
const Command<v1::ListFramesRequest, v1::ListFramesResponse> kListFrames{"list_frames"};
const Command<v1::FindElementRequest, v1::FindElementResponse> kFindElement{
    "find_element", RequireLocator<v1::FindElementRequest>};
const Command<v1::FindElementsRequest, v1::FindElementsResponse> kFindElements{
    "find_elements", RequireLocator<v1::FindElementsRequest>};
const Command<v1::WaitForElementRequest, v1::WaitForElementResponse> kWaitForElement{
    "wait_for_element", RequireLocator<v1::WaitForElementRequest>};
const Command<v1::GetElementRequest, v1::GetElementResponse> kGetElement{
    "get_element", RequireElement<v1::GetElementRequest>};
const Command<v1::ClickRequest, v1::ElementActionResponse> kClick{"click",
                                                                  RequireElement<v1::ClickRequest>};
const Command<v1::TypeTextRequest, v1::ElementActionResponse> kTypeText{"type_text", CheckTypeText};
const Command<v1::PressKeyRequest, v1::ElementActionResponse> kPressKey{"press_key", CheckPressKey};
const Command<v1::ElementRequest, v1::ElementActionResponse> kFocus{
    "focus", RequireElement<v1::ElementRequest>};
const Command<v1::ElementRequest, v1::ElementActionResponse> kHover{
    "hover", RequireElement<v1::ElementRequest>};
const Command<v1::ElementRequest, v1::ElementActionResponse> kScrollIntoView{
    "scroll_into_view", RequireElement<v1::ElementRequest>};
const Command<v1::SelectOptionRequest, v1::SelectOptionResponse> kSelectOption{"select_option",
                                                                               CheckSelectOption};
const Command<v1::SetCheckedRequest, v1::ElementActionResponse> kSetChecked{
    "set_checked", RequireElement<v1::SetCheckedRequest>};
const Command<v1::UploadFileRequest, v1::ElementActionResponse> kUploadFile{"upload_file",
                                                                            CheckUpload};
const Command<v1::AddPreloadScriptRequest, v1::AddPreloadScriptResponse> kAddPreloadScript{
    "add_preload_script", CheckPreload};
const Command<v1::RemovePreloadScriptRequest, v1::RemovePreloadScriptResponse> kRemovePreloadScript{
    "remove_preload_script", CheckRemovePreload};
const Command<v1::GetCookiesRequest, v1::GetCookiesResponse> kGetCookies{"get_cookies"};
const Command<v1::SetCookieRequest, v1::SetCookieResponse> kSetCookie{"set_cookie", CheckSetCookie};
const Command<v1::DeleteCookiesRequest, v1::DeleteCookiesResponse> kDeleteCookies{"delete_cookies"};
const Command<v1::GetStorageRequest, v1::GetStorageResponse> kGetStorage{"get_storage"};
const Command<v1::SetStorageRequest, v1::SetStorageResponse> kSetStorage{"set_storage",
                                                                         CheckSetStorage};
const Command<v1::ClearStorageRequest, v1::ClearStorageResponse> kClearStorage{"clear_storage"};
const Command<v1::SetBlockRulesRequest, v1::SetBlockRulesResponse> kSetBlockRules{
    "set_block_rules"};
const Command<v1::SetExtraHeadersRequest, v1::SetExtraHeadersResponse> kSetExtraHeaders{
    "set_extra_headers"};
const Command<v1::SetUserAgentRequest, v1::SetUserAgentResponse> kSetUserAgent{"set_user_agent"};
const Command<v1::SetProxyRequest, v1::SetProxyResponse> kSetProxy{"set_proxy", CheckProxy};
const Command<v1::WaitForNetworkIdleRequest, v1::WaitForNetworkIdleResponse> kWaitForNetworkIdle{
    "wait_for_network_idle"};
const Command<v1::SetViewportRequest, v1::SetViewportResponse> kSetViewport{"set_viewport",
                                                                            CheckViewport};
const Command<v1::SetDialogPolicyRequest, v1::SetDialogPolicyResponse> kSetDialogPolicy{
    "set_dialog_policy"};
const Command<v1::PrintToPdfRequest, v1::PrintToPdfResponse> kPrintToPdf{"print_to_pdf"};

}  // namespace foxpool::server
