// The forest-wide failure guard (issue 5): remembers the job answers of each
// forest over a sliding window and decides when the failure ratio says the
// directory is refusing work, so that the forest is paused as a whole instead
// of every mailbox burning its attempts. Pure logic: the dispatcher feeds it
// and acts on the decision.
//
//   FailureWatch watch({.failure_ratio = 0.4, .min_attempts = 20});
//   if (auto reason = watch.Record("corp", mailbox_id, result, now)) {
//     store->SetForestPause("corp", true, *reason, ...);
//   }
//
// Not thread-safe; the dispatcher calls it under its mutex.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_FAILURE_WATCH_H_
#define WRITEBACK_CONTROLLER_DISPATCH_FAILURE_WATCH_H_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

class FailureWatch {
 public:
  struct Options {
    // Pause when more than this share of the window's answers failed.
    // 1.0 or more disables the guard.
    double failure_ratio = 0.4;
    // ... judged only once the window holds at least this many answers.
    int min_attempts = 20;
    absl::Duration window = absl::Minutes(5);
  };

  explicit FailureWatch(Options options) : options_(options) {}

  // Records one job answer of `forest`. FAILED_RETRYABLE and
  // FAILED_PERMANENT count as failures; other outcomes (applied, already in
  // state, conflicts, policy refusals) as answers that did not fail. Returns
  // the pause reason, once, when this answer tips the forest over the
  // threshold: the ratio and the failing requests (job, mailbox, LDAP code,
  // diagnostic; the newest ten).
  std::optional<std::string> Record(const std::string& forest, const std::string& mailbox_id,
                                    const writeback::v1::JobResult& result, absl::Time now);
  // Forgets the forest's window (it was resumed).
  void Reset(const std::string& forest);

 private:
  struct Answer {
    absl::Time at;
    bool failed = false;
    std::string job_id;
    std::string mailbox_id;
    int ldap_code = 0;
    std::string diagnostic;
  };

  struct Window {
    std::deque<Answer> answers;  // oldest first
    size_t failed = 0;           // how many of them failed
  };

  const Options options_;
  std::map<std::string, Window> answers_;
  std::set<std::string> tripped_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_FAILURE_WATCH_H_
