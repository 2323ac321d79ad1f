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
  std::deque<Answer>& window = answers_[forest];
  Answer a;
  a.at = now;
  a.failed = result.outcome() == writeback::v1::FAILED_RETRYABLE ||
             result.outcome() == writeback::v1::FAILED_PERMANENT;
  a.job_id = result.job_id();
  a.mailbox_id = mailbox_id;
  a.ldap_code = result.ldap_code();
  a.diagnostic = result.diagnostic();
  window.push_back(std::move(a));
  while (!window.empty() && now - window.front().at > options_.window) window.pop_front();
  if (options_.failure_ratio >= 1.0 || tripped_.count(forest) > 0) return std::nullopt;
  if (static_cast<int>(window.size()) < options_.min_attempts) return std::nullopt;
  std::vector<const Answer*> failed;
  for (const Answer& answer : window) {
    if (answer.failed) failed.push_back(&answer);
  }
  const double ratio = static_cast<double>(failed.size()) / static_cast<double>(window.size());
  if (ratio <= options_.failure_ratio) return std::nullopt;
  tripped_.insert(forest);
  std::vector<std::string> named;
  for (size_t i = failed.size(); i > 0 && named.size() < kNamedRequests; --i) {
    const Answer& f = *failed[i - 1];
    named.push_back(absl::StrCat("job ", f.job_id, " mailbox ", f.mailbox_id, ": LDAP ",
                                 f.ldap_code, ": ", f.diagnostic));
  }
  return absl::StrFormat(
      "paused by the failure guard: %d of the %d jobs answered in the last %s failed (%.0f%% > "
      "%.0f%%); fix the cause, then resume the forest and retry the quarantined mailboxes. "
      "Newest failing requests: %s",
      failed.size(), window.size(), absl::FormatDuration(options_.window), ratio * 100,
      options_.failure_ratio * 100, absl::StrJoin(named, " | "));
}

void FailureWatch::Reset(const std::string& forest) {
  answers_.erase(forest);
  tripped_.erase(forest);
}

}  // namespace writeback::controller
