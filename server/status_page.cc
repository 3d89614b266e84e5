#include "server/status_page.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace foxpool::server {
namespace {

using nlohmann::json;

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }
double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

// Colours of the window states; the page's legend and its tests use them.
const char* StateColour(const std::string& state) {
  if (state == "idle") return "#2e7d32";
  if (state == "leased") return "#1565c0";
  if (state == "resetting") return "#ef6c00";
  return "#9e9e9e";  // starting
}

std::string Mib(const json& bytes) {
  if (!bytes.is_number()) return "–";
  return absl::StrFormat("%.0f MiB", bytes.get<double>() / (1 << 20));
}

std::string Duration(const json& seconds) {
  if (!seconds.is_number()) return "–";
  double s = seconds.get<double>();
  if (s < 1) return absl::StrFormat("%.0f ms", s * 1000);
  if (s < 120) return absl::StrFormat("%.1f s", s);
  if (s < 7200) return absl::StrFormat("%.0f min", s / 60);
  return absl::StrFormat("%.1f h", s / 3600);
}

std::string Text(const json& value) {
  return HtmlEscape(value.is_string() ? value.get<std::string>() : value.dump());
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

json StatusJson(const StatusInputs& in) {
  json status;
  status["server"] = {
      {"version", in.version},
      {"firefox", in.firefox_version},
      {"observability", in.observability},
      {"started_at", UnixSeconds(in.started_at)},
      {"uptime_seconds", Seconds(in.now - in.started_at)},
      {"draining", in.pool.draining},
      {"drain_deadline",
       in.drain_deadline == absl::InfiniteFuture() ? json() : json(UnixSeconds(in.drain_deadline))},
  };
  status["pool"] = {
      {"starting", in.pool.starting},
      {"idle", in.pool.idle},
      {"leased", in.pool.leased},
      {"resetting", in.pool.resetting},
      {"size", in.pool.target_size},
      {"windows_failed_total", in.pool.windows_failed_total},
      {"desired", in.pool.desired},
      {"retiring", in.pool.retiring},
      {"memory_short", in.pool.memory_short},
      {"consecutive_start_failures", in.pool.consecutive_start_failures},
  };
  status["queue"] = {
      {"depth", in.pool.queue_depth},
      {"limit", in.max_queue},
      {"oldest_wait_seconds", Seconds(in.pool.oldest_waiter_age)},
      {"expected_wait_seconds", Seconds(in.pool.expected_wait)},
  };
  json memory = {
      {"sampled_at", in.memory.taken == absl::Time() ? json() : json(UnixSeconds(in.memory.taken))},
      {"windows_pss_bytes", in.memory.windows_pss_bytes},
      {"server_rss_bytes", in.memory.server_rss_bytes},
      {"threshold", in.memory_threshold},
      {"pressure", in.memory.pressure},
      {"system", json()},
  };
  if (in.memory.system.has_value()) {
    memory["system"] = {{"used_bytes", in.memory.system->used_bytes},
                        {"limit_bytes", in.memory.system->limit_bytes},
                        {"used_ratio", in.memory.system->used_ratio()},
                        {"source", in.memory.system->source}};
  }
  status["memory"] = memory;

  json windows = json::array();
  for (const pool::WindowInfo& window : in.windows) {
    json entry = {{"id", window.id.ToString()},
                  {"state", std::string(window.state)},
                  {"age_seconds", Seconds(window.age)},
                  {"leases_served", window.leases_served},
                  {"retiring", window.retiring},
                  {"profile", window.profile},
                  {"pid", json()},
                  {"pss_bytes", json()},
                  {"lease", json()}};
    for (const auto& sampled : in.memory.windows) {
      if (sampled.id == window.id) {
        entry["pid"] = sampled.pid;
        entry["pss_bytes"] = sampled.pss_bytes;
      }
    }
    for (const pool::LeaseInfo& lease : in.leases) {
      if (lease.window == window.id) entry["lease"] = lease.lease.value().substr(0, 8);
    }
    windows.push_back(std::move(entry));
  }
  status["windows"] = std::move(windows);

  json leases = json::array();
  for (const pool::LeaseInfo& lease : in.leases) {
    leases.push_back({{"lease", lease.lease.value().substr(0, 8)},
                      {"window", lease.window.ToString()},
                      {"holder", lease.holder},
                      {"labels", lease.labels},
                      {"age_seconds", Seconds(lease.age)},
                      {"idle_for_seconds", Seconds(lease.idle_for)},
                      {"idle_timeout_seconds", Seconds(lease.idle_timeout)},
                      {"commands_in_flight", lease.commands_in_flight},
                      {"profile", lease.profile}});
  }
  status["leases"] = std::move(leases);
  return status;
}

std::string StatusHtml(const json& s) {
  std::string html = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>foxpool status</title>
<style>
body{font:14px/1.4 sans-serif;margin:16px;color:#212121;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
.sub{color:#616161}.bar{display:flex;gap:6px;margin:10px 0}
.w{width:64px;height:40px;color:#fff;display:flex;align-items:center;justify-content:center;border-radius:4px;font-weight:bold}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e0e0e0;padding:3px 10px;text-align:left}
th{background:#f5f5f5}.warn{color:#b71c1c;font-weight:bold}.legend span{margin-right:12px}
</style></head><body>
)";
  const json& server = s["server"];
  const json& pool = s["pool"];
  const json& queue = s["queue"];
  const json& memory = s["memory"];
  absl::StrAppend(&html, "<h1>foxpool</h1><div class=sub>version ", Text(server["version"]),
                  " · Firefox ", Text(server["firefox"]), " · up ",
                  Duration(server["uptime_seconds"]), " · observability ",
                  Text(server["observability"]), "</div>\n");
  if (pool["consecutive_start_failures"].get<int>() >= 3) {
    absl::StrAppend(&html, "<p class=warn id=crashloop>Windows keep failing to start (",
                    Text(pool["consecutive_start_failures"]), " in a row).</p>\n");
  }
  if (server["draining"].get<bool>()) {
    absl::StrAppend(&html, "<p class=warn id=draining>Draining: no new leases are granted.</p>\n");
  }

  absl::StrAppend(&html, "<h2>Pool</h2><div>", Text(pool["idle"]), " idle · ", Text(pool["leased"]),
                  " leased · ", Text(pool["starting"]), " starting · ", Text(pool["resetting"]),
                  " resetting · size ", Text(pool["size"]), " (wants ", Text(pool["desired"]),
                  ") · ", Text(pool["windows_failed_total"]),
                  " failures since start</div>\n<div class=bar>");
  for (const json& window : s["windows"]) {
    std::string state = window["state"].get<std::string>();
    absl::StrAppend(&html, "<div class=\"w ", state, "\" style=\"background:", StateColour(state),
                    "\" title=\"", state, "\">", Text(window["id"]), "</div>");
  }
  absl::StrAppend(&html, "</div><div class=legend>");
  for (const char* state : {"idle", "leased", "resetting", "starting"}) {
    absl::StrAppend(&html, "<span style=\"color:", StateColour(state), "\">■ ", state, "</span>");
  }
  absl::StrAppend(&html, "</div>\n");

  absl::StrAppend(&html, "<h2>Queue</h2><div>", Text(queue["depth"]), " waiting (limit ",
                  Text(queue["limit"]), ") · oldest waited ",
                  Duration(queue["oldest_wait_seconds"]), " · a caller now would wait about ",
                  Duration(queue["expected_wait_seconds"]), "</div>\n");

  absl::StrAppend(&html, "<h2>Memory</h2><div>windows ", Mib(memory["windows_pss_bytes"]),
                  " PSS · server ", Mib(memory["server_rss_bytes"]), " RSS");
  if (memory["system"].is_object()) {
    const json& system = memory["system"];
    absl::StrAppend(&html, " · system ", Mib(system["used_bytes"]), " of ",
                    Mib(system["limit_bytes"]), " (",
                    absl::StrFormat("%.0f%%", system["used_ratio"].get<double>() * 100), ", from ",
                    Text(system["source"]), "; threshold ",
                    absl::StrFormat("%.0f%%", memory["threshold"].get<double>() * 100), ")");
  }
  absl::StrAppend(&html, "</div>\n");
  if (memory["pressure"].get<bool>()) {
    absl::StrAppend(&html, "<p class=warn>Memory is above the threshold.</p>\n");
  }

  absl::StrAppend(&html,
                  "<h2>Windows</h2><table id=windows><tr><th>window</th><th>state</th><th>age</th>"
                  "<th>leases served</th><th>PSS</th><th>pid</th><th>lease</th></tr>\n");
  for (const json& w : s["windows"]) {
    std::string profile = w["profile"].get<std::string>();
    absl::StrAppend(&html, "<tr><td>", Text(w["id"]),
                    profile.empty() ? "" : absl::StrCat(" (profile ", HtmlEscape(profile), ")"),
                    "</td><td>", Text(w["state"]), w["retiring"].get<bool>() ? " (retiring)" : "",
                    "</td><td>", Duration(w["age_seconds"]), "</td><td>", Text(w["leases_served"]),
                    "</td><td>", Mib(w["pss_bytes"]), "</td><td>",
                    w["pid"].is_null() ? "–" : Text(w["pid"]), "</td><td>",
                    w["lease"].is_null() ? "" : Text(w["lease"]), "</td></tr>\n");
  }
  absl::StrAppend(&html, "</table>\n");

  absl::StrAppend(&html,
                  "<h2>Leases</h2><table id=leases><tr><th>lease</th><th>window</th>"
                  "<th>holder</th><th>labels</th><th>age</th><th>idle for</th>"
                  "<th>idle timeout</th><th>in flight</th></tr>\n");
  for (const json& l : s["leases"]) {
    std::string labels;
    for (const auto& [key, value] : l["labels"].items()) {
      absl::StrAppend(&labels, labels.empty() ? "" : ", ", HtmlEscape(key), "=", Text(value));
    }
    absl::StrAppend(&html, "<tr><td>", Text(l["lease"]), "</td><td>", Text(l["window"]),
                    "</td><td>", Text(l["holder"]), "</td><td>", labels, "</td><td>",
                    Duration(l["age_seconds"]), "</td><td>", Duration(l["idle_for_seconds"]),
                    "</td><td>", Duration(l["idle_timeout_seconds"]), "</td><td>",
                    Text(l["commands_in_flight"]), "</td></tr>\n");
  }
  if (s["leases"].empty()) absl::StrAppend(&html, "<tr><td colspan=8>no leases</td></tr>\n");
  absl::StrAppend(&html,
                  "</table>\n<p class=sub>The same as JSON: <a href=\"/status.json\">/status.json"
                  "</a> · Prometheus: <a href=\"/metrics\">/metrics</a></p>\n</body></html>\n");
  return html;
}

}  // namespace foxpool::server
