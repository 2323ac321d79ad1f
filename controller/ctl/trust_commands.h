// writebackctl's trust commands (DESIGN §7):
//
//   writebackctl token create --forest=F [--ttl=1h] [--output=FILE]
//       a single-use join token for `writeback-agent enroll`; printed on
//       stdout (alone, for scripts) or written to FILE with mode 0600
//   writebackctl token list [--forest=F]     tokens and their state, never secrets
//   writebackctl token revoke TOKEN_ID       an unused token can no longer join
//   writebackctl agent revoke AGENT_ID [--reason=TEXT]
//       its certificates are refused from now on; live streams cut at once
//   writebackctl ca [show]                   the CA fingerprint (the pin) and rotation state
//   writebackctl ca rotate                   start a rotation (new CA issues, both trusted)
//   writebackctl ca rotate --finish [--force]   the new CA serves; the old is dropped
//
// The flags are read by main.cc and handed over as TrustFlags.
#ifndef WRITEBACK_CONTROLLER_CTL_TRUST_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_TRUST_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/ctl/log_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct TrustFlags {
  std::string forest;
  absl::Duration ttl = absl::Hours(1);
  std::string output;
  std::string reason;
  bool finish = false;
  bool force = false;
  bool json = false;
};

// `token ...` (args[0] == "token"); returns the exit code.
int RunTokenCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                    const TrustFlags& flags, const LogCommandHooks& hooks);
// `agent revoke ID` (args[1] == "revoke").
int RunAgentRevokeCommand(writeback::v1::AdminService::Stub& stub,
                          const std::vector<std::string>& args, const TrustFlags& flags,
                          const LogCommandHooks& hooks);
// `ca [show|rotate]` (args[0] == "ca").
int RunCaCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                 const TrustFlags& flags, const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_TRUST_COMMANDS_H_
