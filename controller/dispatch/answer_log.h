// The controller's log event for a job an agent could not carry out
// (REJECTED_BY_POLICY, FAILED_PERMANENT): one ERROR per answer naming the
// mailbox, forest, agent, job, attributes, DN and what to do. Retryable
// failures and conflicts are the dispatcher's daily work and are not logged
// here (the provisioning log has every answer).
//
//   LogFailedAnswer(job, result, "agent-1", "corp.example.test");
//   // ERROR controller: agent refused a job by its local policy
//   mailbox=c10d... forest=...
//   //   agent=agent-1 job=j-7 attributes=mail outcome=REJECTED_BY_POLICY
//   error="..." hint="..."
#ifndef WRITEBACK_CONTROLLER_DISPATCH_ANSWER_LOG_H_
#define WRITEBACK_CONTROLLER_DISPATCH_ANSWER_LOG_H_

#include <string>

#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

// Logs `result` of `job` when its outcome needs an operator; else nothing.
void LogFailedAnswer(const writeback::v1::Job& job, const writeback::v1::JobResult& result,
                     const std::string& agent, const std::string& forest);

// The same for a read (onboarding, verification) that found no object to
// read: "agent could not read a mailbox's object" (WARNING; not found,
// deleted, out of scope, ambiguous). Nothing for a successful read.
void LogFailedRead(const writeback::v1::ObservedObject& object, const std::string& agent,
                   const std::string& forest);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_ANSWER_LOG_H_
