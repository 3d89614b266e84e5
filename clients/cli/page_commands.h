#pragma once

#include "clients/cli/command_context.h"

namespace foxpool::cli {

// One-shot page commands: each leases a window (or uses --lease), does its
// work, and releases the window, also when the work fails or is interrupted.
// Each returns the exit code.

// `foxpool navigate URL [--json]`: prints the final URL, title and status.
int RunNavigate(CommandContext& context);
// `foxpool eval EXPRESSION [--url URL]`: prints the value as JSON.
int RunEval(CommandContext& context);
// `foxpool screenshot URL --output FILE.png`.
int RunScreenshot(CommandContext& context);

}  // namespace foxpool::cli
