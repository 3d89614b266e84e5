#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pool/ids.h"
#include "spdlog/formatter.h"
#include "spdlog/spdlog.h"

namespace foxpool::server {

enum class LogFormat { kText, kJson };
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// Points spdlog's default logger at stderr with `format` and `level`.
void SetUpLogging(LogFormat format, spdlog::level::level_enum level);

// A log line's structured fields travel at the end of its message as
// " | key=value key=value" (values without spaces). Text logs show them as
// they are; JSON logs turn each into a key of the line's object.
constexpr absl::string_view kFieldsSeparator = " | ";

// The fields of every line about a lease: the lease id's first 8 hex digits
// (the whole id is a credential and is never logged), the window and its
// hub session.
std::string LeaseFields(absl::string_view lease_id, pool::WindowId window,
                        absl::string_view session);

// One JSON object per line: ts (UTC, ms), level, thread, msg and the
// message's fields. Exposed for tests.
std::unique_ptr<spdlog::formatter> MakeJsonFormatter();

}  // namespace foxpool::server
