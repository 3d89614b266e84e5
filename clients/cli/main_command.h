#pragma once

namespace foxpool::cli {

// The `foxpool` program: parses the command line, runs the subcommand it
// names, and returns the exit code (exit_codes.h).
int Main(int argc, char** argv);

}  // namespace foxpool::cli
