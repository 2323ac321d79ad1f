#include "controller/dispatch/answer_log.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"
#include "common/job_hint.h"

namespace writeback::controller {
namespace v1 = writeback::v1;

void LogFailedAnswer(const v1::Job& job, const v1::JobResult& result, const std::string& agent,
                     const std::string& forest) {
  if (result.outcome() != v1::REJECTED_BY_POLICY && result.outcome() != v1::FAILED_PERMANENT) {
    return;
  }
  if (!LogEnabled(LogLevel::kError)) return;
  std::vector<std::string> names;
  for (const v1::AttributeChange& c : job.changes()) names.push_back(c.attribute());
  LogLine line(LogLevel::kError);
  line << (result.outcome() == v1::REJECTED_BY_POLICY ? "agent refused a job by its local policy"
                                                      : "agent reported a permanent job failure")
       << LogField("mailbox", job.mailbox_id()) << LogField("forest", forest)
       << LogField("agent", agent) << LogField("job", job.job_id());
  if (names.size() == 1) line << LogField("attribute", names[0]);
  line << LogField("attributes", absl::StrJoin(names, ","))
       << LogField("outcome", v1::Outcome_Name(result.outcome()));
  if (result.reason() != v1::FAILURE_REASON_UNSPECIFIED) {
    line << LogField("reason", v1::FailureReason_Name(result.reason()));
  }
  if (!result.dn().empty()) line << LogField("dn", result.dn());
  line << LogField("error", result.diagnostic())
       << LogHint(JobFailureHint(result, job.mailbox_id()));
}

void LogFailedRead(const v1::ObservedObject& object, const std::string& agent,
                   const std::string& forest) {
  if (object.failure() == v1::OUTCOME_UNSPECIFIED || !LogEnabled(LogLevel::kWarning)) return;
  v1::JobResult as_result;  // for the hint
  as_result.set_outcome(object.failure());
  as_result.set_reason(object.reason());
  LogLine line(LogLevel::kWarning);
  line << "agent could not read a mailbox's object" << LogField("mailbox", object.mailbox_id())
       << LogField("forest", forest) << LogField("agent", agent)
       << LogField("outcome", v1::Outcome_Name(object.failure()));
  if (object.reason() != v1::FAILURE_REASON_UNSPECIFIED) {
    line << LogField("reason", v1::FailureReason_Name(object.reason()));
  }
  if (!object.dn().empty()) line << LogField("dn", object.dn());
  line << LogField("error", object.diagnostic())
       << LogHint(object.failure() == v1::FAILED_RETRYABLE
                      ? "nothing to do unless it repeats: the read is retried"
                      : JobFailureHint(as_result, object.mailbox_id()));
}

}  // namespace writeback::controller
