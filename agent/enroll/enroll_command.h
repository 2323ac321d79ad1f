// `writeback-agent enroll`: reads the join token (from a file, or from the
// command line, which main() wipes from argv), enrolls (enroll_client.h),
// writes the credentials to the state directory and prints what to do next.
//
//   EnrollCommandOptions o{.address = "ctl:7445", .token_file = "/root/token", ...};
//   return RunEnrollCommand(o, std::cout);
#ifndef WRITEBACK_AGENT_ENROLL_ENROLL_COMMAND_H_
#define WRITEBACK_AGENT_ENROLL_ENROLL_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace writeback::agent {

struct EnrollCommandOptions {
  std::string address;     // the enrollment listener, host:port
  std::string token_file;  // or:
  std::string token;
  std::string state_dir;
  std::string agent_id;    // empty: the host name
  std::string forest;
  std::string version;
};

absl::Status RunEnrollCommand(const EnrollCommandOptions& options, std::ostream& out);

// Overwrites, in place, the value of every --token / -token argument, so
// /proc/<pid>/cmdline no longer shows it.
void WipeTokenArguments(int argc, char** argv);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_ENROLL_ENROLL_COMMAND_H_
