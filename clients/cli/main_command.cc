#include "clients/cli/main_command.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/batch.h"
#include "clients/cli/channel_security.h"
#include "clients/cli/command_context.h"
#include "clients/cli/command_line.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/flags.h"
#include "clients/cli/interrupts.h"
#include "clients/cli/page_commands.h"
#include "clients/cli/pool_client.h"
#include "clients/cli/pool_commands.h"

namespace foxpool::cli {
namespace {

struct Subcommand {
  const char* name;
  // The arguments it takes, for usage messages.
  const char* synopsis;
  const char* summary;
  int min_args;
  int max_args;
  int (*run)(CommandContext& context);
};

int RunBatchCommand(CommandContext& context);

constexpr Subcommand kSubcommands[] = {
    {"status", "", "the pool's windows and queue (--json)", 0, 0, RunStatus},
    {"health", "", "the server's gRPC health: exit 0 when SERVING, else 1", 0, 0, RunHealth},
    {"acquire", "", "lease a window; prints the lease id (--idle_timeout, --json)", 0, 0,
     RunAcquire},
    {"release", "LEASE_ID", "end a lease", 1, 1, RunRelease},
    {"navigate", "URL", "load URL in a window; prints its final URL and title (--json)", 1, 1,
     RunNavigate},
    {"eval", "EXPRESSION [--url URL]", "run JavaScript in a window; prints its value as JSON", 1, 1,
     RunEval},
    {"screenshot", "URL --output FILE.png", "load URL and write a PNG of the viewport", 1, 1,
     RunScreenshot},
    {"batch", "LIST [--concurrency N] [--eval EXPR] [--screenshot-dir DIR] [--output FILE]",
     "load every URL of LIST (one a line, '#' comments; '-': stdin) in N reused windows, "
     "with retries, progress and a JSON result line per URL",
     1, 1, RunBatchCommand},
};

std::string Usage() {
  std::string usage = "usage: foxpool COMMAND [ARGS] [--flags]\n\ncommands:\n";
  for (const Subcommand& command : kSubcommands) {
    absl::StrAppend(&usage, "  foxpool ", command.name, *command.synopsis != '\0' ? " " : "",
                    command.synopsis, "\n      ", command.summary, "\n");
  }
  absl::StrAppend(
      &usage,
      "\nnavigate, eval and screenshot lease a window for the one command and release "
      "it after,\nunless --lease names one. Exit codes: 0 done, 1 failed, 2 usage "
      "error, 130 interrupted.\n\nflags (--name=value or --name value; - or _ alike):\n",
      FlagsHelp());
  return usage;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "foxpool: %s\nRun `foxpool --help` for usage.\n", message.c_str());
  return kExitUsage;
}

absl::StatusOr<ProgressMode> ProgressFlag() {
  std::string mode = absl::GetFlag(FLAGS_progress);
  if (mode == "bar") return ProgressMode::kBar;
  if (mode == "lines") return ProgressMode::kLines;
  if (mode == "none") return ProgressMode::kNone;
  if (mode == "auto") return isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kLines;
  return absl::InvalidArgumentError(
      absl::StrCat("--progress must be auto, bar, lines or none, not \"", mode, "\""));
}

// Values no command could use.
absl::Status CheckFlags() {
  if (absl::GetFlag(FLAGS_timeout) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (absl::GetFlag(FLAGS_acquire_timeout) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--acquire_timeout must be positive");
  }
  if (absl::GetFlag(FLAGS_idle_timeout) < absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_grace) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--idle_timeout and --grace cannot be negative");
  }
  if (absl::GetFlag(FLAGS_progress_interval) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--progress_interval must be positive");
  }
  if (absl::GetFlag(FLAGS_concurrency) < 0 || absl::GetFlag(FLAGS_retries) < 0) {
    return absl::InvalidArgumentError("--concurrency and --retries cannot be negative");
  }
  return ProgressFlag().status();
}

int RunBatchCommand(CommandContext& context) {
  BatchOptions options;
  options.list = context.args[0];
  options.output = absl::GetFlag(FLAGS_output).empty() ? "-" : absl::GetFlag(FLAGS_output);
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.eval = absl::GetFlag(FLAGS_eval);
  options.screenshot_dir = absl::GetFlag(FLAGS_screenshot_dir);
  options.retry.max_retries = absl::GetFlag(FLAGS_retries);
  options.progress = *ProgressFlag();
  options.progress_interval = absl::GetFlag(FLAGS_progress_interval);
  options.grace = absl::GetFlag(FLAGS_grace);
  return RunBatch(options, context.client, context.interrupts);
}

}  // namespace

int Main(int argc, char** argv) {
  // First, before any thread starts (see Interrupts).
  Interrupts interrupts;
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) return UsageError(std::string(command_line.status().message()));
  if (command_line->help) {
    std::printf("%s", Usage().c_str());
    return kExitOk;
  }
  std::vector<std::string>& args = command_line->args;
  if (args.empty()) return UsageError("no command given");
  const Subcommand* command = nullptr;
  for (const Subcommand& candidate : kSubcommands) {
    if (args[0] == candidate.name) command = &candidate;
  }
  if (command == nullptr) return UsageError(absl::StrCat("unknown command \"", args[0], "\""));
  int given = static_cast<int>(args.size()) - 1;
  if (given < command->min_args || given > command->max_args) {
    return UsageError(absl::StrCat(given < command->min_args ? "missing" : "too many",
                                   " arguments; usage: foxpool ", command->name, " ",
                                   command->synopsis));
  }
  if (absl::Status flags = CheckFlags(); !flags.ok()) {
    return UsageError(std::string(flags.message()));
  }
  if (args[0] == "screenshot" && absl::GetFlag(FLAGS_output).empty()) {
    return UsageError("screenshot needs --output FILE.png");
  }

  ClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.acquire_timeout = absl::GetFlag(FLAGS_acquire_timeout);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.labels = {{"client", "foxpool-cli"}, {"command", command->name}};
  absl::StatusOr<ChannelSecurity> security = SecurityFromFlags();
  if (!security.ok()) return UsageError(std::string(security.status().message()));
  options.token = security->token;
  const std::string address = absl::GetFlag(FLAGS_address);
  std::shared_ptr<grpc::Channel> channel = MakeChannel(address, CredentialsFor(*security));
  PoolClient client(channel, options, interrupts.calls());
  CommandContext context{command->name, {args.begin() + 1, args.end()}, address, channel, client,
                         interrupts};
  return command->run(context);
}

}  // namespace foxpool::cli
