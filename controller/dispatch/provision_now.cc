// Provision on demand: the pure parts (provision_now.h) and the dispatcher's
// path (Dispatcher::ProvisionNow and its hooks).
#include "controller/dispatch/provision_now.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/dispatch/mass_change_guard.h"
#include "controller/planner/job_planner.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;

void AddStep(v1::ProvisionNowResponse* r, const std::string& name, const std::string& status,
             const std::string& detail) {
  auto* step = r->add_steps();
  step->set_name(name);
  step->set_status(status);
  step->set_detail(detail);
}

std::string MatchFailure(const v1::ObservedObject& o) {
  // The agent's diagnostic already says what is missing ("not found: no
  // object under ... has ms-DS-ConsistencyGuid or objectGUID ...").
  if (o.reason() != v1::FAILURE_REASON_UNSPECIFIED) {
    return absl::StrCat(o.diagnostic(), " (", v1::FailureReason_Name(o.reason()), ")");
  }
  return absl::StrCat(v1::Outcome_Name(o.failure()), ": ", o.diagnostic());
}

}  // namespace

absl::Status CheckProvisionable(const ForestRecord& forest, const MailboxRecord& m) {
  if (forest.paused) {
    return absl::FailedPreconditionError(absl::StrCat(
        "forest ", forest.name, " is paused (", forest.pause_reason,
        "): provision on demand writes nothing while a forest is paused; fix the cause, then "
        "`writebackctl forest resume ", forest.name, "`"));
  }
  if (m.status == v1::HELD) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mailbox ", m.cloud_id, " is HELD by the forest's mass-change guard (", m.last_error,
        "): approve or reject the hold first; provision on demand never goes around it"));
  }
  if (m.status == v1::CONFLICT_HOLD) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mailbox ", m.cloud_id, " is in CONFLICT_HOLD: another writer keeps changing it in AD (",
        m.last_error, "); decide first with `writebackctl mailbox retry ", m.cloud_id, "`"));
  }
  return absl::OkStatus();
}

bool WorkPending(const MailboxRecord& m, int64_t now_ms) {
  if (m.status == v1::IN_FLIGHT) return true;
  // A lost session's work is redelivered (and verified) only after its fence.
  return m.status == v1::RETRY_WAIT && m.verify_read && m.next_attempt_ms > now_ms;
}

void AddImportStep(const MailboxRecord& m, v1::ProvisionNowResponse* r) {
  std::vector<std::string> names;
  for (const auto& [name, values] : m.desired.attributes()) names.push_back(name);
  std::sort(names.begin(), names.end());
  r->set_generation(m.desired_gen);
  AddStep(r, "import", "success",
          absl::StrCat("desired generation ", m.desired_gen, ": ",
                       names.empty() ? "(no attributes)" : absl::StrJoin(names, ", ")));
}

void AddReadSteps(const v1::ObservedObject& o, v1::ProvisionNowResponse* r) {
  r->set_dn(o.dn());
  if (o.failure() == v1::OUTCOME_UNSPECIFIED) {
    AddStep(r, "match", "success", o.dn());
    AddStep(r, "scope", "success", "inside the agent's scope");
    return;
  }
  r->set_outcome(o.failure());
  r->set_diagnostic(o.diagnostic());
  if (o.reason() == v1::REASON_OUT_OF_SCOPE) {
    AddStep(r, "match", "success", o.dn());
    AddStep(r, "scope", "failure", o.diagnostic());
    AddStep(r, "export", "skipped", "not attempted: the object is outside scope; nothing written");
    return;
  }
  AddStep(r, "match", "failure", MatchFailure(o));
  AddStep(r, "scope", "skipped", "no object matched");
  AddStep(r, "export", "skipped", "not attempted: no object matched; nothing written");
}

void AddNothingToWrite(v1::ProvisionNowResponse* r) {
  r->set_outcome(v1::ALREADY_IN_STATE);
  AddStep(r, "export", "skipped", "AD already holds the desired values; nothing to write");
}

void AddJobSteps(const v1::Job& job, const v1::JobResult& result, v1::ProvisionNowResponse* r) {
  r->set_job_id(job.job_id());
  r->set_generation(job.generation());
  r->set_outcome(result.outcome());
  r->set_ldap_code(result.ldap_code());
  r->set_diagnostic(result.diagnostic());
  if (!result.dn().empty()) r->set_dn(result.dn());
  const v1::Outcome o = result.outcome();
  if (o == v1::ALREADY_IN_STATE) {
    AddStep(r, "export", "skipped", "ALREADY_IN_STATE: AD already held the desired values");
    return;
  }
  for (const auto& change : job.changes()) {
    auto* p = r->add_modified();
    p->set_name(change.attribute());
    *p->mutable_old_values() = change.expected();
    *p->mutable_new_values() = change.desired();
  }
  if (o == v1::APPLIED) {
    AddStep(r, "export", "success",
            absl::StrCat("APPLIED", result.dc().empty() ? "" : " on " + result.dc()));
    return;
  }
  AddStep(r, "export", "failure",
          absl::StrCat(v1::Outcome_Name(o),
                       result.ldap_code() != 0 ? absl::StrCat(": LDAP ", result.ldap_code()) : "",
                       result.diagnostic().empty() ? "" : ": " + result.diagnostic()));
}

std::string DescribeSteps(const v1::ProvisionNowResponse& r) {
  std::vector<std::string> lines;
  for (const auto& s : r.steps()) {
    lines.push_back(absl::StrCat(s.name(), ": ", s.status(),
                                 s.detail().empty() ? "" : " (" + s.detail() + ")"));
  }
  return absl::StrJoin(lines, "; ");
}

// A ProvisionNow call waiting for the answer to its read or job.
struct Dispatcher::OnDemand {
  std::string session_id;
  bool answered = false;
  bool lost = false;  // the session ended first
  v1::ObservedObject observed;
  v1::JobResult result;
};

bool Dispatcher::TakeOnDemandReadLocked(const std::string& session_id, const std::string& read_id,
                                        const v1::ObservedObject& object) {
  auto it = on_demand_.find(read_id);
  if (it == on_demand_.end() || it->second->session_id != session_id) return false;
  it->second->observed = object;
  it->second->answered = true;
  on_demand_.erase(it);
  // The read's credit slot stays promised to the job that follows.
  sessions_.at(session_id).reserved++;
  return true;
}

void Dispatcher::CompleteOnDemand(const std::string& session_id,
                                  const v1::JobResults& results) {
  absl::MutexLock lock(&mu_);
  for (const auto& result : results.results()) {
    auto it = on_demand_.find(result.job_id());
    if (it == on_demand_.end() || it->second->session_id != session_id) continue;
    it->second->result = result;
    it->second->answered = true;
    on_demand_.erase(it);
  }
}

void Dispatcher::AbandonOnDemand(const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  for (auto it = on_demand_.begin(); it != on_demand_.end();) {
    if (it->second->session_id != session_id) {
      ++it;
      continue;
    }
    it->second->lost = true;
    it = on_demand_.erase(it);
  }
}

absl::StatusOr<std::string> Dispatcher::ClaimSlot(const std::string& forest,
                                                  const std::string& anchor, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (stop_) return absl::UnavailableError("the controller is stopping");
    std::string owner;
    uint64_t best = 0;
    for (const auto& [id, s] : sessions_) {
      if (s.info.forest != forest || s.draining) continue;
      uint64_t score = RendezvousScore(anchor, s.info.agent_id);
      if (owner.empty() || score > best) {
        owner = id;
        best = score;
      }
    }
    if (owner.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "no agent of forest ", forest,
          " is connected (or all are draining): nothing was written; start or reconnect an "
          "agent of the forest and try again"));
    }
    // Queue for the owner's next free slot. The reservation counts at once,
    // so the placement thread fills no slot ahead of this call.
    const uint64_t ticket = ++next_id_;
    slot_waiters_[owner].push_back(ticket);
    sessions_.at(owner).reserved++;
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (stop_) return true;
      auto it = sessions_.find(owner);
      if (it == sessions_.end() || it->second.draining) return true;
      const auto& queue = slot_waiters_[owner];
      const Session& s = it->second;
      // Count this call and reservations of the placement thread or of reads
      // already answered, not the calls queued behind it.
      return queue.front() == ticket &&
             s.outstanding.size() + s.reserved + s.committing - queue.size() + 1 <= s.info.max_in_flight;
    };
    const bool in_time = mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    auto& queue = slot_waiters_[owner];
    queue.erase(std::find(queue.begin(), queue.end(), ticket));
    if (queue.empty()) slot_waiters_.erase(owner);
    auto it = sessions_.find(owner);
    const bool usable = it != sessions_.end() && !it->second.draining && !stop_;
    if (in_time && usable) return owner;  // the reservation stays, for the read
    if (it != sessions_.end()) it->second.reserved--;
    wake_ = true;
    if (!in_time) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no free slot on agent ", it != sessions_.end() ? it->second.info.agent_id : owner,
          " (all of its credit is taken by work already sent) before the deadline"));
    }
    // The owner left or is draining: place on the new owner.
  }
}

absl::StatusOr<v1::ProvisionNowResponse> Dispatcher::ProvisionNow(const std::string& cloud_id,
                                                                  absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  {
    absl::MutexLock lock(&mu_);
    if (!on_demand_mailboxes_.insert(cloud_id).second) {
      return absl::AbortedError(absl::StrCat("a provision on demand of mailbox ", cloud_id,
                                             " is already running; wait for its answer"));
    }
  }
  struct Release {
    Dispatcher* d;
    const std::string& id;
    ~Release() {
      absl::MutexLock lock(&d->mu_);
      d->on_demand_mailboxes_.erase(id);
      d->wake_ = true;
    }
  } release{this, cloud_id};
  v1::ProvisionNowResponse response;
  response.set_cloud_id(cloud_id);
  auto timed_out = [&](const std::string& waiting_for) {
    return absl::DeadlineExceededError(absl::StrCat(
        "provision on demand of mailbox ", cloud_id, ": no answer within ",
        absl::FormatDuration(timeout), "; steps so far: ",
        response.steps().empty() ? "none" : DescribeSteps(response), "; waiting for ",
        waiting_for, ". The work continues as normal work: see `writebackctl log --mailbox=",
        cloud_id, "`"));
  };
  MailboxRecord m;
  std::string session_id;
  std::string agent_id;
  std::string read_id;
  std::shared_ptr<OnDemand> call;
  while (true) {
    // 1. import: refuse what must not be written; wait for work in flight.
    WB_ASSIGN_OR_RETURN(m, store_->GetMailbox(cloud_id));
    WB_ASSIGN_OR_RETURN(ForestRecord forest, store_->GetForest(m.forest));
    WB_RETURN_IF_ERROR(CheckProvisionable(forest, m));
    if (WorkPending(m, absl::ToUnixMillis(clock_->Now()))) {
      if (absl::Now() >= deadline) {
        return timed_out(absl::StrCat("work already out for the mailbox (",
                                      m.inflight_id.empty() ? m.last_error : m.inflight_id, ")"));
      }
      absl::SleepFor(std::min(absl::Milliseconds(20), deadline - absl::Now()));
      continue;
    }
    // 2. The owner's next free slot, then the fresh read, marked in flight
    //    as normal work is.
    WB_ASSIGN_OR_RETURN(session_id, ClaimSlot(m.forest, m.source_anchor, deadline));
    if (auto f = store_->GetForest(m.forest); f.ok() && f->paused) {  // paused meanwhile
      absl::MutexLock lock(&mu_);
      if (auto it = sessions_.find(session_id); it != sessions_.end()) it->second.reserved--;
      wake_ = true;
      return CheckProvisionable(*f, m);
    }
    read_id = NewId("r-");
    auto marked = store_->UpdateMailbox(cloud_id, [&](MailboxRecord& r) -> absl::Status {
      if (WorkPending(r, absl::ToUnixMillis(clock_->Now()))) {
        return absl::AbortedError("work was placed meanwhile");
      }
      WB_RETURN_IF_ERROR(CheckProvisionable(ForestRecord{}, r));
      MarkInFlight(read_id, session_id, /*job=*/nullptr, &r);
      r.attempts = 0;  // an operator's attempt starts afresh, as a retry does
      r.last_error.clear();
      return absl::OkStatus();
    });
    call = std::make_shared<OnDemand>();
    call->session_id = session_id;
    std::shared_ptr<SessionSink> sink;
    {
      absl::MutexLock lock(&mu_);
      auto it = sessions_.find(session_id);
      if (it != sessions_.end()) it->second.reserved--;
      wake_ = true;
      if (marked.ok() && it != sessions_.end()) {
        it->second.outstanding[read_id] = {cloud_id, /*is_read=*/true, {}, clock_->Now()};
        on_demand_[read_id] = call;
        sink = it->second.sink;
        agent_id = it->second.info.agent_id;
      }
    }
    if (!marked.ok()) {
      if (absl::IsAborted(marked.status())) continue;  // wait for that work
      return marked.status();
    }
    if (sink == nullptr) {  // the session ended while the read was marked
      store_->UpdateMailbox(cloud_id, [&](MailboxRecord& r) {
        return ReleaseLostWork(session_id, clock_->Now(), &r);
      }).IgnoreError();
      continue;
    }
    m = *marked;
    AddImportStep(m, &response);
    response.set_read_id(read_id);
    response.set_agent_id(agent_id);
    v1::ControllerMessage msg;
    msg.mutable_read_request()->set_request_id(read_id);
    auto* target = msg.mutable_read_request()->add_targets();
    target->set_mailbox_id(cloud_id);
    target->set_source_anchor(m.source_anchor);
    sink->Send(std::move(msg));
    WB_LOG(INFO) << "provision on demand: mailbox " << cloud_id << " read " << read_id
                 << " sent to agent " << agent_id;

    // 3. The read's answer (TakeOnDemandReadLocked).
    switch (AwaitOnDemand(call, read_id, deadline)) {  // a late answer is a normal read's
      case OnDemandWait::kAnswered:
        break;
      case OnDemandWait::kLost:
        return absl::UnavailableError(absl::StrCat(
            "the session of agent ", agent_id, " ended before it answered read ", read_id,
            " of mailbox ", cloud_id, "; the mailbox is redelivered as normal work after the "
            "session's fence"));
      case OnDemandWait::kTimedOut:
        return timed_out(absl::StrCat("read ", read_id, " out with agent ", agent_id));
    }
    break;
  }

  // 4. Record the read as normal reads are and, in the same transaction,
  //    plan the job from what AD holds now; the job takes the read's slot.
  const v1::ObservedObject observed = call->observed;
  AddReadSteps(observed, &response);
  const std::string job_id = NewId("j-");
  const absl::Time now = clock_->Now();
  const RetryPolicy retry = options_.retry;
  PlanDecision::Kind kind = PlanDecision::kInSync;
  v1::Job job;
  v1::ProvisioningRecord read_log =
      MakeReadLogRecord(read_id, observed, agent_id, m.forest, now);
  read_log.set_session_id(session_id);
  // The rules the read was sent under may have changed while it was out.
  std::string blocked;
  if (auto f = store_->GetForest(m.forest); f.ok() && f->paused) {
    blocked = absl::StrCat("forest ", m.forest, " was paused meanwhile (", f->pause_reason,
                           "); `writebackctl forest resume ", m.forest, "` first");
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (blocked.empty() && it != sessions_.end() && it->second.draining) {
      blocked = absl::StrCat("agent ", agent_id, " is draining; try again on another agent");
    }
  }
  bool job_blocked = false;
  MailboxUpdate update{
      cloud_id,
      [&](MailboxRecord& r, v1::ProvisioningRecord*) -> absl::Status {
        WB_RETURN_IF_ERROR(ApplyObservation(read_id, observed, now, retry, &r));
        if (observed.failure() != v1::OUTCOME_UNSPECIFIED || r.status != v1::PENDING) {
          return absl::OkStatus();
        }
        PlanDecision d = PlanMailbox(r, job_id);
        if (d.kind == PlanDecision::kJob && !blocked.empty()) {
          job_blocked = true;  // stays PENDING: normal work once allowed
          return absl::OkStatus();
        }
        kind = d.kind;
        if (d.kind == PlanDecision::kInSync) {  // as PlaceForest does
          MarkInSync(&r);
        } else if (d.kind == PlanDecision::kJob) {
          job = std::move(d.job);
          AdmitOperatorWrite(now, &r);
          MarkInFlight(job_id, session_id, &job, &r);
        }
        return absl::OkStatus();
      },
      std::move(read_log)};
  auto written = store_->UpdateMailboxes({update});
  absl::Status recorded = !written.ok() ? written.status() : (*written)[0].status();
  if (!recorded.ok()) kind = PlanDecision::kInSync;  // nothing planned
  call = std::make_shared<OnDemand>();
  call->session_id = session_id;
  std::shared_ptr<SessionSink> sink;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it != sessions_.end()) {
      it->second.reserved--;  // the slot TakeOnDemandReadLocked kept
      if (kind == PlanDecision::kJob) {
        it->second.outstanding[job_id] = {cloud_id, /*is_read=*/false, job, now};
        on_demand_[job_id] = call;
        sink = it->second.sink;
      }
    }
    wake_ = true;
  }
  if (!recorded.ok()) {
    // Not left IN_FLIGHT with nothing out: put back in line (best effort; the
    // store just failed) as lost work would be.
    store_->UpdateMailbox(cloud_id, [&](MailboxRecord& r) {
      return ReleaseLostWork(session_id, now, &r);
    }).IgnoreError();
    return absl::Status(recorded.code(),
                        absl::StrCat("recording read ", read_id, " of mailbox ", cloud_id,
                                     " failed: ", recorded.message()));
  }
  if (job_blocked) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mailbox ", cloud_id, " was read but not written: ", blocked,
        "; steps so far: ", DescribeSteps(response)));
  }
  if (kind == PlanDecision::kJob && sink == nullptr) {  // the session ended meanwhile
    store_->UpdateMailbox(cloud_id, [&](MailboxRecord& r) {
      return ReleaseLostWork(session_id, now, &r);
    }).IgnoreError();
    return absl::UnavailableError(absl::StrCat(
        "the session of agent ", agent_id, " ended before job ", job_id, " of mailbox ",
        cloud_id, " could be sent; it is placed as normal work; steps so far: ",
        DescribeSteps(response)));
  }
  if (kind == PlanDecision::kJob) {
    v1::ControllerMessage msg;
    *msg.mutable_jobs()->add_jobs() = job;
    sink->Send(std::move(msg));
    WB_LOG(INFO) << "provision on demand: mailbox " << cloud_id << " job " << job_id
                 << " sent to agent " << agent_id;
    // 5. The job's answer, recorded by OnResults (CompleteOnDemand).
    switch (AwaitOnDemand(call, job_id, deadline)) {
      case OnDemandWait::kAnswered:
        break;
      case OnDemandWait::kLost:
        return absl::UnavailableError(absl::StrCat(
            "the session of agent ", agent_id, " ended before it answered job ", job_id,
            " of mailbox ", cloud_id, "; it is redelivered as normal work after the session's "
            "fence; steps so far: ", DescribeSteps(response)));
      case OnDemandWait::kTimedOut:
        return timed_out(absl::StrCat("job ", job_id, " out with agent ", agent_id));
    }
  } else if (observed.failure() == v1::OUTCOME_UNSPECIFIED) {
    AddNothingToWrite(&response);
  }
  if (kind == PlanDecision::kJob) AddJobSteps(job, call->result, &response);
  if (auto after = store_->GetMailbox(cloud_id); after.ok()) response.set_status(after->status);
  response.set_duration_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(absl::Now() - start)));
  return response;
}

Dispatcher::OnDemandWait Dispatcher::AwaitOnDemand(const std::shared_ptr<OnDemand>& call,
                                                   const std::string& work_id,
                                                   absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return call->answered || call->lost || stop_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (call->answered) return OnDemandWait::kAnswered;
  on_demand_.erase(work_id);
  return call->lost || stop_ ? OnDemandWait::kLost : OnDemandWait::kTimedOut;
}

}  // namespace writeback::controller
