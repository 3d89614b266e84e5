#include "firefox/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace foxpool::firefox {
namespace {

std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> merged;
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& x : extra) overridden |= key_of(x) == key_of(entry);
    if (!overridden) merged.push_back(std::move(entry));
  }
  merged.insert(merged.end(), extra.begin(), extra.end());
  return merged;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void ExecChild(pid_t parent, int output_fd, int error_fd, const char* binary,
                            char* const argv[], char* const envp[]) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // The server died during fork.
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  // Nothing of the server's (sockets, the hub, pidfds) leaks into Firefox.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(binary, argv, envp);
  int err = errno;
  (void)!write(error_fd, &err, sizeof err);
  _exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const SpawnOptions& options) {
  std::vector<std::string> argv_strings{options.binary};
  argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env_strings = MergedEnvironment(options.env);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);

  int output_fd =
      open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (output_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", options.output_path, ": ", std::strerror(errno)));
  }
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    close(output_fd);
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    ExecChild(parent, output_fd, error_pipe[1], options.binary.c_str(), argv.data(), envp.data());
  }
  int fork_errno = errno;
  close(output_fd);
  close(error_pipe[1]);
  if (pid < 0) {
    close(error_pipe[0]);
    return absl::ResourceExhaustedError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  setpgid(pid, pid);  // Also from here, so the group exists before we return.
  // glibc 2.36 declares pidfd_open but does not export it.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess(pid, pidfd));
  if (pidfd < 0) {
    return absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno)));
  }
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (n > 0) {
    // The child is gone already; the destructor reaps it.
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", options.binary, ": ", std::strerror(exec_errno)));
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    KillGroup(SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
}

void ChildProcess::KillGroup(int signal) {
  // Before the group leader is reaped its pid cannot be reused, so the group
  // id still names our group; after, the group may linger with content
  // processes, and the id stays reserved while any member lives.
  kill(-pid_, signal);
}

bool ChildProcess::TryReap() {
  if (reaped_) return true;
  int status;
  pid_t r;
  do {
    r = waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  if (r < 0) {
    reaped_ = true;  // Not our child any more (reaped elsewhere).
    exit_description_ = "exited (status unknown)";
    return true;
  }
  Record(status);
  return true;
}

void ChildProcess::Record(int status) {
  reaped_ = true;
  if (WIFSIGNALED(status)) {
    killed_by_signal_ = true;
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    exit_description_ =
        absl::StrCat("killed by signal ", sig, " (SIG", name != nullptr ? name : "?", ")");
  } else {
    exit_description_ = absl::StrCat("exit code ", WEXITSTATUS(status));
  }
}

}  // namespace foxpool::firefox
