#include "firefox/profile.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::firefox {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("foxpool-profile-test-", getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string UserJs() {
    std::ifstream in(dir_ / "user.js");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  const ExtensionConfig config_{"ws://127.0.0.1:1/", "s", "secret"};
};

TEST_F(ProfileTest, OperatorPreferencesComeAfterFoxpoolsSoTheyWin) {
  ASSERT_TRUE(WriteProfile(dir_, config_, "user_pref(\"dom.ipc.processCount\", 4);").ok());
  std::string prefs = UserJs();
  size_t ours = prefs.find("user_pref(\"dom.ipc.processCount\", 1);");
  size_t theirs = prefs.find("user_pref(\"dom.ipc.processCount\", 4);");
  ASSERT_NE(ours, std::string::npos);
  ASSERT_NE(theirs, std::string::npos);
  EXPECT_LT(ours, theirs);
  EXPECT_TRUE(fs::exists(dir_ / "extensions" / kExtensionId));
}

TEST_F(ProfileTest, WithoutOperatorPreferencesOnlyFoxpoolsAreWritten) {
  ASSERT_TRUE(WriteProfile(dir_, config_).ok());
  EXPECT_EQ(UserJs(), LeanPreferences() + PrintPreferences(dir_));
}

TEST(CheckPreferencesTest, AcceptsPrefLinesCommentsAndBlankLines) {
  EXPECT_TRUE(
      CheckPreferences("// lean\n\nuser_pref(\"a.b\", true);\n  user_pref(\"c\", \"x\");  \n")
          .ok());
}

TEST(CheckPreferencesTest, RefusesAnythingElseNamingTheLine) {
  absl::Status s = CheckPreferences("user_pref(\"a\", 1);\npref(\"b\", 2);\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("line 2"));
  EXPECT_FALSE(CheckPreferences("user_pref(\"a\", 1)").ok());  // No semicolon.
}

}  // namespace
}  // namespace foxpool::firefox
