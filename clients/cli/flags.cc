#include "clients/cli/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "foxpoold's gRPC address (host:port).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "Deadline of each call: a page's load, a script, a screenshot, a status or health "
          "check (e.g. 30s, 2m).");
ABSL_FLAG(absl::Duration, acquire_timeout, absl::Minutes(5),
          "How long to wait for a window when none is idle.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::ZeroDuration(),
          "acquire: the lease ends after this long without a command (0: the server's default).");
ABSL_FLAG(bool, json, false, "status, acquire, navigate: print JSON instead of text.");
ABSL_FLAG(std::string, lease, "",
          "navigate, eval, screenshot: use this lease (from `foxpool acquire`) and keep it, "
          "instead of leasing a window for the one command.");
ABSL_FLAG(std::string, url, "", "eval: load this URL first.");
ABSL_FLAG(std::string, output, "",
          "screenshot: the PNG file to write. batch: the file of JSON result lines "
          "(default and \"-\": standard output).");
ABSL_FLAG(std::string, service, "",
          "health: the service to ask about (\"\": the server as a whole; "
          "foxpool.v1.BrowserPool).");
ABSL_FLAG(int, concurrency, 0,
          "batch: windows leased and driven at once (0: the pool's size, from GetPoolStatus).");
ABSL_FLAG(std::string, eval, "",
          "batch: a JavaScript expression evaluated on each loaded page; its value goes into "
          "the result line.");
ABSL_FLAG(std::string, screenshot_dir, "",
          "batch: write a PNG screenshot of each loaded page into this directory.");
ABSL_FLAG(int, retries, 2,
          "batch: further attempts at a URL that failed with UNAVAILABLE, ABORTED, "
          "DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED.");
ABSL_FLAG(std::string, progress, "auto",
          "batch: auto (a bar on a terminal, else lines), bar, lines or none; on stderr.");
ABSL_FLAG(absl::Duration, progress_interval, absl::Seconds(10),
          "batch: how often a progress line is written when stderr is not a terminal.");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(10),
          "batch: after Ctrl-C or SIGTERM, how long URLs in flight may take to finish before "
          "they are cancelled (a second signal cancels them at once).");
ABSL_FLAG(std::string, token_file, "",
          "A file whose first line is a bearer token for a server started with "
          "--auth_token_file (default: the FOXPOOL_TOKEN environment variable).");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate(s) the server's certificate must chain to; makes the connection "
          "TLS (with --tls_cert alone: the system's CAs).");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for a server started with --client_ca (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
