// writebackctl's reconciliation commands (DESIGN §6):
//
//   writebackctl forest reconcile NAME [--full] [--wait]
//       starts a pass now and prints its scan id; --full ignores the marks of
//       the previous pass; --wait waits for the pass's "scan" provisioning
//       log record and prints its counts (exit 1 if the pass failed).
//   writebackctl drift [--mailbox=ID] [--forest=NAME] [--attribute=A]
//                      [--action=corrected|conflict] [--summary] [--limit=N] [--json]
//       drift records newest first, or with --summary one row per mailbox
//       and attribute (count, last values found, whether it is held in
//       conflict).
//
// The flags are read by main.cc and handed over as DriftFlags.
#ifndef WRITEBACK_CONTROLLER_CTL_DRIFT_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_DRIFT_COMMANDS_H_

#include <string>
#include <vector>

#include "controller/ctl/log_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct DriftFlags {
  std::string mailbox;
  std::string forest;
  std::string attribute;
  std::string action;
  int limit = 0;
  bool summary = false;
  bool json = false;
  bool full = false;  // forest reconcile
  bool wait = false;  // forest reconcile
};

// `forest reconcile NAME`; returns the exit code.
int RunReconcileCommand(writeback::v1::AdminService::Stub& stub, const std::string& forest,
                        const DriftFlags& flags, const LogCommandHooks& hooks);

// `drift` (args[0] == "drift"); returns the exit code.
int RunDriftCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                    const DriftFlags& flags, const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_DRIFT_COMMANDS_H_
