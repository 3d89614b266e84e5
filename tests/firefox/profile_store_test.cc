#include "firefox/profile_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::firefox {
namespace {

namespace fs = std::filesystem;

// A SQLite database at `path` holding `value`.
void MakeDatabase(const fs::path& path, const std::string& value) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql = absl::StrCat("CREATE TABLE t(v TEXT); INSERT INTO t VALUES('", value, "');");
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

std::string ReadValue(const fs::path& path) {
  sqlite3* db = nullptr;
  std::string value;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT v FROM t",
        [](void* out, int, char** row, char**) {
          *static_cast<std::string*>(out) = row[0];
          return 0;
        },
        &value, nullptr);
  }
  sqlite3_close(db);
  return value;
}

class ProfileStoreTest : public ::testing::Test {
 protected:
  ProfileStoreTest()
      : dir_(fs::temp_directory_path() /
             absl::StrCat("profile_store_test-", getpid(), "-",
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        store_(dir_) {}
  ~ProfileStoreTest() override { fs::remove_all(dir_); }

  fs::path dir_;
  ProfileStore store_;
};

TEST(ProfileNameTest, OnlyShortPlainNames) {
  EXPECT_TRUE(ProfileStore::CheckName("alice").ok());
  EXPECT_TRUE(ProfileStore::CheckName("team-7_b").ok());
  for (const char* bad : {"", "Alice", "../x", "a/b", "-a", "_a", "a b", "é"}) {
    EXPECT_EQ(ProfileStore::CheckName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ProfileStore::CheckName(std::string(65, 'a')).ok());
}

TEST_F(ProfileStoreTest, AProfileIsLockedWhileUsedAndSnapshottedAfterACleanExit) {
  absl::StatusOr<ProfileStore::Prepared> prepared = store_.Prepare("alice");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->dir, dir_ / "profiles/alice/current");
  EXPECT_EQ(prepared->restored, "");
  // Other users on the machine cannot read anyone's cookies (or secrets).
  EXPECT_EQ(fs::status(dir_ / "profiles").permissions(), fs::perms::owner_all);
  EXPECT_EQ(store_.Prepare("alice").status().code(), absl::StatusCode::kFailedPrecondition);
  MakeDatabase(prepared->dir / "cookies.sqlite", "first");
  std::ofstream(prepared->dir / ".parentlock") << "";
  store_.Finished("alice", /*clean_exit=*/false);
  EXPECT_FALSE(fs::exists(dir_ / "profiles/alice/snapshot"));  // Not from an unclean exit.
  ASSERT_TRUE(store_.Prepare("alice").ok());
  store_.Finished("alice", /*clean_exit=*/true);
  EXPECT_EQ(ReadValue(dir_ / "profiles/alice/snapshot/cookies.sqlite"), "first");
  EXPECT_FALSE(fs::exists(dir_ / "profiles/alice/snapshot/.parentlock"));
}

TEST_F(ProfileStoreTest, ACorruptDatabaseIsRestoredFromTheSnapshot) {
  fs::path current = store_.Prepare("alice")->dir;
  MakeDatabase(current / "cookies.sqlite", "good");
  store_.Finished("alice", /*clean_exit=*/true);
  {
    std::fstream file(current / "cookies.sqlite", std::ios::in | std::ios::out | std::ios::binary);
    file.write(std::string(4096, 'X').data(), 4096);
  }
  EXPECT_THAT(ProfileStore::CorruptDatabases(current), ::testing::ElementsAre("cookies.sqlite"));
  absl::StatusOr<ProfileStore::Prepared> prepared = store_.Prepare("alice");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_THAT(prepared->restored, ::testing::HasSubstr("cookies.sqlite"));
  EXPECT_EQ(ReadValue(current / "cookies.sqlite"), "good");
  EXPECT_EQ(store_.restores().at("corrupt"), 1);
}

TEST_F(ProfileStoreTest, ProfilesAreListedAndDeletedWhenNotInUse) {
  EXPECT_TRUE(store_.List().empty());
  ASSERT_TRUE(store_.Prepare("bob").ok());
  std::vector<ProfileStore::Info> listed = store_.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "bob");
  EXPECT_TRUE(listed[0].in_use);
  EXPECT_EQ(store_.Delete("bob").code(), absl::StatusCode::kFailedPrecondition);
  store_.Finished("bob", /*clean_exit=*/true);
  EXPECT_TRUE(store_.List()[0].has_snapshot);
  EXPECT_TRUE(store_.Delete("bob").ok());
  EXPECT_EQ(store_.Delete("bob").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_.List().empty());
}

TEST_F(ProfileStoreTest, NewProfilesAreCopiesOfTheTemplate) {
  fs::path seed = dir_ / "seed";
  fs::create_directories(seed);
  MakeDatabase(seed / "cookies.sqlite", "seeded");
  ProfileStore seeded(dir_ / "state", seed);
  absl::StatusOr<ProfileStore::Prepared> prepared = seeded.Prepare("carol");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(ReadValue(prepared->dir / "cookies.sqlite"), "seeded");
}

}  // namespace
}  // namespace foxpool::firefox
