#include "controller/metrics/controller_metrics.h"

#include "common/base/log.h"
#include "writeback/v1/admin.pb.h"
#include "writeback/v1/types.pb.h"

namespace writeback::controller {

ControllerMetrics::ControllerMetrics(metrics::Registry* registry, Store* store)
    : store_(store),
      jobs_(registry->AddCounter("writeback_controller_jobs_answered_total",
                                 "Job results accepted from agents, by forest and outcome.",
                                 {"forest", "outcome"})),
      change_latency_(registry->AddHistogram("writeback_controller_change_latency_seconds",
                                             "Time from a change's commit by the Admin API "
                                             "to the agent's acknowledgement that AD "
                                             "holds it (APPLIED or ALREADY_IN_STATE); one "
                                             "observation per job, from the earliest "
                                             "change it carried. In memory: changes "
                                             "accepted before a restart are not measured.",
                                             {"forest"}, metrics::DefaultLatencyBuckets())),
      changes_accepted_(registry->AddCounter("writeback_controller_changes_accepted_total",
                                             "Mailbox changes committed by the Admin API (a "
                                             "new desired generation).")),
      queue_depth_(registry->AddGauge("writeback_controller_queue_depth",
                                      "Mailboxes of the forest waiting to be applied "
                                      "(PENDING, IN_FLIGHT, RETRY_WAIT).",
                                      {"forest"})),
      mailboxes_(registry->AddGauge("writeback_controller_mailboxes",
                                    "Mailboxes by forest and status.", {"forest", "status"})),
      agents_connected_(registry->AddGauge("writeback_controller_agents_connected",
                                           "Live agent streams, by forest.", {"forest"})),
      stream_connects_(
          registry->AddCounter("writeback_controller_agent_stream_connects_total",
                               "Agent streams accepted (first connections and reconnections), by "
                               "forest.",
                               {"forest"})),
      store_commit_(registry
                        ->AddHistogram("writeback_controller_store_commit_seconds",
                                       "Duration of the COMMIT of each write transaction of "
                                       "the store (synchronous=FULL).",
                                       {}, metrics::DefaultLatencyBuckets())
                        .With({})),
      scrape_errors_(registry->AddCounter(
          "writeback_controller_metrics_store_errors_total",
          "Scrapes whose store-derived gauges could not be read (left at their "
          "last values).")) {
  registry->AddCollector([this] { CollectFromStore(); });
}

void ControllerMetrics::SessionStarted(const std::string& agent_id, const std::string& forest) {
  agents_connected_.With({forest}).Inc();
  stream_connects_.With({forest}).Inc();
}

void ControllerMetrics::SessionEnded(const std::string& agent_id, const std::string& forest) {
  agents_connected_.With({forest}).Dec();
}

void ControllerMetrics::ChangeAccepted(const std::string& cloud_id, uint64_t gen, absl::Time at) {
  absl::MutexLock lock(&mu_);
  auto& pending = accepted_[cloud_id];
  if (!pending.empty() && pending.back().first == gen) return;  // told twice
  // A lower generation: the mailbox was removed and added again; its old
  // generations will never be acknowledged.
  if (!pending.empty() && pending.back().first > gen) pending.clear();
  changes_accepted_.With({}).Inc();
  if (pending.size() < kMaxPerMailbox) pending.emplace_back(gen, at);
}

void ControllerMetrics::JobAnswered(const std::string& forest, const writeback::v1::Job& job,
                                    const writeback::v1::JobResult& result, absl::Time at) {
  jobs_.With({forest, writeback::v1::Outcome_Name(result.outcome())}).Inc();
  if (result.outcome() != writeback::v1::APPLIED &&
      result.outcome() != writeback::v1::ALREADY_IN_STATE) {
    return;
  }
  std::optional<absl::Time> earliest;
  {
    absl::MutexLock lock(&mu_);
    auto it = accepted_.find(job.mailbox_id());
    if (it == accepted_.end()) return;
    auto& pending = it->second;
    size_t done = 0;
    while (done < pending.size() && pending[done].first <= job.generation()) {
      if (!earliest) earliest = pending[done].second;
      ++done;
    }
    pending.erase(pending.begin(), pending.begin() + done);
    if (pending.empty()) accepted_.erase(it);
  }
  if (earliest) {
    change_latency_.With({forest}).Observe(absl::ToDoubleSeconds(at - *earliest));
  }
}

void ControllerMetrics::StoreCommitted(absl::Duration d) {
  store_commit_.Observe(absl::ToDoubleSeconds(d));
}

void ControllerMetrics::CollectFromStore() {
  if (store_ == nullptr) return;  // no store: no store-derived gauges
  absl::StatusOr<std::vector<ForestRecord>> forests = store_->ListForests();
  if (!forests.ok()) {
    scrape_errors_.With({}).Inc();
    WB_LOG(WARNING) << "metrics: reading the store failed" << LogError(forests.status())
                    << LogHint(
                           "check the store (disk space, permissions); the store-derived "
                           "gauges are stale until it works");
    return;
  }
  const google::protobuf::EnumDescriptor* statuses = writeback::v1::MailboxStatus_descriptor();
  for (const ForestRecord& forest : *forests) {
    auto counts = store_->CountByStatus(forest.name);
    if (!counts.ok()) {
      scrape_errors_.With({}).Inc();
      WB_LOG(WARNING) << "metrics: reading the store failed" << LogField("forest", forest.name)
                      << LogError(counts.status())
                      << LogHint(
                             "check the store (disk space, permissions); the store-derived "
                             "gauges are stale until it works");
      continue;
    }
    std::map<int, int64_t> by_status;
    for (const auto& [status, n] : *counts) by_status[status] += n;
    int64_t queued = 0;
    for (int i = 0; i < statuses->value_count(); ++i) {
      const int number = statuses->value(i)->number();
      if (number == writeback::v1::MAILBOX_STATUS_UNSPECIFIED) continue;
      const int64_t n = by_status.count(number) ? by_status[number] : 0;
      mailboxes_.With({forest.name, statuses->value(i)->name()}).Set(static_cast<double>(n));
      if (number == writeback::v1::PENDING || number == writeback::v1::IN_FLIGHT ||
          number == writeback::v1::RETRY_WAIT) {
        queued += n;
      }
    }
    queue_depth_.With({forest.name}).Set(static_cast<double>(queued));
    agents_connected_.With({forest.name});  // shows 0 for a forest without agents
    stream_connects_.With({forest.name});
  }
}

}  // namespace writeback::controller
