#include "clients/cli/url_list.h"

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace foxpool::cli {

std::vector<std::string> ParseUrlList(absl::string_view text) {
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // A UTF-8 byte order mark.
  std::vector<std::string> urls;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    urls.emplace_back(line);
  }
  return urls;
}

absl::StatusOr<std::vector<std::string>> ReadUrlList(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
    text << file.rdbuf();
    if (file.bad()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  }
  return ParseUrlList(text.str());
}

}  // namespace foxpool::cli
