// Child processes for integration and system tests.
//
//   WB_ASSIGN_OR_RETURN(auto agent, ChildProcess::Spawn(
//       agent_binary, {"--config", cfg}, dir + "/agent.log"));
//   agent->Signal(SIGSTOP); ... agent->Signal(SIGCONT);
//   WB_ASSIGN_OR_RETURN(ExitStatus st, agent->WaitExit(absl::Seconds(10)));
//
//   WB_ASSIGN_OR_RETURN(std::string out, RunCommand({"/bin/true"}, absl::Seconds(5)));
#ifndef WRITEBACK_TESTS_HARNESS_PROCESS_H_
#define WRITEBACK_TESTS_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace writeback::testing {

// How a child ended.
struct ExitStatus {
  bool exited = false;  // exited normally; `code` is valid
  int code = 0;
  int signal = 0;       // killed by this signal when !exited
  bool ok() const { return exited && code == 0; }
  std::string ToString() const;  // "exit 0", "signal 9"
  static ExitStatus FromWaitStatus(int wait_status);
};

// A process started with posix_spawn.  stdout and stderr go (appended) to
// one log file.  The destructor SIGKILLs and reaps a child still running, so
// a failing test never leaks processes.  Not thread-safe.
class ChildProcess {
 public:
  // Starts `binary` (a path; no PATH search) with argv = {binary, args...}.
  // `extra_env` entries ("NAME=value") are added to / override this
  // process's environment.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_file,
      const std::vector<std::string>& extra_env = {});

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_file() const { return log_file_; }
  // True until the child has been reaped by WaitExit/Kill (or it exited and
  // running() reaped it).
  bool running();

  // Sends `sig` to the child (SIGSTOP, SIGCONT, SIGTERM, ...).
  absl::Status Signal(int sig);
  // SIGKILL, then reaps.  Returns how it ended (normally "signal 9").
  absl::StatusOr<ExitStatus> Kill();
  // Waits for the child to exit; DeadlineExceeded after `timeout` (the child
  // keeps running).  Repeated calls after the exit return the same status.
  absl::StatusOr<ExitStatus> WaitExit(absl::Duration timeout);

 private:
  ChildProcess(pid_t pid, std::string log_file)
      : pid_(pid), log_file_(std::move(log_file)) {}
  bool TryReap();

  pid_t pid_;
  std::string log_file_;
  bool reaped_ = false;
  ExitStatus status_;
};

// Runs argv[0] (a path) to completion and returns its stdout.  Fails with
// Internal (exit status and the tail of stderr in the message) on a non-zero
// exit and DeadlineExceeded (after killing it) past `timeout`.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_PROCESS_H_
