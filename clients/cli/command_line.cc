#include "clients/cli/command_line.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace foxpool::cli {
namespace {

// Only foxpool's own flags: not those of any library linked in.
absl::CommandLineFlag* FindFlag(absl::string_view name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr || !absl::StrContains(flag->Filename(), "clients/cli/")) return nullptr;
  return flag;
}

bool IsFlag(absl::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.';
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine parsed;
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!flags_ended && arg == "--") {
      flags_ended = true;
      continue;
    }
    if (flags_ended || !IsFlag(arg)) {
      parsed.args.emplace_back(arg);
      continue;
    }
    absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<absl::string_view> value;
    if (size_t equals = name.find('='); equals != absl::string_view::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    // --screenshot-dir is --screenshot_dir.
    std::string normalized(name);
    std::replace(normalized.begin(), normalized.end(), '-', '_');
    name = normalized;
    if (name == "help" || name == "h") {
      parsed.help = true;
      continue;
    }
    absl::CommandLineFlag* flag = FindFlag(name);
    std::string implied;
    if (flag == nullptr && absl::ConsumePrefix(&name, "no")) {
      absl::ConsumePrefix(&name, "_");
      flag = FindFlag(name);
      if (flag != nullptr && (!flag->IsOfType<bool>() || value.has_value())) flag = nullptr;
      implied = "false";
    } else if (flag != nullptr && flag->IsOfType<bool>() && !value.has_value()) {
      implied = "true";
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    if (!value.has_value() && implied.empty()) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = argv[++i];
    }
    std::string error;
    if (!flag->ParseFrom(value.has_value() ? *value : implied, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", error));
    }
  }
  return parsed;
}

std::string FlagsHelp() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (FindFlag(name) != nullptr) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](auto* a, auto* b) { return a->Name() < b->Name(); });
  std::string help;
  for (const absl::CommandLineFlag* flag : flags) {
    absl::StrAppend(&help, "  --", flag->Name(), " (default: \"", flag->DefaultValue(),
                    "\")\n      ", flag->Help(), "\n");
  }
  return help;
}

}  // namespace foxpool::cli
