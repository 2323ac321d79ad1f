// writebackctl's mailbox verbs (moved out of main.cc):
//
//   writebackctl mailbox add ID --forest=F --anchor=GUID|BASE64
//   writebackctl mailbox set ID EDIT...        (edit_syntax.h)
//   writebackctl mailbox get ID | list [--forest=F] [--limit=N]
//   writebackctl mailbox wait ID... [--timeout_s=120]   exit 4 on timeout
//   writebackctl mailbox remove ID | retry ID... | provision ID
//   writebackctl mailbox import FILE|- [--format=jsonl|csv]
//   [--continue-on-error]
//                                              (import_commands.h)
//   writebackctl retry ID...                   (= mailbox retry)
//
// `--json` prints the Admin API's answer as JSON (wait and retry: one
// Mailbox per line). The flags are read by main.cc and handed over as
// MailboxFlags.
#ifndef WRITEBACK_CONTROLLER_CTL_MAILBOX_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_MAILBOX_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/ctl/log_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct MailboxFlags {
  std::string forest;
  std::string anchor;
  int limit = 0;
  int timeout_s = 120;                                   // mailbox wait
  absl::Duration provision_timeout = absl::Seconds(30);  // mailbox provision
  std::string format;                                    // mailbox import
  bool continue_on_error = false;                        // mailbox import
  bool json = false;
};

// Runs `mailbox ...` (args[0] == "mailbox"); returns the exit code.
int RunMailboxCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                      const MailboxFlags& flags, const LogCommandHooks& hooks);

// RetryMailbox for each id, in order; stops at the first refusal.
int RetryMailboxes(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& ids,
                   bool json, const LogCommandHooks& hooks);

// The one-line status column of a mailbox: "QUARANTINED" etc.
std::string MailboxStatusName(const writeback::v1::Mailbox& m);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_MAILBOX_COMMANDS_H_
