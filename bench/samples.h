#pragma once

// What the measuring tools of bench/ share: the page they measure on, latency
// samples, and the result rows they write (one JSON object per line;
// bench/report.py turns them into RESULTS.md).

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace foxpool::bench {

// Served on 127.0.0.1 by each tool (bench/peer/peer.mjs serves the same).
inline constexpr char kPage[] =
    "<!doctype html><title>bench</title><input id=q>"
    "<button id=b onclick='this.textContent=Date.now()'>go</button><p>foxpool</p>";

// Latencies in milliseconds. Not thread-safe.
class Samples {
 public:
  void Add(absl::Duration took) { ms_.push_back(absl::ToDoubleMilliseconds(took)); }
  void Merge(const Samples& other) { ms_.insert(ms_.end(), other.ms_.begin(), other.ms_.end()); }
  size_t size() const { return ms_.size(); }

  // The value at quantile `q` (the nearest rank at or below it).
  double At(double q) {
    if (ms_.empty()) return 0.0;
    std::sort(ms_.begin(), ms_.end());
    return ms_[std::min(ms_.size() - 1, static_cast<size_t>(q * ms_.size()))];
  }

  // `| name | p50 | p90 | p99 | n |` in milliseconds.
  std::string Row(const std::string& name) {
    return absl::StrFormat("| %s | %.2f | %.2f | %.2f | %d |", name, At(0.5), At(0.9), At(0.99),
                           ms_.size());
  }

  nlohmann::json Json() {
    return {{"p50_ms", At(0.5)}, {"p90_ms", At(0.9)}, {"p99_ms", At(0.99)}, {"n", ms_.size()}};
  }

 private:
  std::vector<double> ms_;
};

// Appends result rows to a JSON Lines file (nothing when `path` is empty),
// each stamped with the tool and the configuration measured.
class RowWriter {
 public:
  RowWriter(const std::string& path, std::string tool, nlohmann::json config)
      : tool_(std::move(tool)), config_(std::move(config)) {
    if (!path.empty()) out_.open(path, std::ios::app);
  }

  void Write(const std::string& section, const std::string& name, nlohmann::json fields) {
    if (!out_.is_open()) return;
    fields["tool"] = tool_;
    fields["section"] = section;
    fields["name"] = name;
    if (!config_.empty()) fields["config"] = config_;
    out_ << fields.dump() << "\n";
    out_.flush();
  }

 private:
  const std::string tool_;
  const nlohmann::json config_;
  std::ofstream out_;
};

}  // namespace foxpool::bench
