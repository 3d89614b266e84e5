#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace foxpool::server {

struct PngSize {
  int32_t width;
  int32_t height;
};

// The pixel size from a PNG's header (signature, then the IHDR chunk);
// INTERNAL when `png` does not start like a PNG.
absl::StatusOr<PngSize> ReadPngSize(std::string_view png);

}  // namespace foxpool::server
