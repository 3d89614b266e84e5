#include "clients/cli/url_list.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ParseUrlList, KeepsUrlsInOrderAndSkipsBlankLinesAndComments) {
  EXPECT_THAT(ParseUrlList("# pages to check\n"
                           "http://a.test/\n"
                           "\n"
                           "   \t\n"
                           "  # indented comment\n"
                           "https://b.test/x?y=1#frag\n"
                           "http://c.test/"),
              ElementsAre("http://a.test/", "https://b.test/x?y=1#frag", "http://c.test/"));
}

TEST(ParseUrlList, TrimsWhitespaceWindowsLineEndsAndAByteOrderMark) {
  EXPECT_THAT(ParseUrlList("\xEF\xBB\xBFhttp://a.test/\r\n  http://b.test/  \r\n"),
              ElementsAre("http://a.test/", "http://b.test/"));
}

TEST(ParseUrlList, AnEmptyOrAllCommentListHasNoUrls) {
  EXPECT_THAT(ParseUrlList(""), IsEmpty());
  EXPECT_THAT(ParseUrlList("# nothing\n\n#\n"), IsEmpty());
}

TEST(ReadUrlList, ReadsAFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("url_list_test_" + std::to_string(getpid()));
  {
    std::ofstream file(path);
    file << "# list\nhttp://a.test/\n\nhttp://b.test/\n";
  }
  absl::StatusOr<std::vector<std::string>> urls = ReadUrlList(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(urls.ok()) << urls.status();
  EXPECT_THAT(*urls, ElementsAre("http://a.test/", "http://b.test/"));
}

TEST(ReadUrlList, AMissingFileIsNotFoundNamingIt) {
  absl::StatusOr<std::vector<std::string>> urls = ReadUrlList("/nonexistent/urls.txt");
  EXPECT_EQ(urls.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(urls.status().message(), ::testing::HasSubstr("/nonexistent/urls.txt"));
}

}  // namespace
}  // namespace foxpool::cli
