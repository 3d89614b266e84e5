#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace foxpool::cli {

// The URLs of a batch list, in order: one per line, surrounding whitespace
// (and a Windows line end) trimmed. Blank lines and lines whose first
// non-blank character is '#' are skipped; a '#' later in a line belongs to
// the URL (a fragment).
std::vector<std::string> ParseUrlList(absl::string_view text);

// Reads and parses the list in the file at `path`, or standard input for "-".
absl::StatusOr<std::vector<std::string>> ReadUrlList(const std::string& path);

}  // namespace foxpool::cli
