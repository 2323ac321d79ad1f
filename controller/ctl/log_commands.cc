#include "controller/ctl/log_commands.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "controller/ctl/output.h"
#include "controller/ctl/table.h"
#include "google/protobuf/util/json_util.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

std::string OutcomeNames() {
  std::vector<std::string> names;
  for (int i = v1::Outcome_MIN + 1; i <= v1::Outcome_MAX; ++i) {
    if (v1::Outcome_IsValid(i)) names.push_back(v1::Outcome_Name(static_cast<v1::Outcome>(i)));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<int64_t> ParseTimeFlag(const char* flag, const std::string& value) {
  if (value.empty()) return 0;
  auto ms = ParseLogTime(value);
  if (!ms.ok())
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", ms.status().message()));
  return *ms;
}

std::vector<std::string> RecordRow(const v1::ProvisioningRecord& r) {
  std::vector<std::string> modified;
  for (const auto& p : r.modified()) {
    modified.push_back(absl::StrCat(p.name(), ": [", absl::StrJoin(p.old_values(), "; "), "] -> [",
                                    absl::StrJoin(p.new_values(), "; "), "]"));
  }
  return {FormatTimeMs(r.time_ms()),
          r.kind(),
          r.job_id(),
          r.mailbox_id(),
          r.agent_id(),
          absl::StrCat(r.generation()),
          r.outcome() == v1::OUTCOME_UNSPECIFIED ? "-" : v1::Outcome_Name(r.outcome()),
          r.ldap_code() == 0 ? "-" : absl::StrCat(r.ldap_code()),
          absl::StrJoin(modified, ", "),
          r.diagnostic()};
}

Table RecordTable() {
  return Table({"TIME (UTC)", "KIND", "JOB", "MAILBOX", "AGENT", "GEN", "OUTCOME", "LDAP",
                "MODIFIED", "DIAGNOSTIC"});
}

volatile std::sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

int Follow(v1::AdminService::Stub& stub, v1::ListProvisioningLogRequest request,
           const LogFlags& flags, const LogCommandHooks& hooks) {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  int64_t after_id = 0;
  {  // Start after the newest record there is now.
    v1::ListProvisioningLogRequest newest;
    newest.set_limit(1);
    v1::ListProvisioningLogResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.ListProvisioningLog(&context, newest, &response); !s.ok()) {
      return hooks.report(s);
    }
    if (!response.records().empty()) after_id = response.records(0).id();
  }
  const int64_t limit = flags.limit;  // 0: until a signal
  int64_t printed = 0;
  // Fixed widths, so that rows printed as they arrive line up under the header.
  const std::vector<size_t> widths = {23, 7, 20, 36, 16, 4, 18, 4, 10};
  if (!flags.json) {
    Table header = RecordTable();
    header.SetMinWidths(widths);
    std::cout << header.Render() << std::flush;
  }
  while (g_stop == 0 && (limit == 0 || printed < limit)) {
    request.set_after_id(after_id);
    request.set_limit(
        static_cast<uint32_t>(limit == 0 ? 500 : std::min<int64_t>(500, limit - printed)));
    grpc::ClientContext context;
    SetDeadline(&context);
    std::unique_ptr<grpc::ClientReader<v1::ProvisioningRecord>> reader =
        stub.ExportProvisioningLog(&context, request);
    v1::ProvisioningRecord record;
    int64_t got = 0;
    const int64_t seen = after_id;
    while (reader->Read(&record)) {
      // A controller older than after_id sends everything again: print each record once.
      if (record.id() <= seen) continue;
      after_id = std::max(after_id, record.id());
      ++got;
      if (limit != 0 && printed >= limit) continue;
      if (flags.json) {
        std::cout << ToJson(record) << "\n";
      } else {
        Table row = RecordTable();
        row.SetMinWidths(widths);
        row.AddRow(RecordRow(record));
        std::string text = row.Render();
        std::cout << text.substr(text.find('\n') + 1);  // without the header
      }
      ++printed;
    }
    std::cout.flush();
    if (grpc::Status s = reader->Finish(); !s.ok()) return hooks.report(s);
    if (got == 0) {
      for (int i = 0; i < 5 && g_stop == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return kExitOk;
}

int List(v1::AdminService::Stub& stub, const v1::ListProvisioningLogRequest& request,
         const LogFlags& flags, const LogCommandHooks& hooks) {
  v1::ListProvisioningLogResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.ListProvisioningLog(&context, request, &response); !s.ok()) {
    return hooks.report(s);
  }
  Table table = RecordTable();
  for (const auto& r : response.records()) {
    if (flags.json) {  // JSON lines, one record each
      std::cout << ToJson(r) << "\n";
    } else {
      table.AddRow(RecordRow(r));
    }
  }
  if (!flags.json) std::cout << table.Render();
  std::cout.flush();
  return kExitOk;
}

int Export(v1::AdminService::Stub& stub, const v1::ListProvisioningLogRequest& request,
           const LogFlags& flags, const LogCommandHooks& hooks) {
  std::ofstream file;
  if (!flags.output.empty()) {
    file.open(flags.output, std::ios::out | std::ios::trunc);
    if (!file) {
      std::cerr << "writebackctl: cannot write --output=" << flags.output
                << "; check that its directory exists and is writable" << std::endl;
      return kExitFailed;
    }
  }
  std::ostream& out = flags.output.empty() ? std::cout : file;
  grpc::ClientContext context;
  // A hang guard only: an export of millions of records takes minutes.
  SetDeadline(&context, 3600);
  std::unique_ptr<grpc::ClientReader<v1::ProvisioningRecord>> reader =
      stub.ExportProvisioningLog(&context, request);
  v1::ProvisioningRecord record;
  int64_t count = 0;
  while (reader->Read(&record)) {
    out << ToJson(record) << "\n";
    ++count;
  }
  grpc::Status s = reader->Finish();
  out.flush();
  const std::string where = flags.output.empty() ? "stdout" : flags.output;
  if (!s.ok()) {
    std::cerr << "writebackctl: export stopped after " << count << " record(s) written to " << where
              << std::endl;
    return hooks.report(s);
  }
  if (!out) {
    std::cerr << "writebackctl: writing " << where << " failed after " << count
              << " record(s) (disk full?)" << std::endl;
    return kExitFailed;
  }
  std::cerr << "exported " << count << " provisioning log record(s) to " << where << std::endl;
  return kExitOk;
}

}  // namespace

absl::StatusOr<int64_t> ParseLogTime(std::string_view text) {
  const std::string value(text);
  int64_t ms = 0;
  if (absl::SimpleAtoi(value, &ms)) {
    if (ms < 0) return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is before 1970"));
    return ms;
  }
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value,
                     "\" is neither RFC 3339 (e.g. 2026-11-30T08:00:00Z) nor "
                     "Unix milliseconds"));
  }
  if (t < absl::UnixEpoch()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is before 1970"));
  }
  return absl::ToUnixMillis(t);
}

absl::StatusOr<v1::ListProvisioningLogRequest> ParseLogFilter(const LogFlags& flags) {
  v1::ListProvisioningLogRequest request;
  request.set_mailbox_id(absl::AsciiStrToLower(flags.mailbox));
  request.set_forest(absl::AsciiStrToLower(flags.forest));
  request.set_agent_id(flags.agent);
  if (!flags.outcome.empty()) {
    v1::Outcome outcome;
    if (!v1::Outcome_Parse(absl::AsciiStrToUpper(flags.outcome), &outcome) ||
        outcome == v1::OUTCOME_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--outcome: \"", flags.outcome, "\" is not an outcome; use one of ", OutcomeNames()));
    }
    request.set_outcome(outcome);
  }
  if (!flags.kind.empty()) {
    const std::string kind = absl::AsciiStrToLower(flags.kind);
    if (kind != "job" && kind != "read" && kind != "lost" && kind != "removed" && kind != "scan" &&
        kind != "held" && kind != "rejected") {
      return absl::InvalidArgumentError(
          absl::StrCat("--kind: \"", flags.kind,
                       "\" is not a record kind; use job, read, lost, removed, "
                       "scan, held or rejected"));
    }
    request.set_kind(kind);
  }
  auto since = ParseTimeFlag("since", flags.since);
  if (!since.ok()) return since.status();
  auto until = ParseTimeFlag("until", flags.until);
  if (!until.ok()) return until.status();
  if (*since != 0 && *until != 0 && *until <= *since) {
    return absl::InvalidArgumentError("--until must be later than --since");
  }
  request.set_since_ms(*since);
  request.set_until_ms(*until);
  if (flags.limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--limit: ", flags.limit, " is negative"));
  }
  request.set_limit(static_cast<uint32_t>(flags.limit));
  return request;
}

int RunLogCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                  const LogFlags& flags, const LogCommandHooks& hooks) {
  const bool is_export = args.size() == 2 && args[1] == "export";
  if (args.size() > 1 && !is_export) {
    return hooks.usage(
        "log: expected 'log [FILTERS]' or 'log export [FILTERS] "
        "[--output=FILE]'");
  }
  if (!is_export && !flags.output.empty()) return hooks.usage("--output is for 'log export'");
  if (is_export && flags.follow) return hooks.usage("--follow is for 'log', not 'log export'");
  auto request = ParseLogFilter(flags);
  if (!request.ok()) return hooks.usage(std::string(request.status().message()));
  if (flags.follow) return Follow(stub, *request, flags, hooks);
  return is_export ? Export(stub, *request, flags, hooks) : List(stub, *request, flags, hooks);
}

}  // namespace writeback::ctl
