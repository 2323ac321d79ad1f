#include "tests/bench/e2e_phases.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/anchor.h"
#include "tests/bench/bench_util.h"
#include "tests/harness/process.h"

namespace writeback::bench {

using testing::WritebackEnv;

std::string BenchCloudId(size_t index) { return WritebackEnv::CloudId(static_cast<int>(index + 1)); }

absl::Status WriteImportFile(const std::string& path, const std::vector<BenchUser>& users,
                             int generation) {
  std::string text;
  for (size_t i = 0; i < users.size(); ++i) {
    std::vector<std::string> attrs;
    for (const BenchChange& c : ChangesFor(users[i], generation)) {
      std::vector<std::string> quoted;
      for (const std::string& v : c.desired) quoted.push_back(JsonString(v));
      attrs.push_back(absl::StrCat(JsonString(c.attribute), ":[", absl::StrJoin(quoted, ","), "]"));
    }
    absl::StrAppend(&text, "{\"cloud_id\":", JsonString(BenchCloudId(i)),
                    ",\"forest\":", JsonString(WritebackEnv::kForest),
                    ",\"anchor\":", JsonString(AnchorToGuidString(users[i].object_guid)),
                    ",\"attributes\":{", absl::StrJoin(attrs, ","), "}}\n");
  }
  return WriteFileAtomically(path, text);
}

absl::Status RunImport(WritebackEnv& env, const std::string& path) {
  WB_ASSIGN_OR_RETURN(
      auto ctl, testing::ChildProcess::Spawn(
                    WB_CTL_BIN, {"--controller=" + env.admin_address(), "mailbox", "import", path},
                    path + ".out",
                    {"WRITEBACKCTL_TOKEN_FILE=" + env.admin_token_file(), "WRITEBACKCTL_CONFIG=",
                     "HOME=" + env.work_dir()}));
  WB_ASSIGN_OR_RETURN(testing::ExitStatus st, ctl->WaitExit(absl::Minutes(30)));
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("writebackctl mailbox import ended with ",
                                            st.ToString(), "; see ", path, ".out"));
  }
  return absl::OkStatus();
}

absl::Status WaitInSync(WritebackEnv& env, size_t mailboxes, absl::Duration guard) {
  absl::Time deadline = absl::Now() + guard;
  std::string last;
  while (true) {
    WB_ASSIGN_OR_RETURN(v1::GetStatusResponse status, env.Admin().GetStatus());
    for (const v1::ForestStatus& f : status.forests()) {
      if (f.name() != WritebackEnv::kForest) continue;
      if (f.quarantined() > 0 || status.conflicted() > 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(f.quarantined(), " quarantined and ", status.conflicted(),
                         " conflicting mailboxes; see the controller's log"));
      }
      if (f.in_sync() == static_cast<int64_t>(mailboxes) && f.queue_depth() == 0) {
        return absl::OkStatus();
      }
      last = absl::StrCat("in sync ", f.in_sync(), " of ", mailboxes, ", queued ", f.queue_depth());
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("not in sync after ",
                                                      absl::FormatDuration(guard), ": ", last));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status WaitForScan(WritebackEnv& env, absl::Duration guard) {
  absl::Time deadline = absl::Now() + guard;
  v1::ListProvisioningLogRequest filter;
  filter.set_kind("scan");
  while (true) {
    WB_ASSIGN_OR_RETURN(int scans, env.Admin().CountLog(filter, 1));
    if (scans > 0) return absl::OkStatus();
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("no reconciliation pass ended");
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::StatusOr<PhaseLog> ReadPhaseLog(WritebackEnv& env, absl::Time since) {
  v1::ListProvisioningLogRequest filter;
  filter.set_kind("job");
  filter.set_since_ms(absl::ToUnixMillis(since));
  PhaseLog log;
  WB_ASSIGN_OR_RETURN(log.jobs, env.Admin().ProvisioningLog(filter));
  for (const auto& r : log.jobs) log.last_ms = std::max(log.last_ms, r.time_ms());
  return log;
}

absl::Status CheckOneRecordPerJob(WritebackEnv& env, const PhaseLog& log,
                                  const std::map<std::string, uint64_t>& expected_gen) {
  WB_ASSIGN_OR_RETURN(std::vector<v1::Mailbox> mailboxes, env.Admin().ListMailboxes());
  for (const v1::Mailbox& m : mailboxes) {
    if (m.applied_gen() != m.desired_gen() || m.status() != v1::IN_SYNC) {
      return absl::InternalError(absl::StrCat("mailbox ", m.cloud_id(), " applied ",
                                              m.applied_gen(), " of ", m.desired_gen(), " (",
                                              v1::MailboxStatus_Name(m.status()), ")"));
    }
  }
  std::map<std::string, int> seen;
  for (const v1::ProvisioningRecord& r : log.jobs) {
    auto it = expected_gen.find(r.mailbox_id());
    if (it == expected_gen.end()) {
      return absl::InternalError(absl::StrCat("job record ", r.id(), " for ", r.mailbox_id(),
                                              ", which this phase did not change"));
    }
    if (r.outcome() != v1::APPLIED || r.generation() != it->second) {
      return absl::InternalError(absl::StrCat("job record ", r.id(), " of ", r.mailbox_id(),
                                              ": ", v1::Outcome_Name(r.outcome()), " generation ",
                                              r.generation(), ", wanted APPLIED ", it->second));
    }
    if (++seen[r.mailbox_id()] > 1) {
      return absl::InternalError(absl::StrCat("two job records for ", r.mailbox_id()));
    }
  }
  if (seen.size() != expected_gen.size()) {
    return absl::InternalError(absl::StrCat(seen.size(), " mailboxes have a job record, ",
                                            expected_gen.size(), " were changed"));
  }
  return absl::OkStatus();
}

}  // namespace writeback::bench
