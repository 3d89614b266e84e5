#include "firefox/profile.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

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

// A profile as a Firefox start leaves it: the seed's entries and the rest.
void WriteStartedProfile(const fs::path& dir) {
  ASSERT_TRUE(WriteProfile(dir, ExtensionConfig{"ws://127.0.0.1:1/", "seed", "old"}).ok());
  for (const char* entry : {"compatibility.ini", "prefs.js", "extensions.json",
                            "addonStartup.json.lz4", "times.json", "places.sqlite"}) {
    std::ofstream(dir / entry) << entry;
  }
  fs::create_directories(dir / "startupCache");
  std::ofstream(dir / "startupCache" / "scriptCache.bin") << "cache";
  fs::create_directories(dir / "sessionstore-backups");
}

TEST_F(ProfileTest, ASeedKeepsOnlyTheAddOnRegistryAndStartUpCaches) {
  fs::path seed = dir_ / "seed";
  WriteStartedProfile(seed);
  EXPECT_FALSE(SeedCachesWritten(seed));  // No extension start-up cache yet.
  std::ofstream(seed / "startupCache" / "webext.sc.lz4") << "cache";
  EXPECT_TRUE(SeedCachesWritten(seed));

  ASSERT_TRUE(PruneSeed(seed).ok());
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(seed)) left.insert(entry.path().filename());
  EXPECT_EQ(left, std::set<std::string>(std::begin(kSeedEntries), std::end(kSeedEntries)));
  EXPECT_TRUE(fs::exists(seed / "startupCache" / "scriptCache.bin"));
}

TEST_F(ProfileTest, ASeedMissingAnEntryIsRefused) {
  fs::path seed = dir_ / "seed";
  WriteStartedProfile(seed);
  fs::remove(seed / "compatibility.ini");
  absl::Status pruned = PruneSeed(seed);
  EXPECT_EQ(pruned.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(pruned.message(), HasSubstr("compatibility.ini"));
}

TEST_F(ProfileTest, AWindowFromASeedHasItsEntriesAndItsOwnExtensionConfig) {
  fs::path seed = dir_ / "seed";
  WriteStartedProfile(seed);
  ASSERT_TRUE(PruneSeed(seed).ok());
  fs::path window = dir_ / "window";
  fs::create_directories(window);
  ASSERT_TRUE(CopySeed(seed, window).ok());
  ASSERT_TRUE(WriteProfile(window, config_).ok());
  std::ifstream prefs(window / "prefs.js");
  std::string text((std::istreambuf_iterator<char>(prefs)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "prefs.js");
  EXPECT_TRUE(fs::exists(window / "startupCache" / "scriptCache.bin"));
  std::ifstream config(window / "foxpool-extension" / "config.json");
  std::string json((std::istreambuf_iterator<char>(config)), std::istreambuf_iterator<char>());
  EXPECT_THAT(json, HasSubstr("\"secret\":\"secret\""));
  // The proxy file names this window's extension, not the seed's.
  std::ifstream proxy(window / "extensions" / kExtensionId);
  std::string target((std::istreambuf_iterator<char>(proxy)), std::istreambuf_iterator<char>());
  EXPECT_EQ(target, (window / "foxpool-extension").string());
}

TEST_F(ProfileTest, CopyingFromAMissingSeedFails) {
  EXPECT_EQ(CopySeed(dir_ / "no-seed", dir_).code(), absl::StatusCode::kInternal);
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
