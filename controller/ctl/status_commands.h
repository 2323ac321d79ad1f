// writebackctl's estate views and shortcuts:
//
//   writebackctl status                    forests (paused, open hold, queue
//   depth, counts),
//                                          agents (version, last seen, stream,
//                                          in flight)
//   writebackctl quarantine [list] [--forest=F] [--limit=N]
//                                          QUARANTINED and CONFLICT_HOLD
//                                          mailboxes, last error
//   writebackctl quarantine release ID...  (= mailbox retry)
//
// Tables by default; --json prints the Admin API's answer.
#ifndef WRITEBACK_CONTROLLER_CTL_STATUS_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_STATUS_COMMANDS_H_

#include <string>
#include <vector>

#include "controller/ctl/log_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct StatusFlags {
  std::string forest;
  int limit = 0;
  bool json = false;
};

// Runs `status` (args[0] == "status"); returns the exit code.
int RunStatusCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                     const StatusFlags& flags, const LogCommandHooks& hooks);

// Runs `quarantine ...` (args[0] == "quarantine"); returns the exit code.
int RunQuarantineCommand(writeback::v1::AdminService::Stub& stub,
                         const std::vector<std::string>& args, const StatusFlags& flags,
                         const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_STATUS_COMMANDS_H_
