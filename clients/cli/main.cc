#include <csignal>

#include "clients/cli/main_command.h"

int main(int argc, char** argv) {
  // A reader that closes the pipe (`foxpool batch ... | head`) must not kill
  // the process before it releases its leases: writes fail instead.
  std::signal(SIGPIPE, SIG_IGN);
  return foxpool::cli::Main(argc, argv);
}
