#include "clients/cli/progress_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace foxpool::cli {
namespace {

int Percent(const ProgressCounts& counts) {
  if (counts.total <= 0) return 100;
  return static_cast<int>(counts.done * 100 / counts.total);
}

std::string EtaText(const ProgressCounts& counts, absl::Duration elapsed) {
  std::optional<absl::Duration> eta = Eta(counts, elapsed);
  return eta.has_value() ? FormatClock(*eta) : "--:--";
}

}  // namespace

std::string FormatClock(absl::Duration duration) {
  int64_t seconds = std::max<int64_t>(0, absl::ToInt64Seconds(duration));
  int64_t hours = seconds / 3600, minutes = seconds / 60 % 60;
  if (hours > 0) return absl::StrFormat("%d:%02d:%02d", hours, minutes, seconds % 60);
  return absl::StrFormat("%d:%02d", minutes, seconds % 60);
}

double Rate(const ProgressCounts& counts, absl::Duration elapsed) {
  double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? counts.done / seconds : 0;
}

std::optional<absl::Duration> Eta(const ProgressCounts& counts, absl::Duration elapsed) {
  double rate = Rate(counts, elapsed);
  if (counts.done <= 0 || rate <= 0) return std::nullopt;
  int64_t left = std::max<int64_t>(0, counts.total - counts.done);
  return absl::Seconds(left / rate);
}

std::string FormatBar(const ProgressCounts& counts, absl::Duration elapsed, int width) {
  std::string text =
      absl::StrFormat("  %d/%d  %d%%  %.1f/s  ETA %s", counts.done, counts.total, Percent(counts),
                      Rate(counts, elapsed), EtaText(counts, elapsed));
  if (counts.failed > 0) absl::StrAppend(&text, "  ", counts.failed, " failed");
  int bar = std::clamp(width - 2 - static_cast<int>(text.size()), 10, 40);
  int filled = counts.total > 0 ? static_cast<int>(bar * counts.done / counts.total) : bar;
  std::string line =
      absl::StrCat("[", std::string(filled, '#'), std::string(bar - filled, '-'), "]", text);
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(width);
  return line;
}

std::string FormatProgressLine(const ProgressCounts& counts, absl::Duration elapsed) {
  return absl::StrFormat(
      "foxpool batch: %d/%d done (%d%%), %d ok, %d failed, %.1f URLs/s, elapsed %s, ETA %s",
      counts.done, counts.total, Percent(counts), counts.ok, counts.failed, Rate(counts, elapsed),
      FormatClock(elapsed), EtaText(counts, elapsed));
}

std::string FormatSummary(const ProgressCounts& counts, absl::Duration elapsed, bool interrupted) {
  std::string summary = absl::StrFormat(
      "foxpool batch: %d URLs in %s, %d ok, %d failed, %d retried, %.1f URLs/s", counts.done,
      FormatClock(elapsed), counts.ok, counts.failed, counts.retried, Rate(counts, elapsed));
  if (interrupted) {
    absl::StrAppend(&summary, "\nfoxpool batch: interrupted; ", counts.total - counts.done, " of ",
                    counts.total, " URLs not done");
  }
  return summary;
}

}  // namespace foxpool::cli
