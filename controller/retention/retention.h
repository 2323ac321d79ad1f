// Retention of the controller's logs: deletes provisioning log and audit
// records older than their configured age, at start and then every
// `interval` (DESIGN §3: "retention configurable").
//
//   RetentionPruner::Options options;
//   options.provisioning_log = absl::Hours(24 * 30);  // zero: keep forever
//   options.audit_log = absl::Hours(24 * 365);
//   RetentionPruner pruner(store, Clock::Real(), options);
//   pruner.Start();  // prunes now, then hourly, on its own thread
//   ...
//   pruner.Stop();   // wakes the thread and joins it; also done by ~RetentionPruner
//
// The store deletes in bounded batches (Store::PruneLog), so a large first
// prune does not hold up the dispatcher's writes for long. Errors are logged
// and retried at the next interval. The schedule follows the injected
// clock: the thread looks at it every `tick` of real time, so tests with a
// FakeClock and a short tick see a run soon after advancing it.
//
// Thread-safe. Not copyable or movable.
#ifndef WRITEBACK_CONTROLLER_RETENTION_RETENTION_H_
#define WRITEBACK_CONTROLLER_RETENTION_RETENTION_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "controller/store/store.h"

namespace writeback::controller {

class RetentionPruner {
 public:
  struct Options {
    // Records older than this are deleted; zero keeps them forever. Drift
    // records (reconciliation) follow the provisioning log's retention.
    absl::Duration provisioning_log = absl::Hours(24 * 30);
    absl::Duration audit_log = absl::Hours(24 * 365);
    // Time between runs, by the injected clock.
    absl::Duration interval = absl::Hours(1);
    // How often (real time) the thread checks the clock and Stop().
    absl::Duration tick = absl::Seconds(10);
  };
  struct Pruned {
    int64_t provisioning_log = 0;
    int64_t audit_log = 0;
    int64_t drift = 0;  // drift records, kept as long as the provisioning log
  };

  // `store` and `clock` must outlive the pruner.
  RetentionPruner(Store* store, Clock* clock, Options options);
  ~RetentionPruner();
  RetentionPruner(const RetentionPruner&) = delete;
  RetentionPruner& operator=(const RetentionPruner&) = delete;

  // One pass now, on the caller's thread: deletes what is older than each
  // retention by the clock and logs the counts. The first error stops the
  // pass (what was deleted stays deleted).
  absl::StatusOr<Pruned> RunOnce();

  // Starts the thread: a pass at once, then one every `interval`. Once.
  void Start();
  // Stops and joins the thread; a pass in progress finishes its batch
  // first. Idempotent.
  void Stop();

 private:
  void Loop();

  Store* const store_;
  Clock* const clock_;
  const Options options_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_RETENTION_RETENTION_H_
