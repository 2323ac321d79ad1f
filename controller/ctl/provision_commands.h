// writebackctl's provision on demand (Admin API ProvisionNow):
//
//   writebackctl mailbox provision CLOUD_ID [--timeout=30s] [--json]
//   writebackctl provision-now CLOUD_ID [--timeout=30s] [--json]   (the same)
//
// Writes one mailbox now, ahead of the queue, and prints the steps (import,
// match, scope, export) with their status and the modified properties (old
// values as found in AD, new values) as tables, or the response as JSON.
// Exit code 0 when the export succeeded or was not needed (the object
// already held the desired values), 1 otherwise, including a refusal (paused
// forest, held mailbox, no agent) and a timeout, whose message names the
// steps known so far. The flags are read by main.cc.
#ifndef WRITEBACK_CONTROLLER_CTL_PROVISION_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_PROVISION_COMMANDS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct ProvisionFlags {
  absl::Duration timeout = absl::Seconds(30);
  bool json = false;
};

// The response as an operator reads it: a header line, the steps table, the
// modified properties table and the outcome.
std::string FormatProvisionResult(const writeback::v1::ProvisionNowResponse& response);

// 0 when the export succeeded or was not needed (APPLIED, ALREADY_IN_STATE),
// 1 otherwise.
int ProvisionExitCode(const writeback::v1::ProvisionNowResponse& response);

// Runs `mailbox provision ID` (args[0] == "mailbox") or `provision-now ID`;
// returns the exit code (kExitNotAllowed when the call was not authenticated
// or not allowed). `usage` reports a bad command line.
int RunProvisionCommand(writeback::v1::AdminService::Stub& stub,
                        const std::vector<std::string>& args, const ProvisionFlags& flags,
                        const std::function<int(const std::string&)>& usage);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_PROVISION_COMMANDS_H_
