#pragma once

namespace foxpool::server {

// The whole server: builds every part in dependency order, serves until
// SIGINT or SIGTERM, then drains and tears down in reverse. Returns the
// process exit code.
int Run(int argc, char** argv);

}  // namespace foxpool::server
