#include "firefox/profile.h"

#include <cstdlib>
#include <fstream>
#include <system_error>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "firefox/extension_files.h"
#include "nlohmann/json.hpp"

namespace foxpool::firefox {
namespace {

absl::Status WriteFile(const std::filesystem::path& path, std::string_view data) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (ec || !out) {
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

}  // namespace

const std::string& LeanPreferences() {
  static const std::string* prefs = new std::string(R"(// Written by foxpool.
// Our unsigned extension is loaded from the profile (ESR honours this pref).
user_pref("xpinstall.signatures.required", false);
user_pref("extensions.autoDisableScopes", 0);
user_pref("extensions.enabledScopes", 15);
user_pref("extensions.startupScanScopes", 15);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.webextensions.restrictedDomains", "");
// The hub is ws://127.0.0.1: never upgrade it to wss.
user_pref("dom.security.https_only_mode", false);
user_pref("dom.security.https_only_mode_ever_enabled", false);
// No first-run, what's-new, default-browser or session-restore pages.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("browser.sessionstore.max_resumed_crashes", -1);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.tabs.warnOnClose", false);
user_pref("browser.tabs.closeWindowWithLastTab", false);
user_pref("browser.warnOnQuit", false);
user_pref("datareporting.policy.firstRunURL", "");
// No updates, telemetry or background networking.
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("browser.ping-centre.telemetry", false);
user_pref("browser.newtabpage.activity-stream.feeds.telemetry", false);
user_pref("browser.newtabpage.activity-stream.telemetry", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.search.geoip.url", "");
user_pref("browser.region.network.url", "");
user_pref("browser.region.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.predictor.enabled", false);
user_pref("browser.urlbar.speculativeConnect.enabled", false);
user_pref("browser.places.speculativeConnect.enabled", false);
user_pref("services.settings.server", "data:,");
user_pref("media.gmp-manager.url", "data:,");
user_pref("media.gmp-gmpopenh264.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("browser.topsites.contile.enabled", false);
user_pref("identity.fxaccounts.enabled", false);
user_pref("geo.provider.network.url", "");
// Lean: one content process, nothing pre-launched, no disk cache.
user_pref("dom.ipc.processCount", 1);
user_pref("dom.ipc.processPrelaunch.enabled", false);
user_pref("fission.autostart", false);
user_pref("fission.webContentIsolationStrategy", 0);
user_pref("browser.cache.disk.enable", false);
// Fewer helper processes: the extension runs in the parent, networking and
// media decoding stay in-process, no fork server.
user_pref("extensions.webextensions.remote", false);
user_pref("network.process.enabled", false);
user_pref("media.rdd-process.enabled", false);
user_pref("media.utility-process.enabled", false);
user_pref("dom.ipc.forkserver.enable", false);
user_pref("browser.cache.disk_cache_ssl", false);
// Deterministic rendering: screenshots are viewport-sized at 1x.
user_pref("layout.css.devPixelsPerPx", "1.0");
// Popups and dialogs are the caller's business, not a blocker.
user_pref("dom.disable_beforeunload", true);
// window.open is never blocked and always opens a tab of the one window
// (ListTabs shows it); the opener stays the current tab until SwitchTab.
user_pref("dom.disable_open_during_load", false);
user_pref("browser.link.open_newwindow", 3);
user_pref("browser.link.open_newwindow.restriction", 0);
user_pref("browser.tabs.loadDivertedInBackground", true);
user_pref("browser.download.panel.shown", true);
)");
  return *prefs;
}

std::string PrintPreferences(const std::filesystem::path& dir) {
  std::string file = nlohmann::json((dir / kPrintFile).string()).dump();
  return absl::StrCat(R"(user_pref("print.always_print_silent", true);
user_pref("print.show_print_progress", false);
user_pref("print_printer", "Mozilla Save to PDF");
user_pref("print.printer_Mozilla_Save_to_PDF.print_to_file", true);
user_pref("print.printer_Mozilla_Save_to_PDF.print_to_filename", )",
                      file, ");\n");
}

absl::Status CheckPreferences(const std::string& text) {
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "//")) continue;
    if (!absl::StartsWith(line, "user_pref(\"") || !absl::EndsWith(line, ");")) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, " is not of the form user_pref(\"name\", value);: ", line));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteProfile(const std::filesystem::path& dir, const ExtensionConfig& config,
                          const std::string& extra_prefs) {
  std::string prefs = LeanPreferences() + PrintPreferences(dir) + PolicyPreferences(config.policy);
  if (!extra_prefs.empty())
    absl::StrAppend(&prefs, "// The operator's (--firefox_prefs):\n", extra_prefs, "\n");
  if (absl::Status s = WriteFile(dir / "user.js", prefs); !s.ok()) {
    return s;
  }
  std::filesystem::path extension = dir / "foxpool-extension";
  // For work on the extension: its files from a checkout, without a rebuild.
  if (const char* source = std::getenv("FOXPOOL_EXTENSION_DIR"); source != nullptr && *source) {
    std::error_code error;
    std::filesystem::copy(source, extension, std::filesystem::copy_options::recursive, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("copying FOXPOOL_EXTENSION_DIR ", source, ": ", error.message()));
    }
  } else {
    for (const EmbeddedFile& file : ExtensionFiles()) {
      if (absl::Status s = WriteFile(extension / file.path, file.contents); !s.ok()) {
        return s;
      }
    }
  }
  nlohmann::json json = {{"hub", config.hub_url},
                         {"session", config.session},
                         {"secret", config.secret},
                         {"policy", PolicyJson(config.policy)}};
  if (absl::Status s = WriteFile(extension / "config.json", json.dump()); !s.ok()) {
    return s;
  }
  // A proxy file: its name is the extension id, its content the directory.
  return WriteFile(dir / "extensions" / kExtensionId, extension.string());
}

bool SeedCachesWritten(const std::filesystem::path& seed) {
  // The parent's script preloader cache and the extensions' start-up cache
  // are the last Firefox writes of its start.
  std::error_code ec;
  return std::filesystem::exists(seed / "startupCache" / "scriptCache.bin", ec) &&
         std::filesystem::exists(seed / "startupCache" / "webext.sc.lz4", ec);
}

absl::Status PruneSeed(const std::filesystem::path& seed) {
  std::error_code ec;
  for (const char* entry : kSeedEntries) {
    if (!std::filesystem::exists(seed / entry, ec)) {
      return absl::NotFoundError(absl::StrCat("the seed profile has no ", entry));
    }
  }
  std::vector<std::filesystem::path> others;
  for (const auto& entry : std::filesystem::directory_iterator(seed, ec)) {
    std::string name = entry.path().filename().string();
    if (!absl::c_linear_search(kSeedEntries, name)) others.push_back(entry.path());
  }
  for (const auto& other : others) std::filesystem::remove_all(other, ec);
  if (ec) return absl::InternalError(absl::StrCat("pruning the seed profile: ", ec.message()));
  return absl::OkStatus();
}

absl::Status CopySeed(const std::filesystem::path& seed, const std::filesystem::path& dir) {
  for (const char* entry : kSeedEntries) {
    std::error_code ec;
    std::filesystem::copy(seed / entry, dir / entry, std::filesystem::copy_options::recursive, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("copying ", (seed / entry).string(), ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace foxpool::firefox
