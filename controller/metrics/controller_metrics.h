// The controller's Prometheus series (README "Metrics"): it observes the
// Dispatcher (DispatchObserver) and the store's commits, and reads queue
// depths and mailbox counts from the store when scraped.
//
//   metrics::Registry registry;
//   ControllerMetrics metrics(&registry, store.get());
//   store->SetCommitObserver([&](absl::Duration d) { metrics.StoreCommitted(d);
//   }); options.observer = &metrics;             // Dispatcher::Options
//   ... MetricsServer::Start({...}, &registry, "metrics_listen");
//
// Change latency: the time from the Admin API's commit of a change to the
// agent's acknowledgement that AD holds it (APPLIED or ALREADY_IN_STATE of a
// job at that generation or later). Accept times are kept in memory only,
// one entry per unacknowledged generation (at most kMaxPerMailbox per
// mailbox: beyond that the newest are not tracked): changes accepted before a
// controller restart are not measured. One observation per acknowledged job,
// from the earliest change it carried (changes coalesced into one job count
// once, with the longest wait).
//
// Thread-safe. Not copyable.
#ifndef WRITEBACK_CONTROLLER_METRICS_CONTROLLER_METRICS_H_
#define WRITEBACK_CONTROLLER_METRICS_CONTROLLER_METRICS_H_

#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "controller/dispatch/dispatch_observer.h"
#include "controller/store/store.h"

namespace writeback::controller {

class ControllerMetrics : public DispatchObserver {
 public:
  static constexpr size_t kMaxPerMailbox = 64;

  // Registers the series in `registry`; `store` (not owned) is read at each
  // scrape for queue depths and mailbox counts (null: no such gauges). Both
  // outlive this object.
  ControllerMetrics(metrics::Registry* registry, Store* store);
  ControllerMetrics(const ControllerMetrics&) = delete;
  ControllerMetrics& operator=(const ControllerMetrics&) = delete;

  void SessionStarted(const std::string& agent_id, const std::string& forest) override;
  void SessionEnded(const std::string& agent_id, const std::string& forest) override;
  void ChangeAccepted(const std::string& cloud_id, uint64_t gen, absl::Time at) override;
  void JobAnswered(const std::string& forest, const writeback::v1::Job& job,
                   const writeback::v1::JobResult& result, absl::Time at) override;
  // One write transaction's COMMIT took `d`.
  void StoreCommitted(absl::Duration d);

 private:
  // Sets the store-derived gauges (a registry collector).
  void CollectFromStore();

  Store* const store_;
  metrics::CounterFamily& jobs_;
  metrics::HistogramFamily& change_latency_;
  metrics::CounterFamily& changes_accepted_;
  metrics::GaugeFamily& queue_depth_;
  metrics::GaugeFamily& mailboxes_;
  metrics::GaugeFamily& agents_connected_;
  metrics::CounterFamily& stream_connects_;
  metrics::Histogram& store_commit_;
  metrics::CounterFamily& scrape_errors_;

  absl::Mutex mu_;
  // Unacknowledged accepted generations and their accept times, oldest first.
  // One entry per mailbox with a change not yet acknowledged: after an import
  // that is every mailbox, so the entry stays small (about 130 bytes with its
  // hash slot and key: one generation inline; a std::deque took about 700, a
  // 512-byte block on its first element, 1.2 GB of RSS at 1,000,000 mailboxes).
  using Pending = absl::InlinedVector<std::pair<uint64_t, absl::Time>, 1>;
  absl::flat_hash_map<std::string, Pending> accepted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_METRICS_CONTROLLER_METRICS_H_
