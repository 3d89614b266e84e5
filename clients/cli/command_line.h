#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace foxpool::cli {

struct CommandLine {
  // The subcommand and its positional arguments, in order.
  std::vector<std::string> args;
  // -h, --help or -help was given.
  bool help = false;
};

// Parses `argv[1..]` into foxpool's flags (flags.h) and positional arguments.
// Flags may come anywhere, as --name=value, --name value, --bool, --nobool
// (one or two dashes); "--" ends them, and "-" or a negative number is an
// argument. Unlike absl::ParseCommandLine, an unknown flag or a bad value
// is returned as INVALID_ARGUMENT rather than ending the process, so that
// usage errors exit 2.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv);

// Every flag with its help and default, one per paragraph, sorted.
std::string FlagsHelp();

}  // namespace foxpool::cli
