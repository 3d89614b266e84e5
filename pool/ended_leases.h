#pragma once

#include <cstddef>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "pool/ids.h"

namespace foxpool::pool {

// Remembers why recent leases ended, so that a late command gets "released"
// or "expired" rather than a bare "unknown lease". Bounded: the oldest entry
// is forgotten first (its lease then reads as unknown). Not thread-safe.
class EndedLeases {
 public:
  explicit EndedLeases(size_t capacity = 4096) : capacity_(capacity) {}

  void Remember(const LeaseId& lease, absl::Status why);
  // The status a command on `lease` gets, or OK if it is not remembered.
  absl::Status Find(const LeaseId& lease) const;

 private:
  size_t capacity_;
  std::deque<LeaseId> order_;
  absl::flat_hash_map<LeaseId, absl::Status> why_;
};

}  // namespace foxpool::pool
