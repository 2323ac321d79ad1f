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
    pass.last_page = pass.started;
    running_[pass.forest] = pass;
    due_.erase(pass.forest);
  }
  ControllerMessage message;
  writeback::v1::ScanRequest* request = message.mutable_scan();
  request->set_scan_id(pass.scan_id);
  request->set_page_size(options_.page_size);
  if (!full) {
    auto marks = store_->ListScanMarks(pass.forest, pass.agent_id);
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
      WB_LOG(WARNING) << "refused a scan page: no such pass runs on that session"
                      << LogField("scan", page.scan_id()) << LogField("session", session_id)
                      << LogHint("nothing to do: the pass is run again");
      return false;
    }
    pass = *found;
  }
  Counts counts;
  std::map<std::string, int64_t> hold_back;
  absl::Status applied = ApplyObjects(pass, page, &counts, &hold_back);
  if (!applied.ok()) {
    WB_LOG(ERROR) << "applying a scan page failed" << LogField("scan", pass.scan_id)
                  << LogField("forest", pass.forest) << LogError(applied)
                  << LogHint("check the store; the objects are read again next pass");
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
    it->second.last_page = clock_->Now();
    for (const auto& [dc, usn] : hold_back) {
      auto [at, first] = it->second.hold_back.emplace(dc, usn);
      if (!first) at->second = std::min(at->second, usn);
    }
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
  for (const auto& m : page.marks()) {
    int64_t usn = m.usn();
    if (auto held = pass.hold_back.find(m.dc()); held != pass.hold_back.end()) {
      usn = std::min(usn, held->second);
    }
    marks.push_back({m.invocation_id(), m.dc(), usn, now_ms});
  }
  if (absl::Status saved = store_->SaveScanMarks(pass.forest, pass.agent_id, marks); !saved.ok()) {
    WB_LOG(ERROR) << "storing the marks of a scan failed" << LogField("scan", pass.scan_id)
                  << LogField("forest", pass.forest) << LogError(saved)
                  << LogHint("check the store; the next pass reads everything again");
  }
  Finish(pass, writeback::v1::OUTCOME_UNSPECIFIED, "",
         options_.interval > absl::ZeroDuration() ? std::optional(options_.interval)
                                                  : std::nullopt);
  return counts.corrected > 0;
}

absl::Status Reconciler::ApplyObjects(const Pass& pass, const ScanPage& page, Counts* counts,
                                      std::map<std::string, int64_t>* hold_back) {
  auto hold = [hold_back](const ObservedObject& o) {
    const int64_t below = std::max<int64_t>(0, o.usn_changed() - 1);
    auto [at, first] = hold_back->emplace(o.dc(), below);
    if (!first) at->second = std::min(at->second, below);
  };
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
  std::vector<int> update_of(page.objects_size(), -1);  // object -> its entry in `updates`
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
    update_of[i] = static_cast<int>(updates.size());
    updates.push_back(std::move(update));
  }
  if (updates.empty()) return absl::OkStatus();
  WB_ASSIGN_OR_RETURN(auto written, store_->UpdateMailboxes(updates));
  for (int i = 0; i < page.objects_size(); ++i) {
    const ObservedObject& o = page.objects(i);
    if (update_of[i] < 0) continue;  // counted as unmatched
    const absl::Status& outcome = written[update_of[i]].status();
    if (!outcome.ok() && !absl::IsCancelled(outcome)) {
      // Not judged (the mailbox could not be updated): read it again next
      // pass.
      WB_LOG(WARNING) << "reconciliation skipped a mailbox" << LogField("scan", pass.scan_id)
                      << LogField("forest", pass.forest) << LogField("mailbox", o.mailbox_id())
                      << LogError(outcome) << LogHint("nothing to do: it is read again next pass");
      counts->skipped++;
      hold(o);
      continue;
    }
    const Decision& d = decisions[i];
    if (d.kind == Comparison::kIgnore &&
        (d.reason == Comparison::kInFlight || d.reason == Comparison::kStale)) {
      hold(o);
    }
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

void Reconciler::Sweep(const std::set<std::string>& live_sessions) {
  std::vector<std::pair<Pass, std::string>> abandoned;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto it = running_.begin(); it != running_.end();) {
      const Pass& p = it->second;
      std::string why;
      if (live_sessions.count(p.session_id) == 0) {
        why = "abandoned: the agent's session ended as the pass was started; marks not stored";
      } else if (now - p.last_page > options_.page_timeout) {
        why = absl::StrCat("abandoned: no page from agent ", p.agent_id, " for ",
                           absl::FormatDuration(now - p.last_page), "; marks not stored");
      }
      if (why.empty()) {
        ++it;
        continue;
      }
      abandoned.emplace_back(p, std::move(why));
      it = running_.erase(it);
    }
  }
  for (const auto& [pass, why] : abandoned) Abandon(pass, why);
}

void Reconciler::Abandon(const Pass& pass, const std::string& why) {
  WB_LOG(WARNING) << "reconciliation abandoned" << LogField("scan", pass.scan_id)
                  << LogField("forest", pass.forest) << LogField("reason", why)
                  << LogHint("it runs again; to run it now: writebackctl forest reconcile " +
                             pass.forest);
  Finish(pass, writeback::v1::FAILED_RETRYABLE, why, absl::ZeroDuration());
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
  Abandon(*abandoned, "abandoned: the agent's session ended before the last page; marks not stored");
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
    WB_LOG(ERROR) << "logging a reconciliation pass failed" << LogField("scan", pass.scan_id)
                  << LogField("forest", pass.forest) << LogError(s)
                  << LogHint("check the store (disk space, permissions)");
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
