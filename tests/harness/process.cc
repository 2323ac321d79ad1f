#include "tests/harness/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace writeback::testing {
namespace {

absl::Status Errno(const std::string& what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// The environment for a child: ours, with `extra` ("NAME=value") on top.
std::vector<std::string> MergedEnv(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    env[kv.substr(0, kv.find('='))] = kv;
  }
  for (const std::string& kv : extra) env[kv.substr(0, kv.find('='))] = kv;
  std::vector<std::string> out;
  for (auto& [k, kv] : env) out.push_back(kv);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn with stdout -> out_fd, stderr -> err_fd, stdin from /dev/null.
absl::StatusOr<pid_t> SpawnWithFds(std::vector<std::string> argv,
                                   std::vector<std::string> env, int out_fd,
                                   int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  // The child starts with default signal dispositions and an empty mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> cargv = CStrings(argv);
  std::vector<char*> cenv = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Errno(absl::StrCat("posix_spawn ", argv[0]), rc);
  return pid;
}

}  // namespace

std::string ExitStatus::ToString() const {
  return exited ? absl::StrCat("exit ", code) : absl::StrCat("signal ", signal);
}

ExitStatus ExitStatus::FromWaitStatus(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) {
    s.exited = true;
    s.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    s.signal = WTERMSIG(ws);
  }
  return s;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_file, const std::vector<std::string>& extra_env) {
  int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(absl::StrCat("open ", log_file), errno);
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<pid_t> pid = SpawnWithFds(argv, MergedEnv(extra_env), fd, fd);
  close(fd);
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid, log_file));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) (void)Kill();
}

bool ChildProcess::TryReap() {
  if (reaped_) return true;
  int ws = 0;
  pid_t r = waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = ExitStatus::FromWaitStatus(ws);
  } else if (r < 0 && errno == ECHILD) {
    reaped_ = true;  // reaped elsewhere; status unknown
  }
  return reaped_;
}

bool ChildProcess::running() { return !TryReap(); }

absl::Status ChildProcess::Signal(int sig) {
  if (TryReap()) {
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid_, " already exited (", status_.ToString(), ")"));
  }
  if (kill(pid_, sig) != 0) return Errno(absl::StrCat("kill ", pid_), errno);
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> ChildProcess::Kill() {
  if (!TryReap()) {
    kill(pid_, SIGKILL);
    int ws = 0;
    while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = ExitStatus::FromWaitStatus(ws);
  }
  return status_;
}

absl::StatusOr<ExitStatus> ChildProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!TryReap()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "pid ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("RunCommand: empty argv");
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Errno("pipe", errno);
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return Errno("pipe", errno);
  }
  absl::StatusOr<pid_t> pid = SpawnWithFds(argv, MergedEnv({}), out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    close(out[0]);
    close(err[0]);
    return pid.status();
  }
  std::string stdout_text, stderr_text;
  absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buf, r);
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (timed_out) kill(*pid, SIGKILL);
  int ws = 0;
  while (waitpid(*pid, &ws, 0) < 0 && errno == EINTR) {
  }
  std::string cmd = absl::StrJoin(argv, " ");
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        cmd, ": killed after ", absl::FormatDuration(timeout), "; stderr: ",
        stderr_text.substr(stderr_text.size() > 2000 ? stderr_text.size() - 2000 : 0)));
  }
  ExitStatus st = ExitStatus::FromWaitStatus(ws);
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat(
        cmd, ": ", st.ToString(), "; stderr: ",
        stderr_text.substr(stderr_text.size() > 2000 ? stderr_text.size() - 2000 : 0)));
  }
  return stdout_text;
}

}  // namespace writeback::testing
