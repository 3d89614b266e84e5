#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace foxpool::cli {

// What a batch learned about one URL.
struct UrlResult {
  std::string url;
  // The URL after redirects, and the page's title; empty until it loaded.
  std::string final_url;
  std::string title;
  bool loaded = false;
  // The --eval result as JSON text, when one was asked for and it ran.
  std::optional<std::string> result_json;
  // Where its screenshot was written, when it was.
  std::string screenshot;
  // OK, or why the last attempt failed.
  absl::Status status;
  int attempts = 0;
  // From the first attempt to the result, waits for a window included.
  absl::Duration took;
};

// The result as one line of JSON (without the newline), every key always
// present:
//   {"url":..., "ok":bool, "final_url":str|null, "title":str|null,
//    "result":<the --eval value>|null, "screenshot":path|null,
//    "error":{"code":"UNAVAILABLE","message":...}|null, "attempts":n, "ms":n}
// Text that is not valid UTF-8 is repaired (U+FFFD), never refused.
std::string ToJsonLine(const UrlResult& result);

// The file name for the screenshot of the URL at `index` (0-based) in a list
// of `total`: the index zero-padded to the width of the largest one, then
// the URL's host and path made file-name safe and shortened:
// "007-127.0.0.1_8080_docs_a.html.png". Unique within a list.
std::string ScreenshotName(size_t index, size_t total, absl::string_view url);

}  // namespace foxpool::cli
