#include "controller/dispatch/failure_watch.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace writeback::controller {

namespace {
constexpr size_t kNamedRequests = 10;
}  // namespace

std::optional<std::string> FailureWatch::Record(const std::string& forest,
                                                const std::string& mailbox_id,
                                                const writeback::v1::JobResult& result,
                                                absl::Time now) {
  Window& w = answers_[forest];
  Answer a;
  a.at = now;
  a.failed = result.outcome() == writeback::v1::FAILED_RETRYABLE ||
             result.outcome() == writeback::v1::FAILED_PERMANENT;
  if (a.failed) {  // only failures are named in a pause reason
    a.job_id = result.job_id();
    a.mailbox_id = mailbox_id;
    a.ldap_code = result.ldap_code();
    a.diagnostic = result.diagnostic();
    ++w.failed;
  }
  w.answers.push_back(std::move(a));
  while (!w.answers.empty() && now - w.answers.front().at > options_.window) {
    if (w.answers.front().failed) --w.failed;
    w.answers.pop_front();
  }
  if (options_.failure_ratio >= 1.0 || tripped_.count(forest) > 0) return std::nullopt;
  const size_t total = w.answers.size();
  if (static_cast<int>(total) < options_.min_attempts) return std::nullopt;
  // A running count: this runs for every answer, under the dispatcher's lock,
  // and a five-minute window holds hundreds of thousands of answers.
  const double ratio = static_cast<double>(w.failed) / static_cast<double>(total);
  if (ratio <= options_.failure_ratio) return std::nullopt;
  tripped_.insert(forest);
  std::vector<std::string> named;
  for (auto it = w.answers.rbegin(); it != w.answers.rend() && named.size() < kNamedRequests;
       ++it) {
    if (!it->failed) continue;
    named.push_back(absl::StrCat("job ", it->job_id, " mailbox ", it->mailbox_id, ": LDAP ",
                                 it->ldap_code, ": ", it->diagnostic));
  }
  return absl::StrFormat(
      "paused by the failure guard: %d of the %d jobs answered in the last %s failed (%.0f%% > "
      "%.0f%%); fix the cause, then resume the forest and retry the quarantined mailboxes. "
      "Newest failing requests: %s",
      w.failed, total, absl::FormatDuration(options_.window), ratio * 100,
      options_.failure_ratio * 100, absl::StrJoin(named, " | "));
}

void FailureWatch::Reset(const std::string& forest) {
  answers_.erase(forest);
  tripped_.erase(forest);
}

}  // namespace writeback::controller
