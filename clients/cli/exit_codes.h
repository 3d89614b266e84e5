#pragma once

namespace foxpool::cli {

// What foxpool's exit status means, for scripts and for container health
// checks.
inline constexpr int kExitOk = 0;
// The command ran and failed (a URL, an RPC, NOT_SERVING).
inline constexpr int kExitFailed = 1;
// The command line was wrong: unknown command or flag, missing argument, a
// list or output file that cannot be opened.
inline constexpr int kExitUsage = 2;
// Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
inline constexpr int kExitInterrupted = 130;

}  // namespace foxpool::cli
