// Writes a window's profile exactly as foxpool does (firefox::WriteProfile)
// into an empty directory, for bench/run.py's template stage, which starts
// Firefox on it itself.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "firefox/profile.h"

ABSL_FLAG(std::string, dir, "", "The empty (or missing) profile directory to fill.");
ABSL_FLAG(std::string, hub, "", "The hub URL the extension connects to (ws://127.0.0.1:PORT/...).");
ABSL_FLAG(std::string, session, "bench", "The session id in the extension's config.json.");
ABSL_FLAG(std::string, secret, "bench", "The secret in the extension's config.json.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_dir).empty() || absl::GetFlag(FLAGS_hub).empty()) {
    std::fprintf(stderr, "--dir and --hub are required\n");
    return 2;
  }
  absl::Status written = foxpool::firefox::WriteProfile(absl::GetFlag(FLAGS_dir),
                                                        {.hub_url = absl::GetFlag(FLAGS_hub),
                                                         .session = absl::GetFlag(FLAGS_session),
                                                         .secret = absl::GetFlag(FLAGS_secret)});
  if (!written.ok()) {
    std::fprintf(stderr, "%s\n", written.ToString().c_str());
    return 1;
  }
  return 0;
}
