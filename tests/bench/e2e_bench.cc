// e2e_bench: writeback end to end on a real Samba AD DC, the figure that
// tests/bench/run.sh sets against the raw pipelined LDAP client's
// (directory_bench --mode=raw) on a DC restored from the same golden copy.
//
//   e2e_bench --agents=1|2 [--label=loopback] [--delay_ms=2.5 --delay_proxy=PATH]
//             [--latency_rate=R --latency_seconds=20] [--agent_config='max_in_flight: 256']
//
// Runs in its own network namespace (run.sh) with WB_GOLDEN_TAR a golden copy
// holding the users (samba_dc.sh users-golden), WB_CERT_DIR the test PKI and
// WB_DC_TMPDIR where the DC lives. It starts the DC, the real
// writeback-controller and N real writeback-agents (mutual TLS on loopback;
// with --delay_ms each agent reaches the DC through delay_proxy), then:
//  1. onboarding (not timed): `writebackctl mailbox import` of every user at
//     generation 1 (bench_workload.h), until all are in sync and the
//     attach-time reconciliation pass has ended;
//  2. the timed phase: an import of generation 2, from starting writebackctl
//     until the controller's last job record; every user is then searched
//     and must hold generation 2, and the provisioning log must hold one
//     APPLIED record per mailbox with applied_gen = desired_gen for all;
//  3. with --latency_rate: one change a mailbox through UpdateMailbox at that
//     rate for --latency_seconds, each timed from the controller's answer
//     (accepted, committed) to its job record (acknowledged).
// Prints one JSON line: {"bench":"e2e","label":…,"agents":…,"per_s":…,…}.
// Exit 1 with the reason on stderr when any check fails. A tool, not a test.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/e2e_phases.h"
#include "tests/bench/raw_ldap_client.h"
#include "tests/harness/process.h"

ABSL_FLAG(int, agents, 1, "agents of the forest (1..3: the test PKI's agent-1..3)");
ABSL_FLAG(std::string, label, "loopback", "name of the pass in the output");
ABSL_FLAG(double, delay_ms, 0, "delay each way between the agents and the DC (delay_proxy)");
ABSL_FLAG(std::string, delay_proxy, "", "path of the delay_proxy binary (with --delay_ms)");
ABSL_FLAG(double, latency_rate, 0, "changes per second of the latency phase (0: none)");
ABSL_FLAG(double, latency_seconds, 20, "length of the latency phase");
ABSL_FLAG(std::string, agent_config, "",
          "extra text-format AgentConfig fields for every agent, e.g. \"max_in_flight: 256\" "
          "(default: the agent's defaults)");

namespace writeback::bench {
namespace {

using testing::WritebackEnv;

absl::StatusOr<std::vector<BenchUser>> SearchUsers(WritebackEnv& env,
                                                   std::vector<RawEntry>* entries) {
  RawLdapClient::Options o;
  o.url = env.dc().url();
  o.ca_file = env.dc().ca_file();
  o.bind_dn = env.dc().admin_dn();
  WB_ASSIGN_OR_RETURN(o.password, ReadPassword(env.dc().admin_password_file()));
  WB_ASSIGN_OR_RETURN(auto client, RawLdapClient::Connect(o));
  WB_ASSIGN_OR_RETURN(*entries, client->SearchPaged(env.ScopeOu(), "(objectClass=user)",
                                                    BenchAttributes()));
  return UsersFrom(*entries);
}

// Starts delay_proxy in front of the DC's LDAPS port; returns its URL.
absl::StatusOr<std::string> StartProxy(WritebackEnv& env, double delay_ms,
                                       std::unique_ptr<testing::ChildProcess>* proxy) {
  std::string port_file = env.work_dir() + "/proxy.port";
  WB_ASSIGN_OR_RETURN(*proxy, testing::ChildProcess::Spawn(
                                  absl::GetFlag(FLAGS_delay_proxy),
                                  {"--target=127.0.0.1:636", absl::StrCat("--delay-ms=", delay_ms),
                                   "--port-file=" + port_file, "--idle-exit-s=3600"},
                                  env.work_dir() + "/proxy.log"));
  for (int i = 0; i < 200; ++i) {
    auto port = ReadFileToString(port_file);
    if (port.ok() && !port->empty()) {
      return absl::StrCat("ldaps://127.0.0.1:", absl::StripAsciiWhitespace(*port));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("delay_proxy wrote no port file");
}

absl::StatusOr<std::vector<ProcStats>> ReadAllStats(const std::vector<pid_t>& pids) {
  std::vector<ProcStats> stats;
  for (pid_t p : pids) {
    WB_ASSIGN_OR_RETURN(ProcStats s, ReadProcStats(p));
    stats.push_back(s);
  }
  return stats;
}

struct Latency {
  size_t changes = 0;
  double rate = 0;  // achieved
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

// One change per mailbox, change i due at start + i / rate, sent by a pool of
// threads so that a slow answer does not hold the next change back;
// accepted = the controller's OK (committed).
absl::StatusOr<Latency> MeasureLatency(WritebackEnv& env, const std::vector<BenchUser>& users,
                                       double rate, double seconds) {
  size_t count = std::min(users.size(), static_cast<size_t>(rate * seconds));
  std::vector<std::pair<uint64_t, int64_t>> accepted(count);  // gen, ms
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first;
  absl::Time start = absl::Now();
  std::vector<std::thread> senders;
  for (int t = 0; t < 16; ++t) {
    senders.emplace_back([&] {
      for (size_t i = next++; i < count; i = next++) {
        absl::Time due = start + absl::Seconds(i / rate);
        if (absl::Now() < due) absl::SleepFor(due - absl::Now());
        auto m = env.Admin().UpdateMailbox(
            BenchCloudId(i),
            {testing::AdminClient::Set("extensionAttribute1", "bench-latency-" + users[i].sam)});
        if (!m.ok()) {
          absl::MutexLock lock(&mu);
          if (first.ok()) first = m.status();
          return;
        }
        accepted[i] = {m->desired_gen(), absl::ToUnixMillis(absl::Now())};
      }
    });
  }
  for (std::thread& t : senders) t.join();
  WB_RETURN_IF_ERROR(first);
  double sent_s = absl::ToDoubleSeconds(absl::Now() - start);
  WB_RETURN_IF_ERROR(WaitInSync(env, users.size()));
  WB_ASSIGN_OR_RETURN(PhaseLog log, ReadPhaseLog(env, start));
  std::map<std::string, uint64_t> gens;
  std::map<std::string, int64_t> accepted_ms;
  for (size_t i = 0; i < count; ++i) {
    gens[BenchCloudId(i)] = accepted[i].first;
    accepted_ms[BenchCloudId(i)] = accepted[i].second;
  }
  WB_RETURN_IF_ERROR(CheckOneRecordPerJob(env, log, gens));
  std::vector<double> ms;
  for (const v1::ProvisioningRecord& r : log.jobs) {
    ms.push_back(static_cast<double>(r.time_ms() - accepted_ms[r.mailbox_id()]));
  }
  std::sort(ms.begin(), ms.end());
  Latency l;
  l.changes = count;
  l.rate = count / std::max(sent_s, 1e-9);
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))]; };
  if (!ms.empty()) {
    l.p50_ms = at(0.50);
    l.p99_ms = at(0.99);
    l.max_ms = ms.back();
  }
  return l;
}

absl::Status Run() {
  const int agents = absl::GetFlag(FLAGS_agents);
  const double delay_ms = absl::GetFlag(FLAGS_delay_ms);
  WritebackEnv env;
  WB_RETURN_IF_ERROR(env.StartDc());
  std::vector<RawEntry> entries;
  WB_ASSIGN_OR_RETURN(std::vector<BenchUser> users, SearchUsers(env, &entries));
  if (users.empty()) return absl::FailedPreconditionError("no users in the golden copy");
  if (CountAtGeneration(entries, 0) != users.size()) {
    return absl::FailedPreconditionError("the users are not in their initial state");
  }
  WB_RETURN_IF_ERROR(env.StartController());
  WB_RETURN_IF_ERROR(env.AddForest());
  std::unique_ptr<testing::ChildProcess> proxy;
  WritebackEnv::AgentOptions agent_options;
  agent_options.extra_config = absl::GetFlag(FLAGS_agent_config);
  if (delay_ms > 0) {
    WB_ASSIGN_OR_RETURN(agent_options.ldap_url, StartProxy(env, delay_ms, &proxy));
  }
  for (int a = 1; a <= agents; ++a) WB_RETURN_IF_ERROR(env.StartAgent(a, agent_options));
  WB_RETURN_IF_ERROR(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, agents,
                                                     absl::Seconds(60)));
  fprintf(stderr, "e2e: %zu users, %d agent(s), %s: onboarding\n", users.size(), agents,
          absl::GetFlag(FLAGS_label).c_str());

  const std::string g1 = env.work_dir() + "/import-g1.jsonl";
  const std::string g2 = env.work_dir() + "/import-g2.jsonl";
  WB_RETURN_IF_ERROR(WriteImportFile(g1, users, 1));
  WB_RETURN_IF_ERROR(WriteImportFile(g2, users, 2));
  WB_RETURN_IF_ERROR(RunImport(env, g1));
  WB_RETURN_IF_ERROR(WaitInSync(env, users.size()));
  WB_RETURN_IF_ERROR(WaitForScan(env, absl::Minutes(10)));

  fprintf(stderr, "e2e: timed phase\n");
  std::vector<pid_t> pids = {env.controller().pid()};
  for (int a = 1; a <= agents; ++a) pids.push_back(env.agent(a).pid());
  WB_ASSIGN_OR_RETURN(std::vector<ProcStats> before, ReadAllStats(pids));
  absl::Time t0 = absl::Now();
  WB_RETURN_IF_ERROR(RunImport(env, g2));
  WB_RETURN_IF_ERROR(WaitInSync(env, users.size()));
  WB_ASSIGN_OR_RETURN(std::vector<ProcStats> after, ReadAllStats(pids));
  WB_ASSIGN_OR_RETURN(PhaseLog log, ReadPhaseLog(env, t0));
  std::map<std::string, uint64_t> gens;
  WB_ASSIGN_OR_RETURN(std::vector<v1::Mailbox> mailboxes, env.Admin().ListMailboxes());
  for (const v1::Mailbox& m : mailboxes) gens[m.cloud_id()] = m.desired_gen();
  WB_RETURN_IF_ERROR(CheckOneRecordPerJob(env, log, gens));
  WB_ASSIGN_OR_RETURN(users, SearchUsers(env, &entries));
  size_t verified = CountAtGeneration(entries, 2);
  if (verified != users.size()) {
    return absl::InternalError(absl::StrCat("a search finds ", verified, " of ", users.size(),
                                            " users at generation 2"));
  }
  const double seconds = std::max(1e-3, (log.last_ms - absl::ToUnixMillis(t0)) / 1000.0);
  const double k_jobs = users.size() / 1000.0;
  double agent_cpu = 0, agent_peak = 0;
  for (size_t i = 1; i < pids.size(); ++i) {
    agent_cpu += after[i].cpu_s - before[i].cpu_s;
    agent_peak = std::max(agent_peak, after[i].peak_mb);
  }
  std::string line = absl::StrFormat(
      "{\"bench\":\"e2e\",\"label\":%s,\"agents\":%d,\"users\":%d,\"jobs\":%d,"
      "\"verified\":%d,\"seconds\":%.3f,\"per_s\":%.1f,\"controller_rss_mb\":%.1f,"
      "\"agent_rss_mb\":%.1f,\"controller_cpu_s_per_1k_jobs\":%.3f,"
      "\"agent_cpu_s_per_1k_jobs\":%.3f",
      JsonString(absl::GetFlag(FLAGS_label)), agents, users.size(), log.jobs.size(), verified,
      seconds, users.size() / seconds, after[0].peak_mb, agent_peak,
      (after[0].cpu_s - before[0].cpu_s) / k_jobs, agent_cpu / k_jobs);

  if (double rate = absl::GetFlag(FLAGS_latency_rate); rate > 0) {
    fprintf(stderr, "e2e: latency at %.0f changes/s\n", rate);
    WB_ASSIGN_OR_RETURN(Latency l, MeasureLatency(env, users, rate,
                                                  absl::GetFlag(FLAGS_latency_seconds)));
    absl::StrAppendFormat(&line,
                          ",\"latency_changes\":%d,\"latency_rate\":%.1f,\"latency_p50_ms\":%.1f"
                          ",\"latency_p99_ms\":%.1f,\"latency_max_ms\":%.1f",
                          l.changes, l.rate, l.p50_ms, l.p99_ms, l.max_ms);
  }
  printf("%s}\n", line.c_str());
  fflush(stdout);
  return absl::OkStatus();
}

}  // namespace
}  // namespace writeback::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::Status s = writeback::bench::Run();
  if (!s.ok()) {
    fprintf(stderr, "e2e_bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
