// The fake agent's stream and reconnects (fake_agent.h).
#include "tests/bench/fake_agent.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/base/files.h"
#include "tests/harness/write_queue.h"

namespace writeback::bench {
namespace {

using v1::AgentMessage;
using v1::ControllerMessage;

int64_t NowUs() { return absl::GetCurrentTimeNanos() / 1000; }

}  // namespace

// One stream of one agent: the callback reactor. Deletes itself in OnDone
// after telling its agent, which reconnects.
class Stream : public grpc::ClientBidiReactor<AgentMessage, ControllerMessage> {
 public:
  Stream(FakeAgent* agent, v1::AgentGateway::Stub* stub, uint32_t credit, Shared* shared);
  void Start();
  // Sends a Heartbeat when the Welcome's interval has passed.
  void Tick(absl::Time now);

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    Handle(in_);
    StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    if (AgentMessage* next = out_.Done(ok)) StartWrite(next);
  }
  void OnDone(const grpc::Status& status) override;

 private:
  void Send(AgentMessage message) {
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
    }
    if (AgentMessage* first = out_.Push(std::move(message))) StartWrite(first);
  }
  void Sample(const std::string& name, const std::string& bytes, std::atomic<bool>* taken) {
    if (shared_->sample_dir.empty() || taken->exchange(true)) return;
    WriteFileAtomically(absl::StrCat(shared_->sample_dir, "/", name), bytes).IgnoreError();
  }
  void Handle(const ControllerMessage& m);
  // Sends an answer now, or after --answer_delay_ms (from Tick).
  void Answer(AgentMessage message);

  FakeAgent* const agent_;
  v1::AgentGateway::Stub* const stub_;
  const uint32_t credit_;
  Shared* const shared_;
  grpc::ClientContext context_;
  ControllerMessage in_;
  uint64_t heartbeat_seq_ = 0;  // ticker thread only

  testing::WriteQueue<AgentMessage> out_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, AgentMessage>> delayed_ ABSL_GUARDED_BY(mu_);
};

void FakeAgent::Tick(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) {
    stream_->Tick(now);
  } else if (now >= reconnect_at_) {
    if (connected_once_) shared_->counters.reconnects++;
    connected_once_ = true;
    stream_ = new Stream(this, stub_.get(), credit_, shared_);
    stream_->Start();
  }
}

Stream::Stream(FakeAgent* agent, v1::AgentGateway::Stub* stub, uint32_t credit, Shared* shared)
    : agent_(agent), stub_(stub), credit_(credit), shared_(shared) {}

void Stream::Start() {
  stub_->async()->Connect(&context_, this);
  AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(3);
  hello.mutable_hello()->set_agent_version("fake-agent-bench");
  hello.mutable_hello()->set_max_in_flight(credit_);
  hello.mutable_hello()->set_ldap_timeout_ms(3000);
  Send(std::move(hello));
  StartRead(&in_);
  StartCall();
}

void Stream::Answer(AgentMessage message) {
  if (shared_->answer_delay > absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    delayed_.emplace_back(absl::Now() + shared_->answer_delay, std::move(message));
    return;
  }
  Send(std::move(message));
}

void Stream::Tick(absl::Time now) {
  std::vector<AgentMessage> due;
  {
    absl::MutexLock lock(&mu_);
    while (!delayed_.empty() && delayed_.front().first <= now) {
      due.push_back(std::move(delayed_.front().second));
      delayed_.pop_front();
    }
  }
  for (AgentMessage& m : due) Send(std::move(m));
  {
    absl::MutexLock lock(&mu_);
    if (done_ || interval_ == absl::ZeroDuration() || now < next_heartbeat_) return;
    next_heartbeat_ = now + interval_;
  }
  AgentMessage hb;
  hb.mutable_heartbeat()->set_sequence(++heartbeat_seq_);
  shared_->counters.heartbeats++;
  Send(std::move(hb));
}

void Stream::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  if (shared_->counters.ended++ < 5) {
    fprintf(stderr, "fake_agents: stream of %s ended: %d %s\n", agent_->id().c_str(),
            static_cast<int>(status.error_code()), status.error_message().c_str());
  }
  agent_->Ended();  // waits while the ticker is inside our Tick
  delete this;
}

void Stream::Handle(const ControllerMessage& m) {
  Counters& c = shared_->counters;
  switch (m.body_case()) {
    case ControllerMessage::kWelcome: {
      {
        absl::MutexLock lock(&mu_);
        interval_ =
            absl::Milliseconds(std::max<uint32_t>(100, m.welcome().heartbeat_interval_ms()));
        next_heartbeat_ = absl::Now() + interval_;
      }
      c.welcomed++;
      agent_->Welcomed();
      return;
    }
    case ControllerMessage::kJobs: {
      int64_t expected = 0;
      c.first_work_us.compare_exchange_strong(expected, NowUs());
      c.job_batches++;
      c.job_batch_bytes += static_cast<int64_t>(m.ByteSizeLong());
      if (m.jobs().jobs_size() > 0) {
        Sample("job.bin", m.jobs().jobs(0).SerializeAsString(), &c.job_sampled);
      }
      AgentMessage out;
      for (const v1::Job& job : m.jobs().jobs()) {
        v1::JobResult* r = out.mutable_results()->add_results();
        r->set_job_id(job.job_id());
        r->set_outcome(v1::APPLIED);
        r->set_dn(agent_->Dn(job.mailbox_id()));
        r->set_dc(agent_->Dc());
        r->set_duration_ms(1);
      }
      c.jobs += m.jobs().jobs_size();
      c.results_bytes += static_cast<int64_t>(out.ByteSizeLong());
      Answer(std::move(out));
      c.last_answer_us = NowUs();
      return;
    }
    case ControllerMessage::kReadRequest: {
      int64_t expected = 0;
      c.first_work_us.compare_exchange_strong(expected, NowUs());
      c.read_requests++;
      c.read_bytes += static_cast<int64_t>(m.ByteSizeLong());
      Sample("read.bin", m.read_request().SerializeAsString(), &c.read_sampled);
      AgentMessage out;
      out.mutable_observed()->set_request_id(m.read_request().request_id());
      for (const v1::ReadTarget& t : m.read_request().targets()) {
        v1::ObservedObject* o = out.mutable_observed()->add_objects();
        o->set_mailbox_id(t.mailbox_id());
        o->set_source_anchor(t.source_anchor());
        o->set_object_guid(t.source_anchor());
        o->set_dn(agent_->Dn(t.mailbox_id()));
        *o->mutable_attributes() = shared_->fresh_object;
        o->set_usn_changed(4242);
        o->set_when_changed("20261124090000.0Z");
        o->set_dc(agent_->Dc());
      }
      c.reads += m.read_request().targets_size();
      c.observed_bytes += static_cast<int64_t>(out.ByteSizeLong());
      Answer(std::move(out));
      c.last_answer_us = NowUs();
      return;
    }
    case ControllerMessage::kScan: {  // no objects in scope: an empty, complete pass
      c.scans++;
      AgentMessage out;
      out.mutable_scan_page()->set_scan_id(m.scan().scan_id());
      out.mutable_scan_page()->set_last(true);
      Send(std::move(out));
      return;
    }
    default:
      return;  // heartbeats need no answer; Drain is not used here
  }
}

}  // namespace writeback::bench
