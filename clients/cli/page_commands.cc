#include "clients/cli/page_commands.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/flags.h"
#include "nlohmann/json.hpp"

namespace foxpool::cli {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

int RunNavigate(CommandContext& context) {
  Page page;
  absl::Status status = WithLease(context, [&](const std::string& lease) -> absl::Status {
    absl::StatusOr<Page> loaded = context.client.Navigate(lease, context.args[0]);
    if (!loaded.ok()) return loaded.status();
    page = *std::move(loaded);
    return absl::OkStatus();
  });
  if (!status.ok()) return Fail(context, status);
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json json = {{"url", page.url},
                           {"title", page.title},
                           {"http_status", page.http_status},
                           {"ms", absl::ToInt64Milliseconds(page.took)}};
    std::printf("%s\n",
                json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("url     %s\ntitle   %s\nstatus  %d\ntook    %lld ms\n", page.url.c_str(),
                page.title.c_str(), page.http_status,
                static_cast<long long>(absl::ToInt64Milliseconds(page.took)));
  }
  return kExitOk;
}

int RunEval(CommandContext& context) {
  const std::string url = absl::GetFlag(FLAGS_url);
  std::string value;
  absl::Status status = WithLease(context, [&](const std::string& lease) -> absl::Status {
    if (!url.empty()) {
      if (absl::StatusOr<Page> page = context.client.Navigate(lease, url); !page.ok()) {
        return page.status();
      }
    }
    absl::StatusOr<std::string> result = context.client.Evaluate(lease, context.args[0]);
    if (!result.ok()) return result.status();
    value = *std::move(result);
    return absl::OkStatus();
  });
  if (!status.ok()) return Fail(context, status);
  std::printf("%s\n", value.c_str());
  return kExitOk;
}

int RunScreenshot(CommandContext& context) {
  const std::string output = absl::GetFlag(FLAGS_output);
  std::string png;
  absl::Status status = WithLease(context, [&](const std::string& lease) -> absl::Status {
    if (absl::StatusOr<Page> page = context.client.Navigate(lease, context.args[0]); !page.ok()) {
      return page.status();
    }
    absl::StatusOr<std::string> image = context.client.Screenshot(lease);
    if (!image.ok()) return image.status();
    png = *std::move(image);
    return absl::OkStatus();
  });
  if (status.ok()) status = WriteFile(output, png);
  if (!status.ok()) return Fail(context, status);
  std::fprintf(stderr, "foxpool screenshot: wrote %s (%zu bytes)\n", output.c_str(), png.size());
  return kExitOk;
}

}  // namespace foxpool::cli
