// What every command request is checked for before it reaches a window,
// and how requests and results cross to the extension as proto JSON.

#include "server/commands.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::server {
namespace {

using ::testing::HasSubstr;

absl::Status Check(const google::protobuf::Message& request) {
  return CheckRequest(request, ServiceOptions{});
}

TEST(CheckRequestTest, LocatorsMustSaySomething) {
  v1::ClickRequest click;
  click.mutable_element()->mutable_locator()->set_value("  ");
  absl::Status status = Check(click);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("element.locator"));

  click.mutable_element()->mutable_locator()->set_value("#go");
  EXPECT_TRUE(Check(click).ok());
}

TEST(CheckRequestTest, AnElementTargetMustNameAnElement) {
  v1::GetTextRequest text;
  EXPECT_TRUE(Check(text).ok());  // No element: the whole page.
  text.mutable_element()->mutable_target()->set_tab_id(3);
  absl::Status status = Check(text);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("names no element"));
}

TEST(CheckRequestTest, UrlsOfOtherSchemesAreRefusedWhereverTheyAre) {
  for (const char* url : {"file:///etc/passwd", "javascript:alert(1)", "about:config",
                          "chrome://browser/content/browser.xhtml"}) {
    v1::OpenTabRequest open;
    open.set_url(url);
    EXPECT_EQ(Check(open).code(), absl::StatusCode::kInvalidArgument) << url;
    v1::SetCookieRequest cookie;
    cookie.set_url(url);
    EXPECT_EQ(Check(cookie).code(), absl::StatusCode::kInvalidArgument) << url;
  }
  v1::OpenTabRequest open;
  open.set_url("HTTPS://example.test/");
  EXPECT_TRUE(Check(open).ok());
  // A frame is matched by part of its URL, which is not a URL to load.
  v1::EvaluateRequest evaluate;
  evaluate.set_expression("1");
  evaluate.mutable_target()->mutable_frame()->set_url("child.html");
  EXPECT_TRUE(Check(evaluate).ok());
}

TEST(CheckRequestTest, ScriptsAndUploadsHaveLimits) {
  ServiceOptions options;
  options.max_script_bytes = 10;
  options.max_upload_bytes = 8;
  v1::AddPreloadScriptRequest preload;
  preload.set_source(std::string(11, 'x'));
  EXPECT_EQ(CheckRequest(preload, options).code(), absl::StatusCode::kInvalidArgument);

  v1::UploadFileRequest upload;
  upload.mutable_element()->set_element_id("1.0.1");
  upload.add_files()->set_content(std::string(5, 'a'));
  EXPECT_TRUE(CheckRequest(upload, options).ok());
  upload.add_files()->set_content(std::string(5, 'b'));
  absl::Status status = CheckRequest(upload, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("files[1]"));
}

TEST(CheckRequestTest, EvaluateArgumentsAreAShallowEnoughJsonArray) {
  v1::EvaluateRequest evaluate;
  evaluate.set_expression("(a) => a");
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  evaluate.set_args_json(nested(64));
  EXPECT_TRUE(CheckRequest(evaluate, ServiceOptions{}).ok());
  EXPECT_TRUE(kEvaluate.check(evaluate, ServiceOptions{}).ok());
  // Deeper would overflow the stack as it is written out for the extension
  // (300,000 levels crashed foxpoold).
  for (int depth : {65, 300000}) {
    evaluate.set_args_json(nested(depth));
    absl::Status status = kEvaluate.check(evaluate, ServiceOptions{});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << depth;
    EXPECT_THAT(status.message(), HasSubstr("nested more than 64 levels")) << depth;
  }
  evaluate.set_args_json("{\"a\": 1}");
  EXPECT_THAT(kEvaluate.check(evaluate, ServiceOptions{}).message(), HasSubstr("JSON array"));
}

TEST(CheckRequestTest, DurationsMustBeInTheirRange) {
  v1::ReloadRequest reload;
  reload.mutable_timeout()->set_seconds(int64_t{1} << 62);
  absl::Status status = Check(reload);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("timeout is not a duration"));
  reload.mutable_timeout()->set_seconds(5);
  reload.mutable_timeout()->set_nanos(-1);  // Signs must agree.
  EXPECT_EQ(Check(reload).code(), absl::StatusCode::kInvalidArgument);
  reload.mutable_timeout()->set_nanos(1'000'000'000);
  EXPECT_EQ(Check(reload).code(), absl::StatusCode::kInvalidArgument);
  reload.mutable_timeout()->set_nanos(999'999'999);
  EXPECT_TRUE(Check(reload).ok());
}

TEST(CheckRequestTest, DurationsMustNotBeNegativeAndTimeoutsArePositive) {
  v1::WaitForNetworkIdleRequest idle;
  idle.mutable_idle_time()->set_seconds(-1);
  EXPECT_EQ(Check(idle).code(), absl::StatusCode::kInvalidArgument);

  ServiceOptions options;
  v1::WaitForElementRequest wait;
  EXPECT_EQ(*RequestTimeout(wait, options), options.default_command_timeout);
  wait.mutable_timeout()->set_nanos(250'000'000);
  EXPECT_EQ(*RequestTimeout(wait, options), absl::Milliseconds(250));
  wait.mutable_timeout()->set_nanos(0);
  EXPECT_EQ(RequestTimeout(wait, options).status().code(), absl::StatusCode::kInvalidArgument);
  // Requests without a timeout field take the default.
  EXPECT_EQ(*RequestTimeout(v1::GetTitleRequest(), options), options.default_command_timeout);
}

TEST(RequestParamsTest, TheExtensionSeesProtoJsonWithoutTheLease) {
  v1::FindElementsRequest find;
  find.set_lease_id("secret-lease");
  find.mutable_locator()->set_strategy(v1::LOCATOR_STRATEGY_XPATH);
  find.mutable_locator()->set_value("//a");
  find.mutable_target()->mutable_frame()->set_name("ads");
  nlohmann::json params = RequestParams(find).value();
  EXPECT_FALSE(params.contains("lease_id"));
  EXPECT_EQ(params["locator"]["strategy"], "LOCATOR_STRATEGY_XPATH");
  EXPECT_EQ(params["target"]["frame"]["name"], "ads");
  EXPECT_FALSE(params.contains("limit"));  // Defaults are left out.

  v1::UploadFileRequest upload;
  upload.add_files()->set_content("hi");
  EXPECT_EQ(RequestParams(upload).value()["files"][0]["content"], "aGk=");  // bytes: base64
}

TEST(RequestParamsTest, ARequestWithoutAJsonFormIsAnErrorNotACrash) {
  // Found by the request fuzzer: a Duration beyond its range parses but
  // does not print (CheckRequest refuses it first; this is the backstop).
  v1::ReloadRequest reload;
  reload.mutable_timeout()->set_seconds(int64_t{1} << 62);
  absl::StatusOr<nlohmann::json> params = RequestParams(reload);
  EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(params.status().message(), HasSubstr("no JSON form"));
}

TEST(FillResponseTest, ReadsProtoJsonAndRefusesWhatDoesNotFit) {
  v1::NavigateResponse navigate;
  ASSERT_TRUE(FillResponse(nlohmann::json{{"url", "http://x/"},
                                          {"http_status", 404},
                                          {"took", "0.250s"},
                                          {"something_new", true}}
                               .dump(),
                           &navigate)
                  .ok());
  EXPECT_EQ(navigate.url(), "http://x/");
  EXPECT_EQ(navigate.http_status(), 404);
  EXPECT_EQ(navigate.took().nanos(), 250'000'000);

  v1::ScreenshotResponse screenshot;
  absl::Status status = FillResponse(R"({"width": "wide"})", &screenshot);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("ScreenshotResponse"));
  // Not JSON at all, and nothing: the window broke its side of the contract.
  EXPECT_EQ(FillResponse("{not json", &screenshot).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(FillResponse("null", &screenshot).ok());
}

}  // namespace
}  // namespace foxpool::server
