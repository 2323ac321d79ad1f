#include "agent/apply/job_log.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"

namespace writeback::agent {

bool IsJobFailure(v1::Outcome outcome) {
  return outcome == v1::REJECTED_BY_POLICY || outcome == v1::FAILED_PERMANENT ||
         outcome == v1::FAILED_RETRYABLE;
}

std::string JobFailureHint(const v1::JobResult& result, const std::string& mailbox_id) {
  const std::string retry = absl::StrCat("writebackctl mailbox retry ", mailbox_id);
  switch (result.reason()) {
    case v1::REASON_OBJECT_NOT_FOUND:
      return absl::StrCat(
          "no AD object carries the mailbox's anchor: check it with writebackctl "
          "mailbox get ",
          mailbox_id, ", or remove the mailbox: writebackctl mailbox remove ", mailbox_id);
    case v1::REASON_OBJECT_DELETED:
      return absl::StrCat(
          "the AD object was deleted: restore it, or remove the mailbox: "
          "writebackctl mailbox remove ",
          mailbox_id);
    case v1::REASON_OUT_OF_SCOPE:
      return absl::StrCat(
          "the AD object is outside the agent's scope_ous: move it into a scope "
          "OU (or widen scope_ous), then: ",
          retry);
    case v1::REASON_AMBIGUOUS_MATCH:
      return absl::StrCat("several AD objects carry the anchor: clear the duplicates, then: ",
                          retry);
    default:
      break;
  }
  switch (result.outcome()) {
    case v1::REJECTED_BY_POLICY:
      return absl::StrCat(
          "fix the value in the cloud (or the agent's local policy if the value "
          "is right), then: ",
          retry);
    case v1::FAILED_PERMANENT:
      return absl::StrCat(
          "the directory refused the change: fix the value in the cloud or the "
          "object in AD, then: ",
          retry);
    case v1::FAILED_RETRYABLE:
      return "nothing to do unless it repeats: the controller retries; then "
             "check the DC";
    default:
      return "";
  }
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
