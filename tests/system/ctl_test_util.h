// writebackctl for the ctl system tests with stdout alone (stderr dropped),
// so that --json output can be checked to be JSON and nothing else.
#ifndef WRITEBACK_TESTS_SYSTEM_CTL_TEST_UTIL_H_
#define WRITEBACK_TESTS_SYSTEM_CTL_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/shell.h"

namespace writeback::testing {

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs writebackctl as the local operator; output is stdout only.
inline ShellResult CtlStdout(WritebackEnv& env, const std::vector<std::string>& args,
                             const std::string& stdin_file = "") {
  std::string cmd = absl::StrCat("( WRITEBACKCTL_TOKEN_FILE=", ShellQuote(env.admin_token_file()),
                                 " WRITEBACKCTL_CONFIG= HOME=", ShellQuote(env.work_dir()), " ",
                                 WB_CTL_BIN, " --controller=", env.admin_address());
  for (const auto& a : args) absl::StrAppend(&cmd, " ", ShellQuote(a));
  if (!stdin_file.empty()) absl::StrAppend(&cmd, " < ", ShellQuote(stdin_file));
  absl::StrAppend(&cmd, " 2>/dev/null )");
  return RunShell(cmd);
}

// Parses `json` into `m`; false (and m untouched) when it is not exactly one
// JSON value of that message.
template <typename M>
bool ParseJson(const std::string& json, M* m) {
  return google::protobuf::util::JsonStringToMessage(json, m).ok();
}

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_CTL_TEST_UTIL_H_
