#pragma once

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "firefox/url_policy.h"

namespace foxpool::firefox {

// What a window's extension needs to find and prove itself to the hub.
struct ExtensionConfig {
  std::string hub_url;  // ws://127.0.0.1:PORT/
  std::string session;
  std::string secret;
  // Where its pages may go (--url_schemes, --block_private_networks).
  UrlPolicy policy;
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

// A seed profile: one that a Firefox start initialised and quit, whose
// add-on registry and start-up caches a new profile starts from. Firefox
// then skips registering the extension and compiling its own scripts: the
// extension connects ~0.3 s sooner (bench/RESULTS.md, "Template profile").
// Only these entries are taken; each is needed (without compatibility.ini
// Firefox drops the caches, without prefs.js and the add-on state it never
// loads the extension).
inline constexpr const char* kSeedEntries[] = {"compatibility.ini", "prefs.js",
                                               "extensions.json",   "addonStartup.json.lz4",
                                               "times.json",        "startupCache"};

// True once the seed's Firefox wrote its script caches (a few seconds after
// its start): quitting it then makes a seed worth copying.
bool SeedCachesWritten(const std::filesystem::path& seed);

// Removes from the seed all but kSeedEntries (places, cookies, session
// store...); fails when one of them is missing.
absl::Status PruneSeed(const std::filesystem::path& seed);

// Copies kSeedEntries from `seed` into the profile directory `dir`, before
// WriteProfile writes the window's own files over them.
absl::Status CopySeed(const std::filesystem::path& seed, const std::filesystem::path& dir);

}  // namespace foxpool::firefox
