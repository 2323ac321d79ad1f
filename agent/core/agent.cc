#include "agent/core/agent.h"

#include <algorithm>
#include <map>
#include <vector>

#include "agent/apply/pipelined_applier.h"
#include "common/base/log.h"

namespace writeback::agent {

using writeback::v1::AgentMessage;
using writeback::v1::ControllerMessage;

Agent::Agent(JobApplier* applier, Directory* directory, Clock* clock, Options options)
    : applier_(applier), directory_(directory), clock_(clock), options_(options) {
  applier_->set_write_gate([this] {
    absl::MutexLock lock(&mu_);
    return working_epoch_ == epoch_ && LeaseValidLocked();
  });
}

Agent::~Agent() {
  Stop();
  applier_->set_write_gate(nullptr);
}

void Agent::Start() {
  worker_ = std::thread([this] { WorkerLoop(); });
  ticker_ = std::thread([this] { TickerLoop(); });
}

void Agent::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (worker_.joinable()) worker_.join();
  if (ticker_.joinable()) ticker_.join();
  if (options_.scanner != nullptr) options_.scanner->Stop();  // its threads call back here
}

void Agent::OnStreamStarted(std::shared_ptr<Outbound> stream) {
  absl::MutexLock lock(&mu_);
  if (draining_) {  // drained agents leave; they take no new session
    stream->Cancel();
    return;
  }
  stream_ = std::move(stream);
  welcomed_ = false;
  last_heard_ = clock_->Now();
  stream_started_ = last_heard_;  // the Hello goes out now
  lease_base_ = last_heard_;
  sent_heartbeats_.clear();
}

void Agent::OnStreamEnded(const grpc::Status& status) {
  std::function<void()> drained;
  {
    absl::MutexLock lock(&mu_);
    if (welcomed_ && !drain_closed_) {
      WB_LOG(WARNING) << "session ended" << LogField("session", session_id_)
                      << LogField("code", status.error_code())
                      << LogField("error", status.error_message())
                      << LogHint("the agent reconnects by itself; unanswered jobs are redelivered");
    }
    EndSessionLocked("stream ended");
    stream_.reset();
    if (draining_ && !drained_reported_) {
      drained_reported_ = true;
      drained = options_.on_drained;
      WB_LOG(INFO) << (drain_closed_ ? "drained: every job answered, stream closed; leaving"
                                     : "the stream ended while draining; leaving (the "
                                       "controller redelivers what was unanswered)");
    }
  }
  if (drained) drained();
}

void Agent::FinishDrainIfIdle(bool idle) {
  std::shared_ptr<Outbound> stream;
  {
    absl::MutexLock lock(&mu_);
    if (!draining_ || drain_closed_ || !idle || !queue_.empty()) return;
    drain_closed_ = true;  // with no stream left, OnStreamEnded already reported
    stream = stream_;
  }
  if (stream) stream->Close();
}

bool Agent::LeaseValidLocked() const {
  return welcomed_ && clock_->Now() - lease_base_ < lease_;
}

void Agent::RenewLeaseLocked(const ControllerMessage& message) {
  if (message.has_welcome()) {  // answers the Hello sent when the stream started
    lease_base_ = std::max(lease_base_, stream_started_);
    return;
  }
  if (controller_protocol_ < 2) {  // a version-1 controller: any message renews
    lease_base_ = last_heard_;
    return;
  }
  if (!message.has_heartbeat() || message.heartbeat().echo() == 0) return;
  const uint64_t echo = message.heartbeat().echo();
  while (!sent_heartbeats_.empty() && sent_heartbeats_.front().first < echo) {
    sent_heartbeats_.pop_front();
  }
  if (!sent_heartbeats_.empty() && sent_heartbeats_.front().first == echo) {
    lease_base_ = std::max(lease_base_, sent_heartbeats_.front().second);
  }
}

std::shared_ptr<Outbound> Agent::EndSessionLocked(const std::string& why) {
  if (!queue_.empty()) {
    WB_LOG(WARNING) << "dropping queued jobs" << LogField("session", session_id_)
                    << LogField("jobs", queue_.size()) << LogField("reason", why)
                    << LogHint("nothing to do: the controller redelivers them");
  }
  queue_.clear();
  epoch_++;
  welcomed_ = false;
  session_id_.clear();
  directory_->Close();  // no write of this session may reach the directory later
  if (options_.scanner != nullptr) options_.scanner->Abandon();  // nor a page of its scan
  return stream_;
}

void Agent::OnMessage(const ControllerMessage& message) {
  std::shared_ptr<Outbound> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    if (welcomed_ && !LeaseValidLocked()) {
      // The lease ran out by this agent's clock, whether or not the ticker
      // noticed yet: a message arriving now (one that sat in the socket while
      // the process was stopped, say) must not revive it, whatever protocol.
      WB_LOG(WARNING) << "lease ran out before a message arrived; stopping all writes"
                      << LogField("session", session_id_)
                      << LogHint(
                             "was the agent suspended or starved of CPU? it reconnects; "
                             "the controller redelivers its work");
      to_cancel = EndSessionLocked("lease expired");
    } else {
      HandleLocked(message);
    }
  }
  if (to_cancel) to_cancel->Cancel();
}

void Agent::HandleLocked(const ControllerMessage& message) {
  last_heard_ = clock_->Now();
  if (message.has_welcome()) controller_protocol_ = message.welcome().protocol_version();
  RenewLeaseLocked(message);
  switch (message.body_case()) {
    case ControllerMessage::kWelcome: {
      const auto& w = message.welcome();
      session_id_ = w.session_id();
      lease_ = absl::Milliseconds(w.lease_ms());
      heartbeat_ = absl::Milliseconds(w.heartbeat_interval_ms());
      welcomed_ = true;
      WB_LOG(INFO) << "session " << session_id_ << " started: agent " << w.agent_id()
                   << " of forest " << w.forest() << ", lease " << w.lease_ms() << " ms";
      return;
    }
    case ControllerMessage::kJobs:
      WB_LOG(DEBUG) << "received " << message.jobs().jobs_size() << " jobs, session "
                    << session_id_;
      if (!welcomed_) {
        RefuseUnwelcomedWorkLocked();
        return;
      }
      for (const auto& job : message.jobs().jobs()) {
        Work w;
        w.epoch = epoch_;
        w.job = job;
        queue_.push_back(std::move(w));
      }
      return;
    case ControllerMessage::kReadRequest:
      if (!welcomed_) {
        RefuseUnwelcomedWorkLocked();
        return;
      }
      for (const auto& target : message.read_request().targets()) {
        Work w;
        w.epoch = epoch_;
        w.is_read = true;
        w.request_id = message.read_request().request_id();
        w.target = target;
        queue_.push_back(std::move(w));
      }
      return;
    case ControllerMessage::kScan: {
      if (!welcomed_) {
        RefuseUnwelcomedWorkLocked();
        return;
      }
      const uint64_t epoch = epoch_;
      Scanner::Session session{stream_, [this, epoch] {
                                 absl::MutexLock lock(&mu_);
                                 return epoch == epoch_ && LeaseValidLocked();
                               }};
      if (options_.scanner != nullptr) {
        options_.scanner->Start(message.scan(), std::move(session));
      } else {
        AgentMessage refused;
        *refused.mutable_scan_page() = FailedScanPage(
            message.scan().scan_id(), v1::FAILED_PERMANENT, "this agent runs no scans");
        stream_->Send(std::move(refused));
      }
      return;
    }
    case ControllerMessage::kDrain:
      WB_LOG(INFO) << "controller asked to drain (" << message.drain().reason()
                   << "): finishing " << queue_.size()
                   << " queued jobs and what is in flight, then leaving";
      draining_ = true;
      return;
    case ControllerMessage::kHeartbeat:
    case ControllerMessage::BODY_NOT_SET:
      return;
  }
}

void Agent::RefuseUnwelcomedWorkLocked() {
  // Work before the Welcome belongs to no session: never carry it out, and
  // end the stream so that the controller learns of it and redelivers.
  WB_LOG(WARNING) << "the controller sent work before its Welcome (protocol error)"
                  << LogHint(
                         "nothing to do: the agent reconnects so that the work is "
                         "redelivered; report it if it repeats");
  if (stream_) stream_->Cancel();
}

void Agent::WorkerLoop() {
  PipelinedApplier pipeline(directory_, applier_, options_.pipeline);
  std::map<std::string, uint64_t> job_epoch;  // job id -> the session it came with
  uint64_t seen_epoch = 0;
  while (true) {
    std::vector<Work> batch;
    bool session_ended = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !queue_.empty() || epoch_ != seen_epoch ||
               (draining_ && !drain_closed_);
      };
      // With work in the pipeline, keep pumping; otherwise sleep until
      // something arrives.
      if (pipeline.pending() == 0) mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      if (epoch_ != seen_epoch) {
        session_ended = true;
        seen_epoch = epoch_;
      }
      // Fencing: only work of the current, leased session is carried out.
      while (!queue_.empty()) {
        if (queue_.front().epoch == epoch_ && LeaseValidLocked()) {
          batch.push_back(std::move(queue_.front()));
        } else {
          WB_LOG(DEBUG) << "dropping queued work of epoch " << queue_.front().epoch
                        << " (current " << epoch_ << ", lease valid " << LeaseValidLocked()
                        << ")";
        }
        queue_.pop_front();
      }
      working_epoch_ = epoch_;
    }
    if (session_ended) {
      pipeline.DropUnsent();
      job_epoch.clear();
    }
    std::vector<v1::Job> jobs;
    std::vector<const Work*> reads;
    for (Work& work : batch) {
      if (work.is_read) {
        reads.push_back(&work);
      } else {
        job_epoch[work.job.job_id()] = work.epoch;
        jobs.push_back(std::move(work.job));
      }
    }
    AnswerReads(reads);
    if (!jobs.empty()) {
      WB_LOG(DEBUG) << "worker submits " << jobs.size() << " jobs; " << pipeline.pending()
                    << " already in the pipeline";
      pipeline.Submit(std::move(jobs));
    }
    if (pipeline.pending() == 0) {
      FinishDrainIfIdle(/*idle=*/true);
      continue;
    }
    std::map<uint64_t, AgentMessage> answers;  // by epoch, one message each
    for (v1::JobResult& result : pipeline.Pump(absl::Milliseconds(5))) {
      auto it = job_epoch.find(result.job_id());
      if (it == job_epoch.end()) continue;
      *answers[it->second].mutable_results()->add_results() = std::move(result);
      job_epoch.erase(it);
    }
    for (auto& [epoch, message] : answers) SendIfCurrent(epoch, std::move(message));
  }
}

void Agent::AnswerReads(const std::vector<const Work*>& reads) {
  const size_t chunk = std::max<size_t>(1, options_.pipeline.match_batch);
  for (size_t first = 0; first < reads.size(); first += chunk) {
    const size_t end = std::min(reads.size(), first + chunk);
    std::vector<v1::ReadTarget> targets;
    targets.reserve(end - first);
    for (size_t i = first; i < end; ++i) targets.push_back(reads[i]->target);
    std::vector<v1::ObservedObject> seen = applier_->ReadMany(targets);
    for (size_t i = first; i < end; ++i) {
      AgentMessage out;
      out.mutable_observed()->set_request_id(reads[i]->request_id);
      *out.mutable_observed()->add_objects() = std::move(seen[i - first]);
      SendIfCurrent(reads[i]->epoch, std::move(out));
    }
  }
}

void Agent::SendIfCurrent(uint64_t epoch, AgentMessage message) {
  std::shared_ptr<Outbound> stream;
  {
    absl::MutexLock lock(&mu_);
    if (epoch != epoch_) return;  // the session ended meanwhile
    stream = stream_;
  }
  if (stream) stream->Send(std::move(message));
}

void Agent::TickerLoop() {
  absl::Time next_heartbeat = clock_->Now();
  while (true) {
    std::shared_ptr<Outbound> to_cancel, to_ping;
    AgentMessage ping;
    {
      absl::MutexLock lock(&mu_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::Milliseconds(100));
      if (stop_) return;
      absl::Time now = clock_->Now();
      if (welcomed_ && now - lease_base_ >= lease_) {
        WB_LOG(WARNING) << "lease expired: no heartbeat echoed by the controller; stopping all "
                           "writes"
                        << LogField("session", session_id_)
                        << LogField("unechoed_for", absl::FormatDuration(now - lease_base_))
                        << LogField("last_heard", absl::FormatDuration(now - last_heard_))
                        << LogHint(
                               "check the network path to the controller and its load; "
                               "the agent reconnects and its work is redelivered");
        to_cancel = EndSessionLocked("lease expired");
      } else if (welcomed_ && now >= next_heartbeat) {
        to_ping = stream_;
        ping.mutable_heartbeat()->set_sequence(++heartbeat_seq_);
        sent_heartbeats_.emplace_back(heartbeat_seq_, now);
        if (sent_heartbeats_.size() > 64) sent_heartbeats_.pop_front();
        next_heartbeat = now + heartbeat_;
      }
    }
    if (to_cancel) to_cancel->Cancel();
    if (to_ping) to_ping->Send(std::move(ping));
  }
}

}  // namespace writeback::agent
