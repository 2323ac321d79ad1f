#include "controller/dispatch/dispatcher.h"

#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "controller/dispatch/answer_log.h"
#include "controller/planner/job_planner.h"

namespace writeback::controller {
namespace {

using writeback::v1::ControllerMessage;

}  // namespace

Dispatcher::Dispatcher(Store* store, Clock* clock, Options options)
    : store_(store),
      clock_(clock),
      options_(options),
      id_prefix_(absl::StrFormat("%08x", std::random_device{}())),
      watch_(options.pause),
      reconciler_(store, clock, [&options] {
        Reconciler::Options r = options.reconcile;
        r.conflict = options.retry.conflict;
        return r;
      }()),
      committer_([store](const std::vector<MailboxUpdate>& updates) {
        return store->UpdateMailboxes(updates);
      }) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() { thread_ = std::thread([this] { Run(); }); }

void Dispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  committer_.Flush();
}

std::string Dispatcher::NewId(const char* prefix) {
  absl::MutexLock lock(&mu_);
  return absl::StrCat(prefix, id_prefix_, "-", ++next_id_);
}

writeback::v1::Welcome Dispatcher::Attach(const SessionInfo& info,
                                          std::shared_ptr<SessionSink> sink) {
  std::string id = NewId("s-");
  writeback::v1::Welcome welcome;
  welcome.set_session_id(id);
  welcome.set_protocol_version(info.protocol_version);
  welcome.set_heartbeat_interval_ms(absl::ToInt64Milliseconds(options_.heartbeat_interval));
  welcome.set_lease_ms(absl::ToInt64Milliseconds(options_.lease));
  welcome.set_forest(info.forest);
  welcome.set_agent_id(info.agent_id);
  // The Welcome goes out before the session is registered: the placement
  // thread cannot find it earlier, so no job or read overtakes the Welcome.
  ControllerMessage hello_back;
  *hello_back.mutable_welcome() = welcome;
  sink->Send(std::move(hello_back));
  {
    absl::MutexLock lock(&mu_);
    Session& s = sessions_[id];
    s.info = info;
    s.sink = std::move(sink);
    s.last_heard = clock_->Now();
    wake_ = true;
  }
  if (options_.observer != nullptr) options_.observer->SessionStarted(info.agent_id, info.forest);
  reconciler_.OnAttach(info.forest);  // a pass is due (DESIGN §6: on connect)
  store_->UpsertAgent({info.agent_id, info.forest, info.agent_version, "connected",
                       absl::ToUnixMillis(clock_->Now())})
      .IgnoreError();
  WB_LOG(INFO) << "agent connected agent=" << info.agent_id << " forest=" << info.forest
               << " session=" << id << " credit=" << info.max_in_flight;
  return welcome;
}

absl::Time Dispatcher::Fence(const SessionInfo& info, absl::Time now) const {
  return now + options_.lease + std::max(options_.ldap_timeout, info.ldap_timeout);
}

void Dispatcher::Detach(const std::string& session_id) {
  Session gone;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    gone = std::move(it->second);
    sessions_.erase(it);
    wake_ = true;
  }
  if (options_.observer != nullptr) {
    options_.observer->SessionEnded(gone.info.agent_id, gone.info.forest);
  }
  // Answers the session sent before it ended are recorded (and a waiting
  // provision-now call told) before its calls are abandoned as unanswered.
  committer_.Flush();
  AbandonOnDemand(session_id);
  reconciler_.OnSessionEnded(session_id);
  absl::Time now = clock_->Now();
  absl::Time not_before = Fence(gone.info, now);
  std::vector<MailboxUpdate> updates;
  const std::string agent_id = gone.info.agent_id;
  for (const auto& [work_id, out] : gone.outstanding) {
    writeback::v1::ProvisioningRecord lost;
    lost.set_kind("lost");
    updates.push_back(
        {out.cloud_id,
         [session_id, agent_id, work_id = work_id, now, not_before](
             MailboxRecord& m, writeback::v1::ProvisioningRecord* log) {
           writeback::v1::ProvisioningRecord record =
               MakeLostLogRecord(work_id, m, agent_id, session_id, now, not_before);
           WB_RETURN_IF_ERROR(ReleaseLostWork(session_id, not_before, &m));
           *log = std::move(record);
           return absl::OkStatus();
         },
         std::move(lost)});
  }
  if (!updates.empty()) {
    auto written = store_->UpdateMailboxes(updates);
    if (!written.ok()) {
      WB_LOG(ERROR) << "releasing lost work failed" << LogField("agent", gone.info.agent_id)
                    << LogField("session", session_id) << LogError(written.status())
                    << LogHint("check the store; a controller restart releases the work too");
    }
  }
  store_->UpsertAgent({gone.info.agent_id, gone.info.forest, gone.info.agent_version,
                       "disconnected", absl::ToUnixMillis(now)})
      .IgnoreError();
  WB_LOG(INFO) << "agent disconnected agent=" << gone.info.agent_id << " session=" << session_id
               << " unanswered=" << gone.outstanding.size()
               << (gone.outstanding.empty()
                       ? std::string()
                       : absl::StrCat(" redelivery_after=",
                                      absl::FormatDuration(not_before - now)));
}

int Dispatcher::Drain(const std::string& agent_id, const std::string& reason) {
  std::vector<std::shared_ptr<SessionSink>> told;
  SessionInfo info;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, s] : sessions_) {
      if (s.info.agent_id != agent_id) continue;
      s.draining = true;
      info = s.info;
      told.push_back(s.sink);
      WB_LOG(INFO) << "draining agent=" << agent_id << " session=" << id
                   << " unanswered=" << s.outstanding.size() << " reason=\"" << reason << "\"";
    }
  }
  if (told.empty()) return 0;
  ControllerMessage drain;
  drain.mutable_drain()->set_reason(reason);
  for (auto& sink : told) sink->Send(drain);
  store_->UpsertAgent({info.agent_id, info.forest, info.agent_version, "draining",
                       absl::ToUnixMillis(clock_->Now())})
      .IgnoreError();
  return static_cast<int>(told.size());
}

std::vector<LiveSession> Dispatcher::Sessions() const {
  std::vector<LiveSession> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, s] : sessions_) {
    out.push_back({id, s.info, s.draining, s.outstanding.size(),
                   slot_waiters_.count(id) > 0 ? slot_waiters_.at(id).size() : 0});
  }
  std::sort(out.begin(), out.end(), [](const LiveSession& a, const LiveSession& b) {
    return a.info.agent_id != b.info.agent_id ? a.info.agent_id < b.info.agent_id
                                              : a.session_id < b.session_id;
  });
  return out;
}

void Dispatcher::Touch(const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end()) it->second.last_heard = clock_->Now();
}

void Dispatcher::OnHeartbeat(const std::string& session_id, uint64_t sequence) {
  std::shared_ptr<SessionSink> sink;
  ControllerMessage pong;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    Session& s = it->second;
    s.last_heard = clock_->Now();
    s.agent_heartbeat = std::max(s.agent_heartbeat, sequence);
    pong.mutable_heartbeat()->set_sequence(++s.heartbeats);
    pong.mutable_heartbeat()->set_echo(s.agent_heartbeat);
    sink = s.sink;
  }
  sink->Send(std::move(pong));
}

void Dispatcher::Resume(const std::string& forest) {
  absl::MutexLock lock(&mu_);
  watch_.Reset(forest);
  wake_ = true;
}

void Dispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Dispatcher::Accepted(const std::string& cloud_id, uint64_t gen) {
  if (options_.observer != nullptr) options_.observer->ChangeAccepted(cloud_id, gen, clock_->Now());
  Wake();
}

int Dispatcher::ConnectedAgents(const std::string& forest) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, s] : sessions_) n += s.info.forest == forest;
  return n;
}

void Dispatcher::OnResults(const std::string& session_id,
                           const writeback::v1::JobResults& results) {
  std::vector<MailboxUpdate> updates;
  std::optional<std::pair<std::string, std::string>> pause;  // forest, reason
  absl::Time now = clock_->Now();
  std::vector<std::pair<writeback::v1::Job, writeback::v1::JobResult>> answered;
  std::string forest;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    Session& s = it->second;
    s.last_heard = now;
    for (const auto& result : results.results()) {
      auto out = s.outstanding.find(result.job_id());
      if (out == s.outstanding.end() || out->second.is_read) {
        WB_LOG(WARNING) << "refused a result for a job the session was not given"
                        << LogField("job", result.job_id()) << LogField("session", session_id)
                        << LogField("agent", s.info.agent_id)
                        << LogHint(
                               "nothing to do: the job's own session answers it; report "
                               "it if it repeats");
        continue;
      }
      writeback::v1::Job job = std::move(out->second.job);
      s.outstanding.erase(out);
      LogFailedAnswer(job, result, s.info.agent_id, s.info.forest);
      if (options_.observer != nullptr) answered.emplace_back(job, result);
      if (auto reason = watch_.Record(s.info.forest, job.mailbox_id(), result, now)) {
        pause.emplace(s.info.forest, std::move(*reason));
      }
      RetryPolicy retry = options_.retry;
      writeback::v1::ProvisioningRecord log =
          MakeJobLogRecord(job, result, s.info.agent_id, s.info.forest, now);
      log.set_session_id(session_id);
      MailboxUpdate update{job.mailbox_id(), nullptr, std::move(log)};
      update.mutate_drift = [job, result, now, retry](MailboxRecord& m,
                                                      writeback::v1::ProvisioningRecord* log,
                                                      std::vector<writeback::v1::DriftRecord>* drift) {
        return ApplyJobResult(job, result, now, retry, &m, log, drift);
      };
      updates.push_back(std::move(update));
    }
    // Answered work holds its credit until it is recorded: a slow disk slows
    // placement instead of piling up answers in memory.
    s.committing += updates.size();
    forest = s.info.forest;
  }
  CommitAnswers(session_id, std::move(updates),
                [this, session_id, forest, now, results, answered = std::move(answered),
                 pause = std::move(pause)] {
                  for (const auto& [job, result] : answered) {
                    options_.observer->JobAnswered(forest, job, result, now);
                  }
                  CompleteOnDemand(session_id, results);
                  if (pause.has_value()) PauseForest(pause->first, pause->second, now);
                });
}

void Dispatcher::FlushAnswers() { committer_.Flush(); }

void Dispatcher::PauseForest(const std::string& forest, const std::string& reason,
                             absl::Time now) {
  WB_LOG(WARNING) << "forest paused: too many jobs failed" << LogField("forest", forest)
                  << LogField("reason", reason)
                  << LogHint(
                         "fix the cause named in the reason, then: writebackctl forest "
                         "resume " +
                         forest +
                         " and writebackctl mailbox retry for "
                         "the quarantined mailboxes");
  absl::Status paused = store_->SetForestPause(forest, true, reason, absl::ToUnixMillis(now));
  if (!paused.ok()) {
    WB_LOG(ERROR) << "pausing a forest failed" << LogField("forest", forest) << LogError(paused)
                  << LogHint("pause it by hand: writebackctl forest pause " + forest);
  }
}

void Dispatcher::OnObserved(const std::string& session_id,
                            const writeback::v1::Observed& observed) {
  std::vector<MailboxUpdate> updates;
  absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    Session& s = it->second;
    s.last_heard = now;
    for (const auto& object : observed.objects()) {
      // A read request carries one target and is tracked under its id.
      const std::string& key = observed.request_id();
      auto out = s.outstanding.find(key);
      if (out == s.outstanding.end() || !out->second.is_read) {
        WB_LOG(WARNING) << "refused an observation the session was not asked for"
                        << LogField("request", key) << LogField("session", session_id)
                        << LogField("agent", s.info.agent_id)
                        << LogField("mailbox", object.mailbox_id())
                        << LogHint("nothing to do: the mailbox is read again");
        continue;
      }
      s.outstanding.erase(out);
      LogFailedRead(object, s.info.agent_id, s.info.forest);
      if (TakeOnDemandReadLocked(session_id, key, object)) continue;  // provision on demand
      RetryPolicy retry = options_.retry;
      writeback::v1::ProvisioningRecord log =
          MakeReadLogRecord(key, object, s.info.agent_id, s.info.forest, now);
      log.set_session_id(session_id);
      updates.push_back({object.mailbox_id(),
                         [key, object, now, retry](MailboxRecord& m,
                                                   writeback::v1::ProvisioningRecord*) {
                           return ApplyObservation(key, object, now, retry, &m);
                         },
                         std::move(log)});
    }
    s.committing += updates.size();
  }
  CommitAnswers(session_id, std::move(updates), nullptr);
}

void Dispatcher::OnScanPage(const std::string& session_id, const writeback::v1::ScanPage& page) {
  Touch(session_id);
  if (reconciler_.OnPage(session_id, page)) Wake();
}

std::vector<Reconciler::Candidate> Dispatcher::ScanCandidates() const {
  std::vector<Reconciler::Candidate> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, s] : sessions_) {
    if (s.draining || s.info.protocol_version < 3) continue;
    out.push_back({id, s.info.agent_id, s.info.forest, s.sink});
  }
  return out;
}

absl::StatusOr<Reconciler::Started> Dispatcher::Reconcile(const std::string& forest, bool full) {
  return reconciler_.Start(forest, full, ScanCandidates());
}

void Dispatcher::CommitAnswers(const std::string& session_id, std::vector<MailboxUpdate> updates,
                               std::function<void()> after) {
  const size_t count = updates.size();
  if (count == 0) {
    if (after) after();
    Wake();
    return;
  }
  committer_.Submit(std::move(updates), [this, session_id, count, after = std::move(after)](
                                            const AnswerCommitter::Written& written) {
    if (!written.ok()) {
      WB_LOG(ERROR) << "recording answers failed" << LogField("session", session_id)
                    << LogError(written.status())
                    << LogHint(
                           "check the store (disk space, permissions), then restart the "
                           "controller: the unrecorded work is redelivered at its start");
    } else {
      for (const auto& r : *written) {
        if (!r.ok()) {
          WB_LOG(WARNING) << "answer ignored" << LogField("session", session_id)
                          << LogField("error", r.status().message())
                          << LogHint("nothing to do: the mailbox changed or left meanwhile");
        }
      }
    }
    if (after) after();
    absl::MutexLock lock(&mu_);
    if (auto it = sessions_.find(session_id); it != sessions_.end()) {
      it->second.committing -= count;
    }
    wake_ = true;
  });
}

void Dispatcher::Run() {
  absl::Time next_heartbeat = clock_->Now();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.tick);
      if (stop_) return;
      wake_ = false;
    }
    absl::Time now = clock_->Now();
    if (now >= next_heartbeat) {
      Heartbeat(now);
      EndSessionsOutOfTrust(now);
      next_heartbeat = now + options_.heartbeat_interval;
    }
    std::vector<std::string> forests;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, s] : sessions_) {
        if (forests.empty() || forests.back() != s.info.forest) forests.push_back(s.info.forest);
      }
    }
    std::sort(forests.begin(), forests.end());
    forests.erase(std::unique(forests.begin(), forests.end()), forests.end());
    for (const auto& forest : forests) PlaceForest(forest, now);
    reconciler_.StartDue(ScanCandidates());
    // A pass started on a session that ended meanwhile (Detach erases the
    // session before telling the reconciler) or whose agent went silent.
    std::set<std::string> live;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, s] : sessions_) live.insert(id);
    }
    reconciler_.Sweep(live);
  }
}

void Dispatcher::Heartbeat(absl::Time now) {
  std::vector<std::pair<std::shared_ptr<SessionSink>, ControllerMessage>> alive;
  std::vector<std::shared_ptr<SessionSink>> expired;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, s] : sessions_) {
      if (now - s.last_heard > options_.lease) {
        expired.push_back(s.sink);
        WB_LOG(WARNING) << "lease expired: the agent sent nothing, cutting its session"
                        << LogField("agent", s.info.agent_id) << LogField("session", id)
                        << LogField("silent_for", absl::FormatDuration(now - s.last_heard))
                        << LogHint(
                               "check the agent's host and the network path; its work is "
                               "redelivered");
        continue;
      }
      const Outstanding* oldest = nullptr;
      std::string oldest_id;
      for (const auto& [work_id, out] : s.outstanding) {
        if (oldest == nullptr || out.sent < oldest->sent) {
          oldest = &out;
          oldest_id = work_id;
        }
      }
      if (oldest != nullptr && now - oldest->sent > options_.answer_timeout) {
        expired.push_back(s.sink);
        WB_LOG(WARNING) << "agent presumed stuck: work unanswered, cutting its session"
                        << LogField("agent", s.info.agent_id) << LogField("session", id)
                        << LogField("job", oldest_id) << LogField("mailbox", oldest->cloud_id)
                        << LogField("waited", absl::FormatDuration(now - oldest->sent))
                        << LogHint(
                               "check the agent's log and its DC; the work is redelivered "
                               "(answer_timeout_ms)");
        continue;
      }
      ControllerMessage hb;
      hb.mutable_heartbeat()->set_sequence(++s.heartbeats);
      hb.mutable_heartbeat()->set_echo(s.agent_heartbeat);
      alive.emplace_back(s.sink, std::move(hb));
    }
  }
  for (auto& [sink, hb] : alive) sink->Send(std::move(hb));
  for (auto& sink : expired) sink->Abort("lease expired or work left unanswered");
}

}  // namespace writeback::controller
