// grpc_echo: the transport's limit for the controller benchmark
// (controller_bench.sh). A plain gRPC bidi server over mutual TLS that
// speaks AgentGateway.Connect with nothing behind it: no store, no
// placement, no dispatcher. Each stream gets a Welcome, heartbeat echoes,
// and, within the agent's credit, the same messages the controller sent in
// the measured run: per round B single-target ReadRequests and one JobBatch
// of B Jobs (B = the controller's mean jobs per batch), built from the Job
// and ReadRequest fake_agents sampled, with fresh ids. The clients are
// fake_agents, unchanged, so both sides of the comparison serialize the
// same protos of the same sizes over the same number of connections.
//
//   grpc_echo --pki_dir=DIR --sample_dir=D --batch=3 --streams=1000
//       --port_file=F --result_file=R [--warmup_s=2 --measure_s=10]
//
// Once --streams sessions are open it waits --warmup_s, counts answered
// items (reads + jobs) for --measure_s, writes
// {"items_per_s":X,"jobs_per_s":J,"reads_per_s":R,"seconds":S,...} to
// --result_file, and keeps serving until SIGTERM.
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/program.h"
#include "grpcpp/grpcpp.h"
#include "tests/harness/write_queue.h"
#include "writeback/v1/agent.grpc.pb.h"

ABSL_FLAG(std::string, pki_dir, "", "The benchmark PKI (server.pem/key, ca.pem).");
ABSL_FLAG(std::string, sample_dir, "", "job.bin and read.bin from fake_agents.");
ABSL_FLAG(int, batch, 1, "Jobs per JobBatch (and single-target reads per round).");
ABSL_FLAG(bool, reads, true, "Send reads as the controller does (one per job).");
ABSL_FLAG(int, streams, 1000, "Sessions to wait for before measuring.");
ABSL_FLAG(std::string, port_file, "", "Where to write the bound port.");
ABSL_FLAG(std::string, result_file, "", "Where to write the measurement (JSON).");
ABSL_FLAG(int, warmup_s, 2, "Seconds after the last session opened before measuring.");
ABSL_FLAG(int, measure_s, 10, "Seconds to measure.");

namespace writeback::bench {
namespace {

using v1::AgentMessage;
using v1::ControllerMessage;

struct Totals {
  std::atomic<int64_t> sessions{0}, jobs{0}, reads{0}, next_id{0};
};

class EchoSession : public grpc::ServerBidiReactor<AgentMessage, ControllerMessage> {
 public:
  EchoSession(const v1::Job* job, const v1::ReadRequest* read, int batch, bool reads,
              Totals* totals)
      : job_(job), read_(read), batch_(batch), reads_(reads), totals_(totals) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    switch (in_.body_case()) {
      case AgentMessage::kHello: {
        ControllerMessage w;
        w.mutable_welcome()->set_session_id(absl::StrCat("echo-", ++totals_->next_id));
        w.mutable_welcome()->set_protocol_version(3);
        w.mutable_welcome()->set_heartbeat_interval_ms(1000);
        w.mutable_welcome()->set_lease_ms(3000);
        credit_ = std::max<uint32_t>(1, in_.hello().max_in_flight());
        Send(std::move(w));
        totals_->sessions++;
        Fill(0);
        break;
      }
      case AgentMessage::kHeartbeat: {
        ControllerMessage hb;
        hb.mutable_heartbeat()->set_sequence(++heartbeats_);
        hb.mutable_heartbeat()->set_echo(in_.heartbeat().sequence());
        Send(std::move(hb));
        break;
      }
      case AgentMessage::kResults:
        totals_->jobs += in_.results().results_size();
        Fill(in_.results().results_size());
        break;
      case AgentMessage::kObserved:
        totals_->reads += in_.observed().objects_size();
        Fill(in_.observed().objects_size());
        break;
      default:
        break;
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    if (ControllerMessage* next = out_.Done(ok)) StartWrite(next);
  }

  void OnDone() override { delete this; }

 private:
  // `answered` items came back: send as many rounds as the credit allows.
  void Fill(int answered) {
    outstanding_ -= answered;
    const uint32_t round = static_cast<uint32_t>(batch_) * (reads_ ? 2 : 1);
    while (outstanding_ + round <= credit_ || (outstanding_ == 0 && round > credit_)) {
      if (reads_) {
        for (int i = 0; i < batch_; ++i) {
          ControllerMessage m;
          *m.mutable_read_request() = *read_;
          m.mutable_read_request()->set_request_id(absl::StrCat("r-e-", ++totals_->next_id));
          Send(std::move(m));
        }
      }
      ControllerMessage m;
      for (int i = 0; i < batch_; ++i) {
        v1::Job* j = m.mutable_jobs()->add_jobs();
        *j = *job_;
        j->set_job_id(absl::StrCat("j-e-", ++totals_->next_id));
      }
      Send(std::move(m));
      outstanding_ += round;
    }
  }

  void Send(ControllerMessage message) {
    if (ControllerMessage* first = out_.Push(std::move(message))) StartWrite(first);
  }

  const v1::Job* job_;
  const v1::ReadRequest* read_;
  const int batch_;
  const bool reads_;
  Totals* totals_;
  AgentMessage in_;
  uint32_t credit_ = 1;
  uint32_t outstanding_ = 0;  // reactor callbacks only: reads are serialized
  uint64_t heartbeats_ = 0;
  testing::WriteQueue<ControllerMessage> out_;
};

class EchoService : public v1::AgentGateway::CallbackService {
 public:
  EchoService(v1::Job job, v1::ReadRequest read, int batch, bool reads)
      : job_(std::move(job)), read_(std::move(read)), batch_(batch), reads_(reads) {}
  grpc::ServerBidiReactor<AgentMessage, ControllerMessage>* Connect(
      grpc::CallbackServerContext*) override {
    return new EchoSession(&job_, &read_, batch_, reads_, &totals_);
  }
  Totals& totals() { return totals_; }

 private:
  const v1::Job job_;
  const v1::ReadRequest read_;
  const int batch_;
  const bool reads_;
  Totals totals_;
};

int Run() {
  const std::string pki = absl::GetFlag(FLAGS_pki_dir);
  const std::string samples = absl::GetFlag(FLAGS_sample_dir);
  auto cert = ReadFileToString(pki + "/server.pem");
  auto key = ReadPrivateFile(pki + "/server.key");
  auto ca = ReadFileToString(pki + "/ca.pem");
  auto job_bytes = ReadFileToString(samples + "/job.bin");
  auto read_bytes = ReadFileToString(samples + "/read.bin");
  v1::Job job;
  v1::ReadRequest read;
  if (!cert.ok() || !key.ok() || !ca.ok() || !job_bytes.ok() || !read_bytes.ok() ||
      !job.ParseFromString(*job_bytes) || !read.ParseFromString(*read_bytes)) {
    fprintf(stderr, "grpc_echo: cannot read the PKI in --pki_dir or the samples in --sample_dir\n");
    return 1;
  }
  const int batch = std::max(1, absl::GetFlag(FLAGS_batch));
  EchoService service(job, read, batch, absl::GetFlag(FLAGS_reads));
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = *ca;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
  builder.RegisterService(&service);
  // As the controller's agent listener (controller/main.cc).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    fprintf(stderr, "grpc_echo: cannot listen\n");
    return 1;
  }
  WriteFileAtomically(absl::GetFlag(FLAGS_port_file), absl::StrCat(port, "\n")).IgnoreError();
  std::thread measure([&] {
    Totals& t = service.totals();
    const int streams = absl::GetFlag(FLAGS_streams);
    while (t.sessions.load() < streams) absl::SleepFor(absl::Milliseconds(50));
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_warmup_s)));
    int64_t j0 = t.jobs, r0 = t.reads;
    absl::Time t0 = absl::Now();
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_measure_s)));
    int64_t j1 = t.jobs, r1 = t.reads;
    double s = absl::ToDoubleSeconds(absl::Now() - t0);
    std::string json = absl::StrFormat(
        "{\"items_per_s\":%.1f,\"jobs_per_s\":%.1f,\"reads_per_s\":%.1f,\"seconds\":%.2f,"
        "\"streams\":%d,\"batch\":%d,\"job_bytes\":%d,\"read_request_bytes\":%d}\n",
        (j1 - j0 + r1 - r0) / s, (j1 - j0) / s, (r1 - r0) / s, s, t.sessions.load(), batch,
        job.ByteSizeLong(), read.ByteSizeLong());
    WriteFileAtomically(absl::GetFlag(FLAGS_result_file), json).IgnoreError();
    fprintf(stderr, "grpc_echo: %s", json.c_str());
  });
  WaitForTerminationSignal();
  fflush(stderr);
  std::_Exit(0);  // the measurement thread may still wait; nothing to tear down
}

}  // namespace
}  // namespace writeback::bench

int main(int argc, char** argv) {
  writeback::InitProgram(argc, argv, "grpc_echo",
                         "A plain gRPC echo of the agent stream: the controller benchmark's "
                         "transport limit.",
                         /*daemon=*/true);
  return writeback::bench::Run();
}
