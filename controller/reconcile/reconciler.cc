#include "controller/reconcile/reconciler.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "controller/reconcile/compare.h"

namespace writeback::controller {
namespace {

using writeback::v1::ControllerMessage;
using writeback::v1::ObservedObject;
using writeback::v1::ScanPage;

// A pass that failed is tried again after at most this long.
constexpr absl::Duration kRetryFailed = absl::Minutes(5);

// What one object's update decided, filled in inside the transaction.
struct Decision {
  Comparison::Kind kind = Comparison::kIgnore;
  Comparison::Reason reason = Comparison::kNone;
  bool held = false;
};

}  // namespace

std::string DescribeCounts(const Reconciler::Counts& c) {
  return absl::StrCat("objects=", c.objects, " in_sync=", c.in_sync, " drift=", c.drift,
                      " corrected=", c.corrected, " conflicts=", c.conflicts,
                      " ignored_stale=", c.stale, " skipped=", c.skipped,
                      " unmatched=", c.unmatched);
}

Reconciler::Reconciler(Store* store, Clock* clock, Options options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      id_prefix_(absl::StrFormat("%08x", std::random_device{}())) {}

void Reconciler::OnAttach(const std::string& forest) {
  absl::MutexLock lock(&mu_);
  if (running_.count(forest) == 0) due_[forest] = absl::InfinitePast();
}

void Reconciler::StartDue(const std::vector<Candidate>& candidates) {
  const absl::Time now = clock_->Now();
  std::vector<const Candidate*> chosen;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [forest, when] : due_) {
      if (when > now || running_.count(forest) > 0) continue;
      for (const Candidate& c : candidates) {
        if (c.forest == forest) {
          chosen.push_back(&c);
          break;
        }
      }
    }
  }
  for (const Candidate* c : chosen) {
    auto started = StartOn(*c, /*full=*/false);
    if (!started.ok()) {
      WB_LOG(DEBUG) << "reconciliation not started: " << started.status();
    }
  }
}

absl::StatusOr<Reconciler::Started> Reconciler::Start(const std::string& forest, bool full,
                                                      const std::vector<Candidate>& candidates) {
  for (const Candidate& c : candidates) {
    if (c.forest == forest) return StartOn(c, full);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no agent of forest ", forest,
      " speaking protocol 3 or later is connected; reconciliation needs one (`writebackctl "
      "agent list` shows the agents and their protocol versions)"));
}

absl::StatusOr<Reconciler::Started> Reconciler::StartOn(const Candidate& candidate, bool full) {
  Pass pass;
  pass.forest = candidate.forest;
  pass.session_id = candidate.session_id;
  pass.agent_id = candidate.agent_id;
  pass.full = full;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = running_.find(candidate.forest); it != running_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("a reconciliation pass of forest ", candidate.forest, " is running (",
                       it->second.scan_id, " on agent ", it->second.agent_id,
                       "); wait for its \"scan\" provisioning log record"));
    }
    pass.scan_id = absl::StrCat("scan-", id_prefix_, "-", ++next_id_);
    // Taken before the request goes out: whatever is learned from now on is
    // newer than what this pass reads.
    pass.started = clock_->Now();
    running_[pass.forest] = pass;
    due_.erase(pass.forest);
  }
  ControllerMessage message;
  writeback::v1::ScanRequest* request = message.mutable_scan();
  request->set_scan_id(pass.scan_id);
  request->set_page_size(options_.page_size);
  if (!full) {
    auto marks = store_->ListScanMarks(pass.forest);
    if (!marks.ok()) {
      absl::MutexLock lock(&mu_);
      running_.erase(pass.forest);
      due_[pass.forest] = clock_->Now() + absl::Minutes(1);
      return marks.status();
    }
    for (const ScanMark& m : *marks) {
      writeback::v1::UsnMark* mark = request->add_since();
      mark->set_dc(m.dc);
      mark->set_invocation_id(m.invocation_id);
      mark->set_usn(m.usn);
    }
  }
  WB_LOG(INFO) << "reconciliation started forest=" << pass.forest << " scan=" << pass.scan_id
               << " agent=" << pass.agent_id << " session=" << pass.session_id
               << (full ? " full" : absl::StrCat(" marks=", request->since_size()));
  candidate.sink->Send(std::move(message));
  return Started{pass.scan_id, pass.agent_id};
}

bool Reconciler::OnPage(const std::string& session_id, const ScanPage& page) {
  Pass pass;
  {
    absl::MutexLock lock(&mu_);
    const Pass* found = nullptr;
    for (const auto& [forest, p] : running_) {
      if (p.scan_id == page.scan_id()) found = &p;
    }
    if (found == nullptr || found->session_id != session_id) {
      WB_LOG(WARNING) << "refused a scan page of " << page.scan_id() << " from session "
                      << session_id << ": no such pass runs on that session";
      return false;
    }
    pass = *found;
  }
  Counts counts;
  absl::Status applied = ApplyObjects(pass, page, &counts);
  if (!applied.ok()) {
    WB_LOG(ERROR) << "applying a page of " << pass.scan_id << " failed: " << applied;
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(pass.forest);
    if (it == running_.end() || it->second.scan_id != pass.scan_id) return counts.corrected > 0;
    Counts& total = it->second.counts;
    total.objects += counts.objects;
    total.in_sync += counts.in_sync;
    total.drift += counts.drift;
    total.corrected += counts.corrected;
    total.conflicts += counts.conflicts;
    total.stale += counts.stale;
    total.skipped += counts.skipped;
    total.unmatched += counts.unmatched;
    if (!page.last() && applied.ok()) return counts.corrected > 0;
    pass = it->second;
    running_.erase(it);
  }
  const bool failed = !applied.ok() || page.failure() != writeback::v1::OUTCOME_UNSPECIFIED;
  if (failed) {
    const std::string why =
        applied.ok() ? absl::StrCat("the agent could not complete the pass: ", page.diagnostic())
                     : absl::StrCat("the controller could not record a page: ",
                                    applied.message());
    // Tried again within five minutes (sooner when passes are more frequent).
    Finish(pass, applied.ok() ? page.failure() : writeback::v1::FAILED_RETRYABLE, why,
           options_.interval > absl::ZeroDuration() ? std::min(options_.interval, kRetryFailed)
                                                    : kRetryFailed);
    return counts.corrected > 0;
  }
  std::vector<ScanMark> marks;
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  for (const auto& m : page.marks()) marks.push_back({m.invocation_id(), m.dc(), m.usn(), now_ms});
  if (absl::Status saved = store_->SaveScanMarks(pass.forest, marks); !saved.ok()) {
    WB_LOG(ERROR) << "storing the marks of " << pass.scan_id << " failed: " << saved;
  }
  Finish(pass, writeback::v1::OUTCOME_UNSPECIFIED, "",
         options_.interval > absl::ZeroDuration() ? std::optional(options_.interval)
                                                  : std::nullopt);
  return counts.corrected > 0;
}

absl::Status Reconciler::ApplyObjects(const Pass& pass, const ScanPage& page, Counts* counts) {
  counts->objects += page.objects_size();
  if (page.objects().empty()) return absl::OkStatus();
  std::vector<std::string> anchors;
  for (const ObservedObject& o : page.objects()) {
    if (!o.source_anchor().empty()) anchors.push_back(o.source_anchor());
    if (!o.object_guid().empty() && o.object_guid() != o.source_anchor()) {
      anchors.push_back(o.object_guid());
    }
  }
  WB_ASSIGN_OR_RETURN(std::vector<MailboxRecord> mailboxes,
                      store_->FindMailboxesByAnchor(pass.forest, anchors));
  std::map<std::string, std::string> by_anchor;  // anchor -> cloud id
  for (const MailboxRecord& m : mailboxes) by_anchor[m.source_anchor] = m.cloud_id;

  const absl::Time now = clock_->Now();
  std::vector<MailboxUpdate> updates;
  std::vector<Decision> decisions(page.objects_size());
  for (int i = 0; i < page.objects_size(); ++i) {
    const ObservedObject& o = page.objects(i);
    auto it = by_anchor.find(o.source_anchor());
    if (it == by_anchor.end()) it = by_anchor.find(o.object_guid());
    if (it == by_anchor.end()) {
      counts->unmatched++;
      continue;
    }
    Decision* slot = &decisions[i];
    DriftContext where{"scan", pass.scan_id, o.dc(), o.dn(), o.when_changed(), o.usn_changed()};
    const absl::Time started = pass.started;
    const ConflictRule rule = options_.conflict;
    MailboxUpdate update;
    update.cloud_id = it->second;
    update.mutate_drift = [&o, slot, where, started, now, rule](
                              MailboxRecord& m, writeback::v1::ProvisioningRecord*,
                              std::vector<writeback::v1::DriftRecord>* drift) -> absl::Status {
      Comparison c = CompareObservation(m, o, started);
      slot->kind = c.kind;
      slot->reason = c.reason;
      if (c.kind != Comparison::kDrift) {
        // Nothing to write: leave the mailbox as it is.
        return absl::CancelledError(ReasonName(c.reason));
      }
      slot->held = ApplyDrift(c.drift, where, now, rule, &m, drift);
      return absl::OkStatus();
    };
    updates.push_back(std::move(update));
  }
  if (updates.empty()) return absl::OkStatus();
  WB_ASSIGN_OR_RETURN(auto written, store_->UpdateMailboxes(updates));
  (void)written;  // per-mailbox outcomes are in `decisions`
  for (int i = 0; i < page.objects_size(); ++i) {
    const ObservedObject& o = page.objects(i);
    if (by_anchor.count(o.source_anchor()) == 0 && by_anchor.count(o.object_guid()) == 0) {
      continue;  // counted as unmatched
    }
    const Decision& d = decisions[i];
    switch (d.kind) {
      case Comparison::kInSync:
        counts->in_sync++;
        break;
      case Comparison::kDrift:
        counts->drift++;
        (d.held ? counts->conflicts : counts->corrected)++;
        break;
      case Comparison::kIgnore:
        (d.reason == Comparison::kInFlight || d.reason == Comparison::kStale ? counts->stale
                                                                              : counts->skipped)++;
        break;
    }
  }
  return absl::OkStatus();
}

void Reconciler::OnSessionEnded(const std::string& session_id) {
  std::optional<Pass> abandoned;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = running_.begin(); it != running_.end(); ++it) {
      if (it->second.session_id != session_id) continue;
      abandoned = it->second;
      running_.erase(it);
      break;
    }
  }
  if (!abandoned.has_value()) return;
  Finish(*abandoned, writeback::v1::FAILED_RETRYABLE,
         "abandoned: the agent's session ended before the last page; marks not stored",
         absl::ZeroDuration());
}

void Reconciler::Finish(const Pass& pass, writeback::v1::Outcome failure, const std::string& why,
                        std::optional<absl::Duration> next_in) {
  const absl::Time now = clock_->Now();
  writeback::v1::ProvisioningRecord record;
  record.set_time_ms(absl::ToUnixMillis(now));
  record.set_kind("scan");
  record.set_job_id(pass.scan_id);
  record.set_forest(pass.forest);
  record.set_agent_id(pass.agent_id);
  record.set_session_id(pass.session_id);
  record.set_outcome(failure);
  record.set_duration_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(now - pass.started)));
  record.set_diagnostic(absl::StrCat(pass.full ? "full pass: " : "pass: ",
                                     DescribeCounts(pass.counts), why.empty() ? "" : "; ", why));
  if (absl::Status s = store_->AppendLog(&record); !s.ok()) {
    WB_LOG(ERROR) << "logging reconciliation pass " << pass.scan_id << " failed: " << s;
  }
  WB_LOG(INFO) << "reconciliation ended forest=" << pass.forest << " scan=" << pass.scan_id
               << " " << record.diagnostic();
  absl::MutexLock lock(&mu_);
  if (next_in.has_value()) {
    due_[pass.forest] = now + *next_in;
  } else {
    due_.erase(pass.forest);  // no periodic passes: the next attach or request
  }
}

std::optional<std::string> Reconciler::Running(const std::string& forest) const {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(forest);
  if (it == running_.end()) return std::nullopt;
  return it->second.scan_id;
}

}  // namespace writeback::controller
