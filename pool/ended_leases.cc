#include "pool/ended_leases.h"

#include <utility>

namespace foxpool::pool {

void EndedLeases::Remember(const LeaseId& lease, absl::Status why) {
  if (!why_.insert_or_assign(lease, std::move(why)).second) return;
  order_.push_back(lease);
  if (order_.size() > capacity_) {
    why_.erase(order_.front());
    order_.pop_front();
  }
}

absl::Status EndedLeases::Find(const LeaseId& lease) const {
  auto it = why_.find(lease);
  return it == why_.end() ? absl::OkStatus() : it->second;
}

}  // namespace foxpool::pool
