#include "firefox/memory.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace foxpool::firefox {
namespace {

namespace fs = std::filesystem;

constexpr char kRollup[] =
    "55d0c0a00000-7ffd7e5f3000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:              204800 kB\n"
    "Pss:              102400 kB\n"
    "Pss_Anon:          90000 kB\n"
    "Pss_File:          12400 kB\n";

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            absl::StrCat("memory_test-", getpid(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  // A process `pid` in group `pgrp` with `pss_kb` of PSS.
  void Process(int pid, int pgrp, int pss_kb) {
    fs::path dir = root_ / "proc" / std::to_string(pid);
    // The command name may hold spaces and parentheses.
    Write(dir / "stat", absl::StrCat(pid, " (Web Content (x)) S 1 ", pgrp, " ", pgrp, " 0 -1"));
    Write(dir / "smaps_rollup", absl::StrCat("Rss: 1 kB\nPss:   ", pss_kb, " kB\n"));
  }

  fs::path root_;
};

TEST(ParseTest, PssIsTheRollupsPssLineInBytes) {
  absl::StatusOr<uint64_t> pss = ParsePss(kRollup);
  ASSERT_TRUE(pss.ok()) << pss.status();
  EXPECT_EQ(*pss, 102400u * 1024);
  EXPECT_FALSE(ParsePss("Rss: 1 kB\nPss_Anon: 5 kB\n").ok());
}

TEST(ParseTest, KeyedValuesAcceptTabsAndSpaces) {
  constexpr char kMeminfo[] = "MemTotal:       24684084 kB\nMemFree:\t 100 kB\n";
  EXPECT_EQ(*ParseKeyedValue(kMeminfo, "MemTotal"), 24684084u);
  EXPECT_EQ(*ParseKeyedValue(kMeminfo, "MemFree"), 100u);
  EXPECT_EQ(*ParseKeyedValue("anon 5\ninactive_file 42\n", "inactive_file"), 42u);
  EXPECT_FALSE(ParseKeyedValue(kMeminfo, "MemAvailable").ok());
}

TEST_F(FakeProc, AGroupsPssIsTheSumOfItsProcesses) {
  Process(100, 100, 1000);  // The leader.
  Process(101, 100, 500);   // Its content process.
  Process(102, 999, 7000);  // Someone else's.
  absl::StatusOr<uint64_t> pss = ProcessGroupPss(100, root_ / "proc");
  ASSERT_TRUE(pss.ok()) << pss.status();
  EXPECT_EQ(*pss, 1500u * 1024);
  EXPECT_EQ(ProcessGroupPss(555, root_ / "proc").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeProc, SystemMemoryComesFromTheNearestCgroupWithALimit) {
  Write(root_ / "proc/self/cgroup", "0::/kubepods/pod1/foxpool\n");
  fs::path cgroup = root_ / "cgroup";
  Write(cgroup / "kubepods/pod1/foxpool/memory.max", "max\n");  // No limit of its own.
  Write(cgroup / "kubepods/pod1/memory.max", "1073741824\n");
  Write(cgroup / "kubepods/pod1/memory.current", "536870912\n");
  Write(cgroup / "kubepods/pod1/memory.stat", "anon 1\ninactive_file 134217728\n");
  Write(root_ / "proc/meminfo", "MemTotal: 100 kB\nMemAvailable: 50 kB\n");
  absl::StatusOr<SystemMemory> memory = ReadSystemMemory(root_ / "proc", cgroup);
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->source, "cgroup");
  EXPECT_EQ(memory->limit_bytes, 1073741824u);
  EXPECT_EQ(memory->used_bytes, 536870912u - 134217728u);  // The working set.
  EXPECT_DOUBLE_EQ(memory->used_ratio(), 0.375);
}

TEST_F(FakeProc, WithoutACgroupLimitSystemMemoryIsTheMachines) {
  Write(root_ / "proc/self/cgroup", "0::/user.slice\n");
  Write(root_ / "cgroup/user.slice/memory.max", "max\n");
  Write(root_ / "cgroup/memory.max", "max\n");
  Write(root_ / "proc/meminfo", "MemTotal:  1000 kB\nMemFree: 10 kB\nMemAvailable:  250 kB\n");
  absl::StatusOr<SystemMemory> memory = ReadSystemMemory(root_ / "proc", root_ / "cgroup");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->source, "meminfo");
  EXPECT_EQ(memory->limit_bytes, 1000u * 1024);
  EXPECT_EQ(memory->used_bytes, 750u * 1024);
}

TEST(RealProcTest, ThisProcesssGroupAndResidentMemoryAreReadable) {
  absl::StatusOr<uint64_t> pss = ProcessGroupPss(getpgrp());
  ASSERT_TRUE(pss.ok()) << pss.status();
  EXPECT_GT(*pss, 0u);
  EXPECT_GT(SelfResidentBytes(), 1u << 20);
  absl::StatusOr<SystemMemory> memory = ReadSystemMemory();
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_GT(memory->used_bytes, 0u);
  EXPECT_LT(memory->used_ratio(), 1.0);
}

}  // namespace
}  // namespace foxpool::firefox
