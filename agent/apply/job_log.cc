#include "agent/apply/job_log.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"
#include "common/job_hint.h"

namespace writeback::agent {

bool IsJobFailure(v1::Outcome outcome) {
  return outcome == v1::REJECTED_BY_POLICY || outcome == v1::FAILED_PERMANENT ||
         outcome == v1::FAILED_RETRYABLE;
}

void LogJobFailure(const v1::Job& job, const v1::JobResult& result, const std::string& attribute) {
  std::vector<std::string> names;
  for (const v1::AttributeChange& c : job.changes()) names.push_back(c.attribute());
  std::string at_fault = attribute;
  if (at_fault.empty() && names.size() == 1) at_fault = names[0];
  const char* message = result.outcome() == v1::REJECTED_BY_POLICY ? "job refused by local policy"
                        : result.outcome() == v1::FAILED_PERMANENT ? "job failed permanently"
                                                                   : "job failed, will be retried";
  const LogLevel level =
      result.outcome() == v1::FAILED_RETRYABLE ? LogLevel::kWarning : LogLevel::kError;
  if (!LogEnabled(level)) return;
  LogLine line(level);
  line << message << LogField("job", job.job_id()) << LogField("mailbox", job.mailbox_id());
  if (!at_fault.empty()) line << LogField("attribute", at_fault);
  line << LogField("attributes", absl::StrJoin(names, ","))
       << LogField("outcome", v1::Outcome_Name(result.outcome()));
  if (result.reason() != v1::FAILURE_REASON_UNSPECIFIED) {
    line << LogField("reason", v1::FailureReason_Name(result.reason()));
  }
  if (!result.dn().empty()) line << LogField("dn", result.dn());
  if (result.ldap_code() != 0) line << LogField("ldap_code", result.ldap_code());
  line << LogField("dc", result.dc()) << LogField("error", result.diagnostic())
       << LogHint(JobFailureHint(result, job.mailbox_id()));
}

}  // namespace writeback::agent
