// Turns a mailbox's durable state into the next piece of work (DESIGN §3, §5).
// Pure logic: no I/O, no clock; the dispatcher acts on the decision.
//
//   PlanDecision d = PlanMailbox(record, "job-42");
//   switch (d.kind) {
//     case PlanDecision::kRead: ...   // onboarding read first
//     case PlanDecision::kJob: ...    // send d.job
//     case PlanDecision::kInSync: ... // nothing to write
//   }
#ifndef WRITEBACK_CONTROLLER_PLANNER_JOB_PLANNER_H_
#define WRITEBACK_CONTROLLER_PLANNER_JOB_PLANNER_H_

#include <string>
#include <vector>

#include "controller/store/store.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

struct PlanDecision {
  enum Kind { kInSync, kRead, kJob };
  Kind kind = kInSync;
  // For kJob: one AttributeChange per attribute whose desired set differs
  // from last_known (compared as the directory compares), expected =
  // last_known values, desired = desired values. Attributes not in the
  // desired map are not managed and never appear.
  writeback::v1::Job job;
};

// Decides what `mailbox` needs: a read when it was never read (onboarding),
// otherwise a job carrying generation desired_gen; when there is nothing to
// write, a verification read if one is due (verify_read, after a redelivery),
// else nothing.
PlanDecision PlanMailbox(const MailboxRecord& mailbox, const std::string& job_id);

// The values of `attribute` in `map` (empty when absent).
std::vector<std::string> ValuesOf(const writeback::v1::AttributeMap& map,
                                  const std::string& attribute);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_PLANNER_JOB_PLANNER_H_
