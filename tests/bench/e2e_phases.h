// The steps of the end-to-end benchmark (e2e_bench.cc) against a running
// WritebackEnv: an import file of one generation of the benchmark workload
// (bench_workload.h), `writebackctl mailbox import`, waiting until the
// controller has every mailbox in sync, and the provisioning log's account of
// a phase.
//
//   WB_RETURN_IF_ERROR(WriteImportFile(path, users, /*generation=*/2));
//   absl::Time t0 = absl::Now();
//   WB_RETURN_IF_ERROR(RunImport(env, path));
//   WB_RETURN_IF_ERROR(WaitInSync(env, users.size()));
//   WB_ASSIGN_OR_RETURN(PhaseLog log, ReadPhaseLog(env, t0));
#ifndef WRITEBACK_TESTS_BENCH_E2E_PHASES_H_
#define WRITEBACK_TESTS_BENCH_E2E_PHASES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/bench/bench_workload.h"
#include "tests/system/writeback_env.h"

namespace writeback::bench {

// Mailbox i (0-based) of the benchmark: cloud id WritebackEnv::CloudId(i + 1).
std::string BenchCloudId(size_t index);

// JSON lines for `writebackctl mailbox import`: every user as a mailbox of
// WritebackEnv::kForest anchored on its objectGUID, with the desired values
// of `generation` (ChangesFor(user, generation)).
absl::Status WriteImportFile(const std::string& path, const std::vector<BenchUser>& users,
                             int generation);

// Runs `writebackctl mailbox import PATH` as the local operator; its output
// goes to PATH.out. Fails unless it exits 0 (hang guard 30 min).
absl::Status RunImport(testing::WritebackEnv& env, const std::string& path);

// Polls GetStatus (every 50 ms) until the forest holds `mailboxes` mailboxes,
// all IN_SYNC, none queued. Fails at once on a quarantined or conflicting
// mailbox, and after `guard`.
absl::Status WaitInSync(testing::WritebackEnv& env, size_t mailboxes,
                        absl::Duration guard = absl::Minutes(30));

// Waits for a completed reconciliation pass (a "scan" record), so that the
// pass an agent's attach starts does not run inside a timed phase.
absl::Status WaitForScan(testing::WritebackEnv& env, absl::Duration guard);

// The job records of the provisioning log from `since` on.
struct PhaseLog {
  std::vector<v1::ProvisioningRecord> jobs;
  int64_t last_ms = 0;  // time of the latest record
};
absl::StatusOr<PhaseLog> ReadPhaseLog(testing::WritebackEnv& env, absl::Time since);

// The final check of a run: every mailbox has applied_gen == desired_gen and
// is IN_SYNC, and `log` holds exactly one APPLIED job record per mailbox in
// `expected_gen` (cloud id -> generation) with that generation, and no other.
absl::Status CheckOneRecordPerJob(testing::WritebackEnv& env, const PhaseLog& log,
                                  const std::map<std::string, uint64_t>& expected_gen);

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_E2E_PHASES_H_
