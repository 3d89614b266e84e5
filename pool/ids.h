#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace foxpool::pool {

// Identifies a window for as long as the server runs ("w1", "w2", ...). Never
// reused, so a log line or a status page names one Firefox process.
class WindowId {
 public:
  WindowId() = default;
  explicit WindowId(int64_t value) : value_(value) {}
  int64_t value() const { return value_; }
  std::string ToString() const { return absl::StrCat("w", value_); }
  friend bool operator==(WindowId a, WindowId b) { return a.value_ == b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, WindowId id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  int64_t value_ = 0;
};

// An unguessable lease id: 128 random bits from the kernel, as 32 hex digits.
// The only proof that a caller holds a lease.
class LeaseId {
 public:
  LeaseId() = default;
  explicit LeaseId(std::string value) : value_(std::move(value)) {}
  static LeaseId Random();
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const LeaseId& a, const LeaseId& b) { return a.value_ == b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const LeaseId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  std::string value_;
};

// Random bytes from getrandom(2) as lowercase hex; aborts if the kernel cannot
// provide them (a lease id must never be predictable).
std::string RandomHex(size_t bytes);

}  // namespace foxpool::pool
