// Provision on demand (admin.proto ProvisionNow): one mailbox written now,
// ahead of the queue but not around the safety rules. The path itself is
// Dispatcher::ProvisionNow (provision_now.cc); this header holds its pure
// parts: when it is refused, and how the answers become the steps (import,
// match, scope, export) and modified properties an operator reads.
//
//   absl::StatusOr<ProvisionNowResponse> r =
//       dispatcher.ProvisionNow("6f0c...", absl::Seconds(30));
//   // r->steps(): import success, match success (CN=...), scope success,
//   //             export success (APPLIED); r->modified(): old and new values
//
// How the dispatcher carries it out (see Dispatcher::ProvisionNow):
//  1. import: the mailbox is loaded; CheckProvisionable refuses a paused
//     forest, a HELD or CONFLICT_HOLD mailbox (nothing written); work already
//     in flight for it (or a lost session's fence) is waited for.
//  2. The next free credit slot of the mailbox's rendezvous owner is taken
//     before the placement thread can fill it (never beyond the credit), and
//     a ReadRequest goes out at once: it gives match, scope and the current
//     values, so the job's expected values are what AD holds now.
//  3. The read is recorded as normal reads are (ApplyObservation and a
//     provisioning log record) and, in the same transaction, PlanMailbox
//     plans the job, which keeps the read's credit slot. The job is answered
//     and recorded as normal work (OnResults, ApplyJobResult).
// The agent applies the job in order with what it already holds, so the
// latency is bounded by its credit and write rate, not by the queue.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_PROVISION_NOW_H_
#define WRITEBACK_CONTROLLER_DISPATCH_PROVISION_NOW_H_

#include <string>

#include "absl/status/status.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

// kFailedPrecondition, naming the cause and what to do, when `mailbox` may
// not be provisioned now: its forest is paused, it is HELD by the
// mass-change guard, or it is in CONFLICT_HOLD (a dual writer). Lifecycle
// states and QUARANTINED are allowed: the fresh read decides.
absl::Status CheckProvisionable(const ForestRecord& forest, const MailboxRecord& mailbox);

// True when `mailbox` has work out with an agent, or waits for the fence of
// a lost session's work (a redelivery not before next_attempt_ms > now_ms):
// provision on demand waits for either.
bool WorkPending(const MailboxRecord& mailbox, int64_t now_ms);

// The "import" step: what the cloud wants (generation, attributes).
void AddImportStep(const MailboxRecord& mailbox, writeback::v1::ProvisionNowResponse* response);

// The "match" and "scope" steps from the fresh read. When the read failed
// (not found, deleted, ambiguous, out of scope, directory unavailable) also
// an "export" step skipped as not attempted, and the outcome, reason and
// diagnostic of the failure.
void AddReadSteps(const writeback::v1::ObservedObject& observed,
                  writeback::v1::ProvisionNowResponse* response);

// The read showed that AD already holds the desired values: "export"
// skipped, outcome ALREADY_IN_STATE, nothing modified.
void AddNothingToWrite(writeback::v1::ProvisionNowResponse* response);

// The "export" step and modified properties from the job's answer:
// success for APPLIED, skipped for ALREADY_IN_STATE, failure (with LDAP code
// and diagnostic) otherwise.
void AddJobSteps(const writeback::v1::Job& job, const writeback::v1::JobResult& result,
                 writeback::v1::ProvisionNowResponse* response);

// One line per step, "match: success (CN=...)", for messages such as the
// DEADLINE_EXCEEDED answer.
std::string DescribeSteps(const writeback::v1::ProvisionNowResponse& response);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_PROVISION_NOW_H_
