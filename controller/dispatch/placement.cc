// Placement (DESIGN §4): which due mailbox goes to which agent, one round
// per forest on the dispatcher thread: rendezvous owner with credit, the
// mass-change guard's verdict, the plan marked in flight in one transaction,
// then the work sent. Part of Dispatcher (dispatcher.h).
#include "controller/dispatch/dispatcher.h"

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "controller/planner/job_planner.h"

namespace writeback::controller {
namespace {

using writeback::v1::ControllerMessage;

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over `s` and a 0xff separator, continuing from `h`.
uint64_t Feed(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;
  return h * 0x100000001b3ULL;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

}  // namespace

uint64_t RendezvousScore(const std::string& anchor, const std::string& agent_id) {
  return Mix(Feed(Feed(kFnvOffset, anchor), agent_id));  // stable across processes
}

// What one placement round decided for one mailbox.
struct Dispatcher::Placement {
  std::string session_id;
  std::string cloud_id;
  std::string work_id;
  PlanDecision::Kind kind = PlanDecision::kInSync;
  const MailboxRecord* record = nullptr;  // as read by DueMailboxes
  MassChangeRound::Verdict verdict = MassChangeRound::kPlace;
  bool held = false;  // by the mass-change guard: nothing to send
  writeback::v1::Job job;
  writeback::v1::ReadTarget target;
};

void Dispatcher::PlaceForest(const std::string& forest, absl::Time now) {
  // 0. A paused forest gets no new work (work already out finishes).
  auto f = store_->GetForest(forest);
  if (!f.ok() || f->paused) return;
  // 1. How much credit is free in this forest.
  size_t free_credit = 0;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, s] : sessions_) {
      if (s.info.forest != forest || s.draining) continue;
      size_t used = s.outstanding.size() + s.reserved + s.committing;
      if (used < s.info.max_in_flight) free_credit += s.info.max_in_flight - used;
    }
  }
  if (free_credit == 0) return;
  auto due = store_->DueMailboxes(forest, absl::ToUnixMillis(now),
                                  std::min<size_t>(free_credit * 2, 2000));
  if (!due.ok()) {
    WB_LOG(ERROR) << "reading due mailboxes failed" << LogField("forest", forest)
                  << LogError(due.status())
                  << LogHint("check the store (disk space, permissions); retried next round");
    return;
  }
  if (due->empty()) return;

  // 2. Place each mailbox on its rendezvous owner if that agent has credit.
  std::vector<Placement> placements;
  {
    absl::MutexLock lock(&mu_);
    // The forest's candidates once per round, not a pass over every
    // session (of every forest) per mailbox.
    std::vector<std::pair<const std::string*, Session*>> candidates;
    for (auto& [id, s] : sessions_) {
      if (s.info.forest == forest && !s.draining) candidates.emplace_back(&id, &s);
    }
    for (const MailboxRecord& m : *due) {
      if (candidates.empty()) break;
      if (on_demand_mailboxes_.count(m.cloud_id) > 0) continue;  // provision on demand has it
      // RendezvousScore, with the anchor hashed once for all candidates.
      const uint64_t anchor_hash = Feed(kFnvOffset, m.source_anchor);
      Session* owner = nullptr;
      const std::string* owner_id = nullptr;
      uint64_t best = 0;
      for (const auto& [id, s] : candidates) {
        uint64_t score = Mix(Feed(anchor_hash, s->info.agent_id));
        if (owner == nullptr || score > best) {
          owner = s;
          owner_id = id;
          best = score;
        }
      }
      if (owner->outstanding.size() + owner->reserved + owner->committing >=
          owner->info.max_in_flight) {
        continue;
      }
      owner->reserved++;
      Placement p;
      p.session_id = *owner_id;
      p.cloud_id = m.cloud_id;
      p.work_id = absl::StrCat("j-", id_prefix_, "-", ++next_id_);
      p.record = &m;
      placements.push_back(std::move(p));
    }
  }
  // The mass-change guard judges the new writes (mass_change_guard.h).
  auto guard = MassChangeRound::Start(store_, *f, options_.guard, now);
  std::vector<const MailboxRecord*> candidates;
  for (const Placement& p : placements) candidates.push_back(p.record);
  absl::StatusOr<std::vector<MassChangeRound::Verdict>> verdicts =
      guard.ok() ? guard->Prepare(store_, forest, candidates)
                 : absl::StatusOr<std::vector<MassChangeRound::Verdict>>(guard.status());
  if (!verdicts.ok()) {
    WB_LOG(ERROR) << "mass-change guard failed" << LogField("forest", forest)
                  << LogError(verdicts.status())
                  << LogHint("nothing is placed for the forest until it works; check the store");
    absl::MutexLock lock(&mu_);
    for (const Placement& p : placements) {
      if (auto sit = sessions_.find(p.session_id); sit != sessions_.end()) sit->second.reserved--;
    }
    return;
  }
  for (size_t i = 0; i < placements.size(); ++i) placements[i].verdict = (*verdicts)[i];

  // 3. Plan inside the store transaction, so each job reflects the committed
  //    state, and mark the work in flight.
  std::vector<MailboxUpdate> updates;
  updates.reserve(placements.size());
  for (Placement& p : placements) {
    Placement* slot = &p;
    MassChangeRound* round = &*guard;
    std::optional<writeback::v1::ProvisioningRecord> held_log;
    if (p.verdict == MassChangeRound::kHold) held_log.emplace();
    updates.push_back({p.cloud_id, [slot, round](MailboxRecord& m,
                                                 writeback::v1::ProvisioningRecord* log)
                                       -> absl::Status {
                         if (m.status != writeback::v1::PENDING &&
                             m.status != writeback::v1::RETRY_WAIT) {
                           return absl::FailedPreconditionError("no longer due");
                         }
                         PlanDecision d = PlanMailbox(m, slot->work_id);
                         slot->kind = d.kind;
                         WB_RETURN_IF_ERROR(round->Decide(slot->verdict, d, &m, log, &slot->held));
                         if (slot->held) return absl::OkStatus();
                         if (d.kind == PlanDecision::kInSync) {
                           MarkInSync(&m);
                           return absl::OkStatus();
                         }
                         if (d.kind == PlanDecision::kRead) {
                           slot->work_id[0] = 'r';  // "r-..." marks a read
                           slot->target.set_mailbox_id(m.cloud_id);
                           slot->target.set_source_anchor(m.source_anchor);
                         } else {
                           slot->job = std::move(d.job);
                         }
                         MarkInFlight(slot->work_id, slot->session_id,
                                      d.kind == PlanDecision::kJob ? &slot->job : nullptr, &m);
                         return absl::OkStatus();
                       }, std::move(held_log)});
  }
  auto written = store_->UpdateMailboxes(updates);

  // 4. Hand the work to the sessions; work for a session that vanished
  //    meanwhile was never sent and goes straight back in line.
  std::map<std::string, std::pair<std::shared_ptr<SessionSink>, std::vector<ControllerMessage>>>
      outbox;
  std::map<std::string, size_t> job_batch;  // session id -> index of its JobBatch message
  std::vector<MailboxUpdate> orphans;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < placements.size(); ++i) {
      Placement& p = placements[i];
      auto sit = sessions_.find(p.session_id);
      if (sit != sessions_.end()) sit->second.reserved--;
      bool ok = written.ok() && (*written)[i].ok();
      if (!ok || p.kind == PlanDecision::kInSync || p.held) continue;
      if (sit == sessions_.end()) {
        std::string sid = p.session_id;
        orphans.push_back({p.cloud_id,
                           [sid, now](MailboxRecord& m, writeback::v1::ProvisioningRecord*) {
                             return ReleaseLostWork(sid, now, &m);
                           },
                           std::nullopt});
        continue;
      }
      Session& s = sit->second;
      auto& [sink, messages] = outbox[p.session_id];
      sink = s.sink;
      Outstanding out;
      out.cloud_id = p.cloud_id;
      out.is_read = p.kind == PlanDecision::kRead;
      out.sent = now;
      if (out.is_read) {
        ControllerMessage msg;
        msg.mutable_read_request()->set_request_id(p.work_id);
        *msg.mutable_read_request()->add_targets() = p.target;
        messages.push_back(std::move(msg));
      } else {
        auto [bit, fresh] = job_batch.emplace(p.session_id, messages.size());
        if (fresh) messages.emplace_back();
        *messages[bit->second].mutable_jobs()->add_jobs() = p.job;
        out.job = p.job;
      }
      s.outstanding[p.work_id] = std::move(out);
    }
  }
  if (!written.ok()) {
    WB_LOG(ERROR) << "marking work in flight failed" << LogField("forest", forest)
                  << LogError(written.status())
                  << LogHint(
                         "check the store (disk space, permissions); the work is placed "
                         "again");
  }
  if (!orphans.empty()) store_->UpdateMailboxes(orphans).IgnoreError();
  for (auto& [sid, entry] : outbox) {
    for (auto& msg : entry.second) entry.first->Send(std::move(msg));
  }
}

}  // namespace writeback::controller
