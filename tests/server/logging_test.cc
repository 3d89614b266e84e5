#include "server/logging.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace foxpool::server {
namespace {

nlohmann::json Format(const std::string& text, spdlog::level::level_enum level) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "foxpool", level, text);
  spdlog::memory_buf_t out;
  MakeJsonFormatter()->format(msg, out);
  std::string line(out.data(), out.size());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // One line per entry.
  return nlohmann::json::parse(line);
}

TEST(LoggingTest, LeaseFieldsBecomeKeysOfTheJsonLine) {
  std::string lease(32, 'a');
  nlohmann::json line =
      Format("lease granted after 2ms" + LeaseFields(lease, pool::WindowId(3), "f00d"),
             spdlog::level::info);
  EXPECT_EQ(line["msg"], "lease granted after 2ms");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["lease"], "aaaaaaaa");  // Only a prefix: the id is a credential.
  EXPECT_EQ(line["window"], "w3");
  EXPECT_EQ(line["session"], "f00d");
  EXPECT_TRUE(line["ts"].get<std::string>().ends_with("Z"));
}

TEST(LoggingTest, TextThatOnlyLooksLikeFieldsStaysInTheMessage) {
  nlohmann::json line = Format("a | b c", spdlog::level::warn);
  EXPECT_EQ(line["msg"], "a | b c");
  EXPECT_FALSE(line.contains("b"));
}

TEST(LoggingTest, InvalidUtf8AndQuotesStayValidJson) {
  nlohmann::json line = Format("title \"x\" \xff\xfe end", spdlog::level::err);
  EXPECT_EQ(line["level"], "error");
  EXPECT_TRUE(line["msg"].get<std::string>().starts_with("title \"x\" "));
}

TEST(LoggingTest, FormatNamesAreChecked) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("xml").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace foxpool::server
