// One fake writeback agent of the controller benchmark (fake_agents.cc runs
// many): its own channel (own TCP and TLS connection, own certificate) and
// its current AgentGateway.Connect stream, a callback reactor that answers
// at once (or after Shared::answer_delay) what a real agent answers after a
// successful LDAP operation: ReadRequest -> Observed (DN, DC, every
// allowlisted attribute, all absent), JobBatch -> one JobResults (APPLIED,
// DN, DC), ScanRequest -> an empty complete last page. A stream that ends is
// opened again after the real agent's backoff.
//
//   Shared shared;   // counters and options of all agents of the process
//   FakeAgent a(id, forest, channel, /*credit=*/64, &shared, absl::Now());
//   while (running) { a.Tick(absl::Now()); absl::SleepFor(absl::Milliseconds(50)); }
//
// Tick is called from one thread; the rest from gRPC's. Thread-safe.
#ifndef WRITEBACK_TESTS_BENCH_FAKE_AGENT_H_
#define WRITEBACK_TESTS_BENCH_FAKE_AGENT_H_

#include <atomic>
#include <memory>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::bench {

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

class Stream;  // fake_agent.cc

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
  void Tick(absl::Time now);
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

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_FAKE_AGENT_H_
