#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace foxpool::firefox {

struct SpawnOptions {
  std::string binary;
  std::vector<std::string> args;  // Without argv[0].
  // KEY=VALUE entries added to (or replacing in) the server's environment.
  std::vector<std::string> env;
  // Where the child's stdout and stderr go ("/dev/null" to drop them).
  std::string output_path = "/dev/null";
};

// A child process in a process group of its own, which the kernel kills when
// the server dies (PR_SET_PDEATHSIG), however the server dies.
//
// The group is killed and the child reaped when the object is destroyed, so
// an owner that forgets it still leaves no process behind. Exit is observed
// without polling through pidfd(): wait for fd() to become readable, then
// call TryReap(). Not thread-safe: one owner drives it.
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so spawn only
// from threads that live as long as the server (the asio pool threads).
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const SpawnOptions& options);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // A pidfd: readable once the process has exited.
  int fd() const { return pidfd_; }
  bool reaped() const { return reaped_; }

  // Sends `signal` to every process of the group (Firefox and its content
  // processes). Harmless once the group is gone.
  void KillGroup(int signal);

  // Reaps the process if it has exited; false if it still runs.
  bool TryReap();

  // How the process ended ("exit code 1", "killed by signal 9 (SIGKILL)").
  // Empty until reaped.
  const std::string& exit_description() const { return exit_description_; }
  bool killed_by_signal() const { return killed_by_signal_; }

 private:
  ChildProcess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  void Record(int wait_status);

  pid_t pid_;
  int pidfd_;
  bool reaped_ = false;
  bool killed_by_signal_ = false;
  std::string exit_description_;
};

}  // namespace foxpool::firefox
