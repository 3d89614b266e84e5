#include "clients/cli/command_line.h"

#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "clients/cli/flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CommandLineTest : public ::testing::Test {
 protected:
  absl::StatusOr<CommandLine> Parse(std::vector<const char*> args) {
    args.insert(args.begin(), "foxpool");
    return ParseCommandLine(static_cast<int>(args.size()), args.data());
  }

 private:
  absl::FlagSaver saver_;  // Each test starts from the defaults.
};

TEST_F(CommandLineTest, FlagsMayComeAnywhereInEitherForm) {
  absl::StatusOr<CommandLine> parsed =
      Parse({"batch", "--concurrency", "8", "urls.txt", "--eval=document.title", "--screenshot-dir",
             "out/", "-retries=5", "--json"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->args, ElementsAre("batch", "urls.txt"));
  EXPECT_FALSE(parsed->help);
  EXPECT_EQ(absl::GetFlag(FLAGS_concurrency), 8);
  EXPECT_EQ(absl::GetFlag(FLAGS_eval), "document.title");
  EXPECT_EQ(absl::GetFlag(FLAGS_screenshot_dir), "out/");
  EXPECT_EQ(absl::GetFlag(FLAGS_retries), 5);
  EXPECT_TRUE(absl::GetFlag(FLAGS_json));
}

TEST_F(CommandLineTest, BooleansTakeNoPrefixAndDurationsUnits) {
  ASSERT_TRUE(Parse({"status", "--json", "--nojson", "--timeout=90s"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_json));
  EXPECT_EQ(absl::GetFlag(FLAGS_timeout), absl::Seconds(90));
}

TEST_F(CommandLineTest, DashNegativeNumbersAndDoubleDashAreArguments) {
  absl::StatusOr<CommandLine> parsed = Parse({"batch", "-", "--", "--json"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->args, ElementsAre("batch", "-", "--json"));
  EXPECT_FALSE(absl::GetFlag(FLAGS_json));
  parsed = Parse({"eval", "-1", "--url", "http://a.test/"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->args, ElementsAre("eval", "-1"));
  EXPECT_EQ(absl::GetFlag(FLAGS_url), "http://a.test/");
}

TEST_F(CommandLineTest, HelpIsNoted) {
  EXPECT_TRUE(Parse({"--help"})->help);
  EXPECT_TRUE(Parse({"batch", "-h"})->help);
}

TEST_F(CommandLineTest, MistakesAreInvalidArgumentsNotExits) {
  absl::StatusOr<CommandLine> parsed = Parse({"status", "--colour"});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("unknown flag --colour"));

  parsed = Parse({"batch", "urls.txt", "--concurrency=many"});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("--concurrency"));

  parsed = Parse({"batch", "urls.txt", "--output"});
  EXPECT_THAT(parsed.status().message(), HasSubstr("needs a value"));

  parsed = Parse({"status", "--timeout=30"});  // A duration needs its unit.
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);

  // "no" only negates a boolean.
  EXPECT_FALSE(Parse({"status", "--noretries"}).ok());
  EXPECT_FALSE(Parse({"status", "--nojson=true"}).ok());
}

TEST_F(CommandLineTest, HelpListsEveryFlagWithItsDefault) {
  std::string help = FlagsHelp();
  EXPECT_THAT(help, HasSubstr("--address (default: \"127.0.0.1:50051\")"));
  EXPECT_THAT(help, HasSubstr("--retries (default: \"2\")"));
  EXPECT_THAT(help, HasSubstr("--screenshot_dir"));
}

}  // namespace
}  // namespace foxpool::cli
