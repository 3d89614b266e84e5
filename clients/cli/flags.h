#pragma once

#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

// The flags of every foxpool subcommand (each says which it applies to).
ABSL_DECLARE_FLAG(std::string, address);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(absl::Duration, acquire_timeout);
ABSL_DECLARE_FLAG(absl::Duration, idle_timeout);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, lease);
ABSL_DECLARE_FLAG(std::string, url);
ABSL_DECLARE_FLAG(std::string, output);
ABSL_DECLARE_FLAG(std::string, service);
ABSL_DECLARE_FLAG(int, concurrency);
ABSL_DECLARE_FLAG(std::string, eval);
ABSL_DECLARE_FLAG(std::string, screenshot_dir);
ABSL_DECLARE_FLAG(int, retries);
ABSL_DECLARE_FLAG(std::string, progress);
ABSL_DECLARE_FLAG(absl::Duration, progress_interval);
ABSL_DECLARE_FLAG(absl::Duration, grace);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
