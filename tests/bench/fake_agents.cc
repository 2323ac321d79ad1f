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
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/attributes/catalog.h"
#include "common/base/files.h"
#include "common/base/program.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/bench_estate.h"
#include "tests/bench/fake_agent.h"

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
