#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "pool/pool.h"
#include "server/memory_sampler.h"

namespace foxpool::server {

// What the status page shows, gathered at request time.
struct StatusInputs {
  pool::PoolStatus pool;
  std::vector<pool::WindowInfo> windows;
  std::vector<pool::LeaseInfo> leases;
  MemorySnapshot memory;
  int max_queue = 0;
  double memory_threshold = 0.75;
  std::string version;
  std::string firefox_version;
  std::string observability;
  absl::Time started_at;
  absl::Time drain_deadline = absl::InfiniteFuture();
  absl::Time now;
};

// The operator's view as JSON (/status.json). Lease ids appear as their
// first 8 hex digits only, as in ListLeases.
nlohmann::json StatusJson(const StatusInputs& inputs);

// The same as a small self-contained HTML page (/status): no script, no
// external resources, refreshes itself every 5 s. Every string from a
// caller (labels, holders) is escaped.
std::string StatusHtml(const nlohmann::json& status);

std::string HtmlEscape(absl::string_view text);

}  // namespace foxpool::server
