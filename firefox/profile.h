#pragma once

#include <filesystem>
#include <string>

#include "absl/status/status.h"

namespace foxpool::firefox {

// What a window's extension needs to find and prove itself to the hub.
struct ExtensionConfig {
  std::string hub_url;  // ws://127.0.0.1:PORT/
  std::string session;
  std::string secret;
};

// The extension's id, as in extension/manifest.json.
inline constexpr char kExtensionId[] = "foxpool@foxpool.dev";

// Fills the empty directory `dir` with a Firefox profile: lean preferences
// (no updates, telemetry, first-run pages or background networking; one
// content process; HTTPS-Only off so that the loopback hub stays reachable)
// and our extension, unpacked with this window's `config.json` and
// registered through a proxy file so Firefox loads it at start.
// `extra_prefs` (user_pref lines, the operator's) come after ours, so they win.
absl::Status WriteProfile(const std::filesystem::path& dir, const ExtensionConfig& config,
                          const std::string& extra_prefs = "");

// Checks that `text` holds only `user_pref("name", value);` lines, comments
// and blank lines: what an operator may add to every profile.
absl::Status CheckPreferences(const std::string& text);

// The preferences written to user.js, one `user_pref(...)` line each.
const std::string& LeanPreferences();

// Where Firefox's PDF printer writes, inside the profile: every print is
// silent and goes there (no extension API returns a PDF's bytes, so the
// window reads the file back; see FirefoxWindow::Call).
inline constexpr char kPrintFile[] = "foxpool-print.pdf";
std::string PrintPreferences(const std::filesystem::path& dir);

}  // namespace foxpool::firefox
