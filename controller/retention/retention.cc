#include "controller/retention/retention.h"

#include <utility>

#include "common/base/log.h"
#include "common/base/status_macros.h"

namespace writeback::controller {

RetentionPruner::RetentionPruner(Store* store, Clock* clock, Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

RetentionPruner::~RetentionPruner() { Stop(); }

absl::StatusOr<RetentionPruner::Pruned> RetentionPruner::RunOnce() {
  const absl::Time now = clock_->Now();
  Pruned pruned;
  if (options_.provisioning_log > absl::ZeroDuration()) {
    WB_ASSIGN_OR_RETURN(pruned.provisioning_log,
                        store_->PruneLog(absl::ToUnixMillis(now - options_.provisioning_log)));
    WB_ASSIGN_OR_RETURN(pruned.drift,
                        store_->PruneDrift(absl::ToUnixMillis(now - options_.provisioning_log)));
  }
  if (options_.audit_log > absl::ZeroDuration()) {
    WB_ASSIGN_OR_RETURN(pruned.audit_log,
                        store_->PruneAudit(absl::ToUnixMillis(now - options_.audit_log)));
  }
  if (pruned.provisioning_log > 0 || pruned.audit_log > 0 || pruned.drift > 0) {
    WB_LOG(INFO) << "retention pruned provisioning_log_records=" << pruned.provisioning_log
                 << " drift_records=" << pruned.drift
                 << " (older than " << absl::FormatDuration(options_.provisioning_log)
                 << ") audit_records=" << pruned.audit_log << " (older than "
                 << absl::FormatDuration(options_.audit_log) << ")";
  }
  return pruned;
}

void RetentionPruner::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void RetentionPruner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionPruner::Loop() {
  absl::Time next = clock_->Now();
  while (true) {
    if (clock_->Now() >= next) {
      if (auto pruned = RunOnce(); !pruned.ok()) {
        WB_LOG(WARNING) << "retention pass failed" << LogError(pruned.status())
                        << LogField("retry_in", absl::FormatDuration(options_.interval))
                        << LogHint(
                               "check the store's disk; old records stay until a pass "
                               "succeeds");
      }
      next = clock_->Now() + options_.interval;
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.tick)) return;
  }
}

}  // namespace writeback::controller
