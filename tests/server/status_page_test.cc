#include "server/status_page.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foxpool::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

StatusInputs Inputs() {
  StatusInputs in;
  in.pool.idle = 1;
  in.pool.leased = 1;
  in.pool.target_size = 2;
  in.pool.queue_depth = 3;
  in.windows = {{pool::WindowId(1), "idle", absl::Seconds(5), 2},
                {pool::WindowId(2), "leased", absl::Seconds(9), 1}};
  in.leases = {{pool::LeaseId(std::string(32, 'b')),
                pool::WindowId(2),
                {{"team", "<img src=x onerror=alert(1)>"}},
                "ipv4:127.0.0.1:5000",
                absl::Seconds(4),
                absl::Seconds(1),
                absl::Seconds(60),
                1}};
  in.memory.windows = {{pool::WindowId(2), 4242, 300 << 20}};
  in.max_queue = 8;
  in.version = "0.1.0";
  in.firefox_version = "153.7.0";
  in.observability = "detailed";
  in.now = absl::Now();
  in.started_at = in.now - absl::Minutes(3);
  return in;
}

TEST(StatusPageTest, JsonHasPoolQueueWindowsAndLeases) {
  nlohmann::json status = StatusJson(Inputs());
  EXPECT_EQ(status["pool"]["idle"], 1);
  EXPECT_EQ(status["queue"]["depth"], 3);
  EXPECT_EQ(status["queue"]["limit"], 8);
  ASSERT_EQ(status["windows"].size(), 2u);
  EXPECT_EQ(status["windows"][1]["id"], "w2");
  EXPECT_EQ(status["windows"][1]["pid"], 4242);
  EXPECT_EQ(status["windows"][1]["pss_bytes"], 300 << 20);
  EXPECT_EQ(status["windows"][1]["lease"], "bbbbbbbb");
  EXPECT_TRUE(status["windows"][0]["pss_bytes"].is_null());  // Not sampled yet.
  ASSERT_EQ(status["leases"].size(), 1u);
  EXPECT_EQ(status["leases"][0]["lease"], "bbbbbbbb");
  EXPECT_EQ(status["leases"][0]["holder"], "ipv4:127.0.0.1:5000");
  EXPECT_THAT(status.dump(), Not(HasSubstr(std::string(32, 'b'))));
  EXPECT_TRUE(status["server"]["drain_deadline"].is_null());
  EXPECT_NEAR(status["server"]["uptime_seconds"].get<double>(), 180, 0.001);
}

TEST(StatusPageTest, HtmlEscapesWhatCallersChose) {
  std::string html = StatusHtml(StatusJson(Inputs()));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("<title>foxpool status</title>"));
  EXPECT_THAT(html, HasSubstr("300 MiB"));
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(StatusPageTest, ADrainIsShown) {
  StatusInputs in = Inputs();
  in.pool.draining = true;
  in.drain_deadline = in.now + absl::Seconds(30);
  nlohmann::json status = StatusJson(in);
  EXPECT_TRUE(status["server"]["draining"].get<bool>());
  EXPECT_THAT(StatusHtml(status), HasSubstr("id=draining"));
}

}  // namespace
}  // namespace foxpool::server
