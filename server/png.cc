#include "server/png.h"

namespace foxpool::server {
namespace {

uint32_t BigEndian32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

}  // namespace

absl::StatusOr<PngSize> ReadPngSize(std::string_view png) {
  constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png.size() < 24 || png.substr(0, 8) != kSignature || png.substr(12, 4) != "IHDR") {
    return absl::InternalError("the window's screenshot is not a PNG");
  }
  return PngSize{static_cast<int32_t>(BigEndian32(png, 16)),
                 static_cast<int32_t>(BigEndian32(png, 20))};
}

}  // namespace foxpool::server
