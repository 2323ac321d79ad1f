// How an agent's answer changes a mailbox's durable state. Pure functions:
// the dispatcher calls them inside a store transaction.
//
//   absl::Status s = ApplyJobResult(job, result, now, policy, &record);
//   ProvisioningRecord log = MakeJobLogRecord(job, result, agent_id, forest, now);
#ifndef WRITEBACK_CONTROLLER_DISPATCH_OUTCOME_H_
#define WRITEBACK_CONTROLLER_DISPATCH_OUTCOME_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/reconcile/correction.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

struct RetryPolicy {
  absl::Duration base = absl::Seconds(1);
  absl::Duration max = absl::Minutes(5);
  // Consecutive failed or conflicting attempts before a mailbox is
  // quarantined.
  uint32_t max_attempts = 10;
  // The dual-writer rule for corrections (reconcile/correction.h): a job
  // answered CONFLICT is a correction as much as drift found by a pass.
  ConflictRule conflict;
};

// Applies `result` of `job` to `mailbox`. kFailedPrecondition (nothing to
// write) when the mailbox no longer waits for that job: a stale or duplicate
// result.
//  - APPLIED / ALREADY_IN_STATE: last_known takes the job's desired values,
//    applied_gen = job generation; IN_SYNC, or PENDING if the cloud changed
//    the mailbox again meanwhile or a verification read is due.
//  - CONFLICT: last_known takes the values found; PENDING, so the next plan
//    expects what AD really holds (the cloud is authoritative). Each
//    attribute found holding other values than the job expected is a drift
//    record (source "job", appended to `drift` when given) and the
//    correction counts toward policy.conflict: a persistent dual writer's
//    mailbox goes to CONFLICT_HOLD instead (ApplyDrift). When the
//    values found are only ones that `unconfirmed` jobs wrote (a lost
//    answer), it is no conflict: their generation counts as
//    ALREADY_IN_STATE, no attempt is counted, and `log` (if any) says so.
//  - FAILED_RETRYABLE: RETRY_WAIT with exponential backoff and jitter.
//  - FAILED_PERMANENT / REJECTED_BY_POLICY: the named lifecycle state of
//    result.reason (OBJECT_NOT_FOUND, OBJECT_DELETED, OUT_OF_SCOPE,
//    DUPLICATE_MATCH), else QUARANTINED; nothing more is attempted.
// Conflicts and failures count attempts; past max_attempts: QUARANTINED.
absl::Status ApplyJobResult(const writeback::v1::Job& job, const writeback::v1::JobResult& result,
                            absl::Time now, const RetryPolicy& policy, MailboxRecord* mailbox,
                            writeback::v1::ProvisioningRecord* log = nullptr,
                            std::vector<writeback::v1::DriftRecord>* drift = nullptr);

// Applies an onboarding, verification or reconciliation read of `mailbox`:
// last_known becomes what was read and nothing is left to verify; a
// permanent failure gives the named lifecycle state as for jobs.
absl::Status ApplyObservation(const std::string& read_id,
                              const writeback::v1::ObservedObject& observed, absl::Time now,
                              const RetryPolicy& policy, MailboxRecord* mailbox);

// Puts a mailbox whose job was out with a lost session back in line, no
// earlier than `not_before` (ReleaseInFlight: the job becomes unconfirmed and
// a verification read is due). kFailedPrecondition if it is not that
// session's.
absl::Status ReleaseLostWork(const std::string& session_id, absl::Time not_before,
                             MailboxRecord* mailbox);

// The "lost" provisioning log record of work `work_id` that `mailbox` (as it
// was before ReleaseLostWork) had out with a session that ended unanswered.
writeback::v1::ProvisioningRecord MakeLostLogRecord(const std::string& work_id,
                                                    const MailboxRecord& mailbox,
                                                    const std::string& agent_id,
                                                    const std::string& session_id, absl::Time now,
                                                    absl::Time not_before);

// An operator's retry: clears attempts, error and the correction history
// (so a CONFLICT_HOLD mailbox is corrected again) and puts the mailbox back
// in line now. From a lifecycle state it is read again first (last_known
// cleared: the object may have been restored or moved back). Returns false,
// changing nothing, when there is nothing to retry (IN_SYNC, PENDING);
// kFailedPrecondition while work is out with an agent, and for a HELD
// mailbox (only deciding its mass-change hold releases it).
absl::StatusOr<bool> RetryNow(MailboxRecord* mailbox);

// Provisioning log records (DESIGN §3) for an attempt.
writeback::v1::ProvisioningRecord MakeJobLogRecord(const writeback::v1::Job& job,
                                                   const writeback::v1::JobResult& result,
                                                   const std::string& agent_id,
                                                   const std::string& forest, absl::Time now);
writeback::v1::ProvisioningRecord MakeReadLogRecord(const std::string& read_id,
                                                    const writeback::v1::ObservedObject& observed,
                                                    const std::string& agent_id,
                                                    const std::string& forest, absl::Time now);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_OUTCOME_H_
