// What an operator should do about a failed job: the hint both the agent's
// and the controller's log events carry (log.h LogHint), so that the two
// logs of one failure agree.
#ifndef WRITEBACK_COMMON_JOB_HINT_H_
#define WRITEBACK_COMMON_JOB_HINT_H_

#include <string>

#include "writeback/v1/agent.pb.h"

namespace writeback {

// For `result` of a job (or a failed read) of mailbox `mailbox_id`: by the
// failure's reason first (object not found, deleted, out of scope,
// ambiguous), then by its outcome. Never empty.
std::string JobFailureHint(const writeback::v1::JobResult& result, const std::string& mailbox_id);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_JOB_HINT_H_
