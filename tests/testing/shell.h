// Runs a shell command line for tests that use command line tools as their
// oracle (openssl verify, openssl x509 -fingerprint).
//
//   ShellResult r = RunShell("openssl verify -CAfile " + ca + " " + cert);
//   EXPECT_EQ(r.exit_code, 0) << r.output;
#ifndef WRITEBACK_TESTS_TESTING_SHELL_H_
#define WRITEBACK_TESTS_TESTING_SHELL_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace writeback::testing {

struct ShellResult {
  int exit_code = -1;  // -1 when it could not run or was killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

inline ShellResult RunShell(const std::string& command) {
  ShellResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_TESTING_SHELL_H_
