// `writebackctl mailbox import FILE|- [--format=jsonl|csv]
// [--continue-on-error]`: many mailboxes from a file (import_parse.h has the
// formats).
//
// 1. The whole file is parsed and checked locally, then by the controller
//    (ImportMailboxes with validate_only, in batches of kImportBatch).
// 2. Without --continue-on-error, any bad line stores nothing: every bad
//    line is reported ("line N: field F: message" on stderr; with --json one
//    JSON object {"line","field","message"} per error on stdout) and the exit
//    code is 1.
// 3. Otherwise the good lines are stored in batches, each one store
//    transaction. A new cloud id is added; an existing one gets the given
//    attributes as its desired values (a new generation when any changed),
//    attributes not named stay as they are.
// Progress ("imported 3500/10000") goes to stderr only when it is a
// terminal; the summary ("N stored (A new, U updated), M refused") always
// (with --json: a last JSON object). Exit 0 when everything was stored,
// 1 when any line was refused, 2 for usage or an unreadable file.
#ifndef WRITEBACK_CONTROLLER_CTL_IMPORT_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_IMPORT_COMMANDS_H_

#include <string>

#include "controller/ctl/log_commands.h"
#include "controller/ctl/mailbox_commands.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

inline constexpr int kImportBatch = 500;

int RunImportCommand(writeback::v1::AdminService::Stub& stub, const std::string& path,
                     const MailboxFlags& flags, const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_IMPORT_COMMANDS_H_
