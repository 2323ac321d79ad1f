// The log event of a job the agent could not carry out: one a job (ERROR
// when an operator must act, WARNING for a retryable failure),
// naming the job, the mailbox, the attribute (when one is at fault), the DN
// and what the operator should do.
//
//   if (IsJobFailure(result.outcome())) LogJobFailure(job, result, "mail");
//   // ERROR agent: job refused by local policy job=j-1 mailbox=c10d...
//   attribute=mail
//   //   attributes=mail,proxyAddresses dn=... error="refused by local policy:
//   ..." hint="..."
//
// Messages: "job refused by local policy" (REJECTED_BY_POLICY), "job failed
// permanently" (FAILED_PERMANENT), "job failed, will be retried"
// (FAILED_RETRYABLE). Values the job carries are never logged, only the
// agent's diagnostic (which may quote the refused value).
#ifndef WRITEBACK_AGENT_APPLY_JOB_LOG_H_
#define WRITEBACK_AGENT_APPLY_JOB_LOG_H_

#include <string>

#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

// REJECTED_BY_POLICY, FAILED_PERMANENT and FAILED_RETRYABLE.
bool IsJobFailure(v1::Outcome outcome);

// Logs the failure. `attribute`: the attribute at fault, or empty (then the
// job's only attribute, when it has one).
void LogJobFailure(const v1::Job& job, const v1::JobResult& result, const std::string& attribute);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_JOB_LOG_H_
