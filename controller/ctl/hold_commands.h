// writebackctl's mass-change guard commands:
//
//   writebackctl hold list [--forest=NAME] [--json]    newest first
//   writebackctl hold approve ID    the held changes go out now
//   writebackctl hold reject ID     the held changes are dropped; AD stays as it is
//   writebackctl forest set NAME [--mass_change_threshold=N] [--mass_change_window=30m]
//                                [--use_defaults]
//
// The flags are read by main.cc and handed over as HoldFlags.
#ifndef WRITEBACK_CONTROLLER_CTL_HOLD_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_HOLD_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/ctl/log_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct HoldFlags {
  std::string forest;
  std::string threshold;  // forest set: empty keeps the current value
  std::string window;     // forest set: a duration ("30m", "1h", "3600s"); empty keeps it
  bool use_defaults = false;
  bool json = false;
};

// The SetForestPolicy request `forest set NAME` means; kInvalidArgument
// naming the flag for a bad value or when nothing would change.
absl::StatusOr<writeback::v1::SetForestPolicyRequest> ParseForestPolicy(const std::string& name,
                                                                        const HoldFlags& flags);

// Runs `hold ...` (args[0] == "hold"); returns the exit code.
int RunHoldCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                   const HoldFlags& flags, const LogCommandHooks& hooks);

// Runs `forest set NAME` (args[1] == "set"); returns the exit code.
int RunForestSetCommand(writeback::v1::AdminService::Stub& stub,
                        const std::vector<std::string>& args, const HoldFlags& flags,
                        const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_HOLD_COMMANDS_H_
