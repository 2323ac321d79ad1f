#include "controller/dispatch/answer_log.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;

std::string Hint(const v1::JobResult& result, const std::string& mailbox) {
  const std::string retry = absl::StrCat("writebackctl mailbox retry ", mailbox);
  switch (result.reason()) {
    case v1::REASON_OBJECT_NOT_FOUND:
      return absl::StrCat("no AD object carries the anchor: check it (writebackctl mailbox get ",
                          mailbox, ") or remove the mailbox (writebackctl mailbox remove ", mailbox,
                          ")");
    case v1::REASON_OBJECT_DELETED:
      return absl::StrCat(
          "the AD object was deleted: restore it, or "
          "writebackctl mailbox remove ",
          mailbox);
    case v1::REASON_OUT_OF_SCOPE:
      return absl::StrCat(
          "the AD object is outside the forest's scope OUs: move it into one "
          "(or widen the scope), then: ",
          retry);
    case v1::REASON_AMBIGUOUS_MATCH:
      return absl::StrCat("several AD objects carry the anchor: clear the duplicates, then: ",
                          retry);
    default:
      break;
  }
  if (result.outcome() == v1::REJECTED_BY_POLICY) {
    return absl::StrCat(
        "fix the value in the cloud (or the agent's local "
        "policy if the value is "
        "right), then: ",
        retry);
  }
  return absl::StrCat(
      "the directory refused the change: fix the value in the cloud or the "
      "object in AD, then: ",
      retry);
}

}  // namespace

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
  line << LogField("error", result.diagnostic()) << LogHint(Hint(result, job.mailbox_id()));
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
                      : Hint(as_result, object.mailbox_id()));
}

}  // namespace writeback::controller
