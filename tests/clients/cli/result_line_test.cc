#include "clients/cli/result_line.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace foxpool::cli {
namespace {

using ::testing::MatchesRegex;

TEST(ToJsonLine, ALoadedPageWithItsEvalResultAndScreenshot) {
  UrlResult result{.url = "http://a.test/",
                   .final_url = "http://a.test/home",
                   .title = "Home \"page\"",
                   .loaded = true,
                   .result_json = R"({"links":3,"h1":"Hi"})",
                   .screenshot = "out/0-a.test.png",
                   .attempts = 2,
                   .took = absl::Milliseconds(1234.6)};
  EXPECT_EQ(ToJsonLine(result),
            R"({"url":"http://a.test/","ok":true,"final_url":"http://a.test/home",)"
            R"("title":"Home \"page\"","result":{"links":3,"h1":"Hi"},)"
            R"("screenshot":"out/0-a.test.png","error":null,"attempts":2,"ms":1234})");
}

TEST(ToJsonLine, AFailureCarriesItsCodeAndMessageAndNullsForWhatIsUnknown) {
  UrlResult result{.url = "http://127.0.0.1:9/",
                   .status = absl::UnavailableError("NS_ERROR_CONNECTION_REFUSED"),
                   .attempts = 3,
                   .took = absl::Milliseconds(80)};
  nlohmann::json line = nlohmann::json::parse(ToJsonLine(result));
  EXPECT_EQ(line["ok"], false);
  EXPECT_TRUE(line["final_url"].is_null());
  EXPECT_TRUE(line["title"].is_null());
  EXPECT_TRUE(line["result"].is_null());
  EXPECT_TRUE(line["screenshot"].is_null());
  EXPECT_EQ(line["error"]["code"], "UNAVAILABLE");
  EXPECT_EQ(line["error"]["message"], "NS_ERROR_CONNECTION_REFUSED");
  EXPECT_EQ(line["attempts"], 3);
}

TEST(ToJsonLine, ALoadedPageWhoseScriptThrewKeepsItsTitle) {
  UrlResult result{.url = "http://a.test/",
                   .final_url = "http://a.test/",
                   .title = "",
                   .loaded = true,
                   .status = absl::UnknownError("ReferenceError: nope is not defined"),
                   .attempts = 1};
  nlohmann::json line = nlohmann::json::parse(ToJsonLine(result));
  EXPECT_EQ(line["title"], "");
  EXPECT_EQ(line["error"]["code"], "UNKNOWN");
}

TEST(ToJsonLine, IsOneLineEvenForMultiLineOrInvalidUtf8Text) {
  UrlResult result{.url = "http://a.test/",
                   .final_url = "http://a.test/",
                   .title = "two\nlines \xff",
                   .loaded = true,
                   .result_json = "\"x\\ny\""};
  std::string line = ToJsonLine(result);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["title"], "two\nlines \xEF\xBF\xBD");
  EXPECT_EQ(parsed["result"], "x\ny");
}

TEST(ToJsonLine, ScalarAndNonJsonResults) {
  UrlResult result{.url = "u", .loaded = true, .result_json = "null"};
  EXPECT_TRUE(nlohmann::json::parse(ToJsonLine(result))["result"].is_null());
  result.result_json = "42";
  EXPECT_EQ(nlohmann::json::parse(ToJsonLine(result))["result"], 42);
  result.result_json = "not json";
  EXPECT_EQ(nlohmann::json::parse(ToJsonLine(result))["result"], "not json");
}

TEST(ScreenshotName, IndexPaddedToTheListThenASafeUrl) {
  EXPECT_EQ(ScreenshotName(7, 120, "http://127.0.0.1:8080/docs/a.html?q=1&r=2"),
            "007-127.0.0.1_8080_docs_a.html_q_1_r_2.png");
  EXPECT_EQ(ScreenshotName(0, 1, "https://example.com/"), "0-example.com.png");
  EXPECT_EQ(ScreenshotName(3, 10, "about:blank"), "3-about_blank.png");
  EXPECT_EQ(ScreenshotName(3, 10, "///"), "3-page.png");
}

TEST(ScreenshotName, NeverLeavesTheDirectoryAndStaysShort) {
  std::string name = ScreenshotName(12, 100, "http://a.test/../../etc/" + std::string(500, 'x'));
  EXPECT_THAT(name, MatchesRegex("12-[A-Za-z0-9._-]+\\.png"));
  EXPECT_EQ(name.find('/'), std::string::npos);
  EXPECT_LE(name.size(), 100u);
}

}  // namespace
}  // namespace foxpool::cli
