#include "common/job_hint.h"

#include "absl/strings/str_cat.h"

namespace writeback {

namespace v1 = writeback::v1;

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
          "the AD object is outside the scope OUs (the forest's or the agent's scope_ous): "
          "move it into one, or widen the scope, then: ",
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
      return absl::StrCat("see writebackctl log --mailbox=", mailbox_id, ", then: ", retry);
  }
}

}  // namespace writeback
