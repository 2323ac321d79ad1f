// The controller benchmark's final check (bench_check.h): the provisioning
// log and every mailbox, read through the Admin API.
#include "tests/bench/bench_check.h"

#include <cstdio>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"

namespace writeback::bench {
namespace {

// What the log says about one mailbox.
struct Seen {
  uint16_t reads = 0;    // read records that observed the object
  uint16_t applied = 0;  // job records with outcome APPLIED
  uint16_t lost = 0;     // lost records
  uint16_t other = 0;    // any other job or read record
};

// The integer after "\"key\":" in a flat JSON object; -1 when absent.
int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  at += needle.size();
  size_t end = json.find_first_of(",}", at);
  int64_t v = -1;
  if (!absl::SimpleAtoi(json.substr(at, end - at), &v)) return -1;
  return v;
}

// Mailbox index of a benchmark cloud id (Estate::CloudId); -1 if foreign.
int64_t IndexOf(const std::string& cloud_id, int64_t mailboxes) {
  if (cloud_id.size() != 36) return -1;
  uint64_t v = 0;
  if (!absl::SimpleHexAtoi(cloud_id.substr(24), &v) || static_cast<int64_t>(v) >= mailboxes) {
    return -1;
  }
  return static_cast<int64_t>(v);
}

}  // namespace

grpc::Status Export(v1::AdminService::Stub& stub, const v1::ListProvisioningLogRequest& filter,
                    const std::function<void(const v1::ProvisioningRecord&)>& each) {
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(1));
  auto reader = stub.ExportProvisioningLog(&c, filter);
  v1::ProvisioningRecord r;
  while (reader->Read(&r)) each(r);
  return reader->Finish();
}

int Check(v1::AdminService::Stub& stub, const Estate& estate, const std::string& stats_file,
          const std::string& killed_agent) {
  auto stats = ReadFileToString(stats_file);
  if (!stats.ok()) {
    fprintf(stderr, "bench_admin: check: cannot read %s\n", stats_file.c_str());
    return 1;
  }
  const int64_t answered_jobs = JsonInt(*stats, "jobs");
  const int64_t answered_reads = JsonInt(*stats, "reads");
  std::vector<Seen> seen(estate.mailboxes);
  absl::flat_hash_set<std::string> work_ids;
  int64_t records = 0, job_records = 0, read_records = 0, lost_records = 0, survivor_jobs = 0,
          survivor_reads = 0, survivor_lost_jobs = 0, survivor_lost_reads = 0, violations = 0;
  auto violation = [&](const std::string& what) {
    if (violations++ < 10) fprintf(stderr, "bench_admin: check: %s\n", what.c_str());
  };
  grpc::Status s = Export(stub, {}, [&](const v1::ProvisioningRecord& r) {
    ++records;
    const bool work = r.kind() == "job" || r.kind() == "read" || r.kind() == "lost";
    if (!work) return;  // scan records
    int64_t i = IndexOf(r.mailbox_id(), estate.mailboxes);
    if (i < 0) return violation(absl::StrCat("a record for unknown mailbox ", r.mailbox_id()));
    if (!work_ids.insert(r.job_id()).second) {
      violation(absl::StrCat("job or read ", r.job_id(), " has two records (mailbox ",
                             r.mailbox_id(), ")"));
    }
    Seen& m = seen[i];
    const bool survivor = r.agent_id() != killed_agent;
    if (r.kind() == "lost") {
      ++lost_records;
      ++m.lost;
      const bool job = r.job_id().rfind("j-", 0) == 0;
      survivor_lost_jobs += survivor && job;
      survivor_lost_reads += survivor && !job;
    } else if (r.kind() == "job") {
      ++job_records;
      survivor_jobs += survivor;
      ++(r.outcome() == v1::APPLIED ? m.applied : m.other);
    } else {
      ++read_records;
      survivor_reads += survivor;
      ++(r.outcome() == v1::OUTCOME_UNSPECIFIED ? m.reads : m.other);
    }
  });
  if (!s.ok()) {
    fprintf(stderr, "bench_admin: check: export: %s\n", s.error_message().c_str());
    return 1;
  }
  int64_t listed = 0, in_sync = 0, redelivered = 0;
  for (int f = 0; f < estate.forests; ++f) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    v1::ListMailboxesRequest req;
    req.set_forest(estate.ForestName(f));
    req.set_limit(static_cast<uint32_t>(estate.mailboxes + 1));
    v1::ListMailboxesResponse out;
    grpc::Status ls = stub.ListMailboxes(&c, req, &out);
    if (!ls.ok()) {
      fprintf(stderr, "bench_admin: check: ListMailboxes: %s\n", ls.error_message().c_str());
      return 1;
    }
    for (const v1::Mailbox& m : out.mailboxes()) {
      ++listed;
      const int64_t i = IndexOf(m.cloud_id(), estate.mailboxes);
      if (i < 0) {
        violation(absl::StrCat("unknown mailbox ", m.cloud_id()));
        continue;
      }
      if (m.status() != v1::IN_SYNC || m.applied_gen() != m.desired_gen() || m.desired_gen() == 0) {
        violation(absl::StrCat("mailbox ", m.cloud_id(), " is ", v1::MailboxStatus_Name(m.status()),
                               " with applied_gen ", m.applied_gen(), " and desired_gen ",
                               m.desired_gen()));
      } else {
        ++in_sync;
      }
      const Seen& n = seen[i];
      if (n.lost > 0) {
        ++redelivered;
        if (n.applied == 0)
          violation(absl::StrCat("mailbox ", m.cloud_id(), " has no APPLIED job"));
      } else if (n.reads != 1 || n.applied != 1 || n.other != 0) {
        violation(absl::StrCat("mailbox ", m.cloud_id(), " has ", n.reads, " read and ", n.applied,
                               " applied job records (", n.other, " other); want 1 and 1"));
      }
    }
  }
  if (listed != estate.mailboxes) {
    violation(absl::StrCat(listed, " mailboxes listed, ", estate.mailboxes, " loaded"));
  }
  // Every answer the surviving agents sent is recorded once, unless its
  // session had ended meanwhile (then the work is recorded as lost).
  if (survivor_jobs > answered_jobs || survivor_jobs + survivor_lost_jobs < answered_jobs ||
      survivor_reads > answered_reads || survivor_reads + survivor_lost_reads < answered_reads) {
    violation(absl::StrCat("the surviving agents answered ", answered_jobs, " jobs and ",
                           answered_reads, " reads; the log has ", survivor_jobs, " and ",
                           survivor_reads, " (and ", survivor_lost_jobs, " and ",
                           survivor_lost_reads, " lost)"));
  }
  printf(
      "{\"metric\":\"controller_final_check\",\"value\":%d,\"mailboxes\":%ld,\"in_sync\":%ld,"
      "\"log_records\":%ld,\"job_records\":%ld,\"read_records\":%ld,\"lost_records\":%ld,"
      "\"redelivered_mailboxes\":%ld,\"violations\":%ld}\n",
      violations == 0 ? 1 : 0, static_cast<long>(listed), static_cast<long>(in_sync),
      static_cast<long>(records), static_cast<long>(job_records), static_cast<long>(read_records),
      static_cast<long>(lost_records), static_cast<long>(redelivered),
      static_cast<long>(violations));
  return violations == 0 ? 0 : 1;
}

}  // namespace writeback::bench
