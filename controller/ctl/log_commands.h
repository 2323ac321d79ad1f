// writebackctl's provisioning log commands:
//
//   writebackctl log [FILTERS] [--limit=N] [--json]   newest first (default
//   100) writebackctl log export [FILTERS] [--limit=N] [--output=FILE]
//   writebackctl log --follow [FILTERS] [--limit=N] [--json]   records newer
//   than
//       the newest at the start, as they arrive (polling ExportProvisioningLog
//       with after_id every 250 ms), until SIGINT/SIGTERM or N records
//
// FILTERS: --mailbox=ID --forest=NAME --agent=ID --outcome=APPLIED --kind=job
// --since=TIME --until=TIME, TIME being RFC 3339 ("2026-11-30T08:00:00Z") or
// Unix milliseconds. `log export` streams every matching record oldest first
// as JSON lines (proto field names) to FILE or stdout and prints the count to
// stderr.
//
// The flags are read by main.cc and handed over as LogFlags.
#ifndef WRITEBACK_CONTROLLER_CTL_LOG_COMMANDS_H_
#define WRITEBACK_CONTROLLER_CTL_LOG_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::ctl {

struct LogFlags {
  std::string mailbox;
  std::string forest;
  std::string agent;
  std::string outcome;  // an Outcome name, any case
  std::string kind;     // job, read, lost, removed
  std::string since;    // RFC 3339 or Unix ms
  std::string until;
  std::string output;  // log export: the file; empty for stdout
  int limit = 0;
  bool json = false;
  // log --follow: print records as they arrive (oldest first), until
  // SIGINT/SIGTERM or `limit` records.
  bool follow = false;
};

// How the caller reports errors and which exit code each gets.
struct LogCommandHooks {
  std::function<int(const std::string& why)> usage;  // bad command line
  std::function<int(const grpc::Status& s)> report;  // the call failed
};

// RFC 3339 ("2026-11-30T08:00:00Z", "...+01:00", fractions allowed) or Unix
// milliseconds. kInvalidArgument otherwise, saying which forms are accepted.
absl::StatusOr<int64_t> ParseLogTime(std::string_view text);

// The request the flags describe; kInvalidArgument naming the flag for a bad
// value (unknown outcome or kind, unparsable time, negative limit, until not
// after since).
absl::StatusOr<writeback::v1::ListProvisioningLogRequest> ParseLogFilter(const LogFlags& flags);

// Runs `log` or `log export` (args[0] == "log"); returns the exit code.
int RunLogCommand(writeback::v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                  const LogFlags& flags, const LogCommandHooks& hooks);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_LOG_COMMANDS_H_
