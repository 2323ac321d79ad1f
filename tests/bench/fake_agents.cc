// fake_agents: many writeback agents without a directory, for the controller
// benchmark (tests/bench/controller_bench.sh). Each agent has its own channel
// (a distinct channel argument and a local subchannel pool: its own TCP and
// TLS connection) and its own client certificate from the benchmark's PKI
// (bench_estate.h), opens AgentGateway.Connect, says Hello (protocol 3, the
// real agent's default credit of 64), heartbeats at the Welcome's interval
// and answers at once what a real agent answers after a successful LDAP
// operation: a ReadRequest with an Observed object (every allowlisted
// attribute, all absent: a fresh object), a JobBatch with one JobResults
// (APPLIED, dn, dc), a ScanRequest with an empty complete last page.
//
//   fake_agents --make_pki --pki_dir=DIR --forests=10 --agents_per_forest=100
//   fake_agents --target=127.0.0.1:PORT --server_ca=trust.pem --pki_dir=DIR
//       --forests=10 --agents_per_forest=100 [--first=0 --count=1000]
//       [--max_in_flight=64] [--connect_per_s=0] [--answer_delay_ms=0] [--stats_file=F]
//       [--ready_file=F]
//       [--sample_dir=D]
//
// Runs until SIGTERM or SIGINT, then writes its counters as one JSON object
// to --stats_file (also rewritten every second) and exits. --ready_file is
// written once every agent got its first Welcome. A stream that ends is
// opened again after a backoff, as the real agent does. --sample_dir receives the first
// Job and ReadRequest seen (binary protobuf), which grpc_echo replays.
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/attributes/catalog.h"
#include "common/base/files.h"
#include "common/base/program.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/bench_estate.h"
#include "writeback/v1/agent.grpc.pb.h"

ABSL_FLAG(bool, make_pki, false, "Create the benchmark PKI in --pki_dir and exit.");
ABSL_FLAG(std::string, pki_dir, "", "The benchmark PKI (bench_estate.h).");
ABSL_FLAG(int, forests, 10, "Forests of the estate.");
ABSL_FLAG(int, agents_per_forest, 100, "Agents per forest.");
ABSL_FLAG(int, first, 0, "First agent (0-based over all forests) this process runs.");
ABSL_FLAG(int, count, -1, "How many agents this process runs (-1: all from --first).");
ABSL_FLAG(std::string, target, "", "host:port of the agent listener.");
ABSL_FLAG(std::string, server_ca, "", "PEM CA that verifies the server.");
ABSL_FLAG(int, max_in_flight, 64, "Credit announced in Hello (the real agent's default).");
ABSL_FLAG(std::string, stats_file, "", "Counters as JSON, every second and at exit.");
ABSL_FLAG(std::string, ready_file, "", "Written once every agent got its Welcome.");
ABSL_FLAG(std::string, sample_dir, "", "Where to save the first Job and ReadRequest.");
ABSL_FLAG(int, answer_delay_ms, 0,
          "Answer this long after the work arrived (an agent busy writing; 0: at once).");
ABSL_FLAG(int, connect_per_s, 0, "Agents that connect per second at start (0: all at once).");

namespace writeback::bench {
namespace {

using v1::AgentMessage;
using v1::ControllerMessage;

int64_t NowUs() { return absl::GetCurrentTimeNanos() / 1000; }

struct Counters {
  std::atomic<int64_t> jobs{0}, reads{0}, job_batches{0}, read_requests{0}, scans{0};
  std::atomic<int64_t> job_batch_bytes{0}, results_bytes{0}, read_bytes{0}, observed_bytes{0};
  std::atomic<int64_t> welcomed{0}, ended{0}, heartbeats{0}, reconnects{0}, agents_welcomed{0};
  std::atomic<int64_t> first_work_us{0}, last_answer_us{0};
  std::atomic<bool> job_sampled{false}, read_sampled{false};
};

struct Shared {
  Counters counters;
  v1::AttributeMap fresh_object;  // every allowlisted attribute, absent
  std::string sample_dir;
  absl::Duration answer_delay;  // a directory's pace; zero: at once
};

class FakeAgent;

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
    AgentMessage* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      if (!ok) queue_.clear();
      if (queue_.empty()) {
        writing_ = false;
      } else {
        next = &queue_.front();
      }
    }
    if (next != nullptr) StartWrite(next);
  }
  void OnDone(const grpc::Status& status) override;

 private:
  void Send(AgentMessage message) {
    AgentMessage* next;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      queue_.push_back(std::move(message));
      if (writing_) return;
      writing_ = true;
      next = &queue_.front();
    }
    StartWrite(next);
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

  absl::Mutex mu_;
  std::deque<AgentMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, AgentMessage>> delayed_ ABSL_GUARDED_BY(mu_);
};

// One agent: its channel (own connection and certificate) and its current
// stream. A stream that ends is opened again after a backoff, as the real
// agent does (0.5 s doubling to 5 s, times a random factor in [0.5, 1)).
class FakeAgent {
 public:
  FakeAgent(std::string id, std::string forest, std::shared_ptr<grpc::Channel> channel,
            uint32_t credit, Shared* shared, absl::Time first_connect)
      : id_(std::move(id)),
        forest_(std::move(forest)),
        stub_(v1::AgentGateway::NewStub(channel)),
        credit_(credit),
        shared_(shared),
        rng_(std::hash<std::string>()(id_)),
        reconnect_at_(first_connect) {}

  // Ticker thread: heartbeats, and reconnects when due.
  void Tick(absl::Time now) {
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
  // From the stream: it got its Welcome / it ended (and deletes itself).
  void Welcomed() {
    absl::MutexLock lock(&mu_);
    backoff_ = absl::Milliseconds(500);
    if (!welcomed_once_) shared_->counters.agents_welcomed++;
    welcomed_once_ = true;
  }
  void Ended() {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    reconnect_at_ = absl::Now() + backoff_ * std::uniform_real_distribution<double>(0.5, 1)(rng_);
    backoff_ = std::min(backoff_ * 2, absl::Seconds(5));
  }
  const std::string& id() const { return id_; }
  std::string Dn(const std::string& mailbox_id) const {
    return absl::StrCat("CN=", mailbox_id, ",OU=Mailboxes,DC=", forest_);
  }
  std::string Dc() const { return absl::StrCat("ldaps://dc1.", forest_); }

 private:
  const std::string id_;
  const std::string forest_;
  std::unique_ptr<v1::AgentGateway::Stub> stub_;
  const uint32_t credit_;
  Shared* const shared_;
  absl::Mutex mu_;
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  absl::Time reconnect_at_ ABSL_GUARDED_BY(mu_);
  bool connected_once_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::Milliseconds(500);
  bool welcomed_once_ ABSL_GUARDED_BY(mu_) = false;
};

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

void WriteStats(const std::string& path, const Counters& c, int agents) {
  if (path.empty()) return;
  std::string json = absl::StrFormat(
      "{\"agents\":%d,\"sessions\":%d,\"ended\":%d,\"reconnects\":%d,\"jobs\":%d,\"reads\":%d,"
      "\"job_batches\":%d,"
      "\"read_requests\":%d,\"scans\":%d,\"heartbeats\":%d,\"job_batch_bytes\":%d,"
      "\"results_bytes\":%d,\"read_bytes\":%d,\"observed_bytes\":%d,\"first_work_us\":%d,"
      "\"last_answer_us\":%d}\n",
      agents, c.welcomed.load(), c.ended.load(), c.reconnects.load(), c.jobs.load(), c.reads.load(),
      c.job_batches.load(), c.read_requests.load(), c.scans.load(), c.heartbeats.load(),
      c.job_batch_bytes.load(), c.results_bytes.load(), c.read_bytes.load(),
      c.observed_bytes.load(), c.first_work_us.load(), c.last_answer_us.load());
  WriteFileAtomically(path, json).IgnoreError();
}

int Run() {
  Estate estate;
  estate.forests = absl::GetFlag(FLAGS_forests);
  estate.agents_per_forest = absl::GetFlag(FLAGS_agents_per_forest);
  const std::string pki_dir = absl::GetFlag(FLAGS_pki_dir);
  if (absl::GetFlag(FLAGS_make_pki)) {
    absl::Status s = MakeBenchPki(pki_dir, estate);
    if (!s.ok()) fprintf(stderr, "fake_agents: %s\n", std::string(s.message()).c_str());
    return s.ok() ? 0 : 1;
  }
  const int first = absl::GetFlag(FLAGS_first);
  int count = absl::GetFlag(FLAGS_count);
  if (count < 0) count = estate.agents() - first;
  auto ca = ReadFileToString(absl::GetFlag(FLAGS_server_ca));
  if (!ca.ok() || absl::GetFlag(FLAGS_target).empty() || first < 0 ||
      first + count > estate.agents()) {
    fprintf(stderr, "fake_agents: need --target, a readable --server_ca and a valid range\n");
    return 2;
  }
  auto shared = std::make_unique<Shared>();
  shared->sample_dir = absl::GetFlag(FLAGS_sample_dir);
  shared->answer_delay = absl::Milliseconds(absl::GetFlag(FLAGS_answer_delay_ms));
  for (const std::string& name : AttributeCatalog::Default().DefaultAllowlist()) {
    (*shared->fresh_object.mutable_attributes())[name];
  }
  std::vector<std::unique_ptr<FakeAgent>> agents;
  const absl::Time start = absl::Now();
  const int per_s = absl::GetFlag(FLAGS_connect_per_s);
  for (int k = first; k < first + count; ++k) {
    auto creds = LoadAgentCredentials(pki_dir, estate, k);
    if (!creds.ok()) {
      fprintf(stderr, "fake_agents: %s\n", std::string(creds.status().message()).c_str());
      return 1;
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ca;
    ssl.pem_cert_chain = creds->cert_pem;
    ssl.pem_private_key = creds->key_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetString("writeback.bench.agent", estate.AgentId(k));  // no shared connection
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    auto channel =
        grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), grpc::SslCredentials(ssl), args);
    agents.push_back(std::make_unique<FakeAgent>(
        estate.AgentId(k), estate.ForestName(estate.ForestOfAgent(k)), channel,
        absl::GetFlag(FLAGS_max_in_flight), shared.get(),
        per_s > 0 ? start + absl::Seconds(1) * (k - first) / per_s : start));
  }
  const std::string stats_file = absl::GetFlag(FLAGS_stats_file);
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    bool ready = false;
    absl::Time next_stats = absl::Now();
    while (!stop) {
      absl::Time now = absl::Now();
      for (auto& a : agents) a->Tick(now);
      if (!ready && shared->counters.agents_welcomed.load() >= count) {
        ready = true;
        fprintf(stderr, "fake_agents: %d agents welcomed\n", count);
        if (!absl::GetFlag(FLAGS_ready_file).empty()) {
          WriteFileAtomically(absl::GetFlag(FLAGS_ready_file), "ready\n").IgnoreError();
        }
      }
      if (now >= next_stats) {
        WriteStats(stats_file, shared->counters, count);
        next_stats = now + absl::Seconds(1);
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  WaitForTerminationSignal();
  stop = true;
  ticker.join();
  WriteStats(stats_file, shared->counters, count);
  fflush(stderr);
  std::_Exit(0);  // 1,000 live streams: no orderly teardown needed for a load tool
}

}  // namespace
}  // namespace writeback::bench

int main(int argc, char** argv) {
  writeback::InitProgram(argc, argv, "fake_agents",
                         "Many directory-less writeback agents for the controller benchmark.",
                         /*daemon=*/true);
  return writeback::bench::Run();
}
