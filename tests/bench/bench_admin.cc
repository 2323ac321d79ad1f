// bench_admin: the controller benchmark's Admin API client
// (controller_bench.sh). Everything goes through the real Admin API with the
// controller's local operator token, as writebackctl would.
//
//   bench_admin load     --mailboxes=N   forests added, N mailboxes imported
//                                        (ImportMailboxes, 5,000 a call)
//   bench_admin pause | resume           every forest (placement off / on)
//   bench_admin wait     --fraction=1    until that share of N is IN_SYNC
//                                        (exit 3 after --stall_s without progress)
//   bench_admin failover --agent=ID --since_ms=T
//                                        until the work the agent lost is
//                                        answered by other agents
//   bench_admin check    --stats=F       the final check (below)
// Common flags: --admin=127.0.0.1:PORT --token_file=F --forests
// --agents_per_forest --mailboxes. Results are JSON lines on stdout,
// progress on stderr; exit status 1 when a check fails.
//
// The final check reads the whole provisioning log (ExportProvisioningLog)
// and every mailbox (ListMailboxes per forest) and fails unless: every
// mailbox is IN_SYNC with applied_gen == desired_gen; no job or read id has
// two records; a mailbox that lost no work has exactly one read record and
// one APPLIED job record; and the records of the agents in --stats (the
// fake_agents process that survived) are the jobs and reads it answered
// (an answer that reached a session already ended is recorded as lost).
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/base/program.h"
#include "controller/ctl/credentials.h"
#include "tests/bench/bench_check.h"
#include "tests/bench/bench_estate.h"
#include "writeback/v1/admin.grpc.pb.h"

ABSL_FLAG(std::string, admin, "", "host:port of the Admin API.");
ABSL_FLAG(std::string, token_file, "", "The controller's local operator token.");
ABSL_FLAG(int, forests, 10, "Forests of the estate.");
ABSL_FLAG(int, agents_per_forest, 100, "Agents per forest.");
ABSL_FLAG(int64_t, mailboxes, 1000, "Mailboxes of the estate.");
ABSL_FLAG(int, batch, 5000, "load: entries per ImportMailboxes call.");
ABSL_FLAG(double, fraction, 1.0, "wait: the share of mailboxes IN_SYNC to wait for.");
ABSL_FLAG(int, guard_s, 3600, "wait, failover: give up after this many seconds.");
ABSL_FLAG(int, stall_s, 60, "wait: give up (exit 3) when no mailbox got in sync for this long.");
ABSL_FLAG(std::string, agent, "", "failover: the agent that was killed.");
ABSL_FLAG(int64_t, since_ms, 0, "failover: when it was killed (Unix ms).");
ABSL_FLAG(std::string, stats, "", "check: the surviving fake_agents' stats file.");

namespace writeback::bench {
namespace {

using v1::AdminService;

void Deadline(grpc::ClientContext* c, int seconds) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

int Fail(const std::string& what, const grpc::Status& s) {
  fprintf(stderr, "bench_admin: %s: %s\n", what.c_str(), s.error_message().c_str());
  return 1;
}

v1::AttributeValues Values(std::vector<std::string> values) {
  v1::AttributeValues out;
  for (auto& v : values) out.add_values(std::move(v));
  return out;
}

int Load(AdminService::Stub& stub, const Estate& e) {
  for (int f = 0; f < e.forests; ++f) {
    grpc::ClientContext c;
    Deadline(&c, 60);
    v1::AddForestRequest req;
    req.mutable_forest()->set_name(e.ForestName(f));
    req.mutable_forest()->add_scope_ous(absl::StrCat("OU=Mailboxes,DC=", e.ForestName(f)));
    v1::Forest out;
    grpc::Status s = stub.AddForest(&c, req, &out);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return Fail("AddForest", s);
  }
  const int64_t batch = std::max(1, absl::GetFlag(FLAGS_batch));
  const absl::Time t0 = absl::Now();
  std::atomic<int64_t> next{0};
  std::atomic<int> failed{0};
  auto worker = [&] {
    for (int64_t start = next.fetch_add(batch); start < e.mailboxes && failed == 0;
         start = next.fetch_add(batch)) {
      v1::ImportMailboxesRequest req;
      for (int64_t i = start; i < std::min(e.mailboxes, start + batch); ++i) {
        const std::string forest = e.ForestName(e.ForestOfMailbox(i));
        const std::string user = absl::StrFormat("u%07d", i);
        v1::ImportEntry* entry = req.add_entries();
        entry->set_line(i + 1);
        entry->set_cloud_id(e.CloudId(i));
        entry->set_forest(forest);
        entry->set_source_anchor(e.Anchor(i));
        auto& attrs = *entry->mutable_attributes()->mutable_attributes();
        attrs["mail"] = Values({absl::StrCat(user, "@", forest)});
        attrs["proxyAddresses"] = Values(
            {absl::StrCat("SMTP:", user, "@", forest), absl::StrCat("smtp:", user, ".x@", forest)});
        attrs["extensionAttribute1"] = Values({absl::StrCat("bench-", i)});
      }
      grpc::ClientContext c;
      Deadline(&c, 300);
      v1::ImportMailboxesResponse out;
      grpc::Status s = stub.ImportMailboxes(&c, req, &out);
      if (!s.ok() || !out.stored()) {
        failed++;
        fprintf(stderr, "bench_admin: import at %ld failed: %s %s\n", static_cast<long>(start),
                s.error_message().c_str(),
                out.errors_size() > 0 ? out.errors(0).message().c_str() : "");
        return;
      }
      if ((start / batch) % 20 == 0) {
        fprintf(stderr, "bench_admin: imported %ld\n", static_cast<long>(start + batch));
      }
    }
  };
  std::thread a(worker), b(worker);  // two calls in flight: build one while one commits
  a.join();
  b.join();
  if (failed > 0) return 1;
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  printf(
      "{\"metric\":\"controller_import_per_s\",\"value\":%.0f,\"mailboxes\":%ld,"
      "\"seconds\":%.1f,\"batch\":%ld}\n",
      e.mailboxes / s, static_cast<long>(e.mailboxes), s, static_cast<long>(batch));
  return 0;
}

int PauseAll(AdminService::Stub& stub, const Estate& e, bool pause) {
  for (int f = 0; f < e.forests; ++f) {
    grpc::ClientContext c;
    Deadline(&c, 60);
    v1::Forest out;
    grpc::Status s;
    if (pause) {
      v1::PauseForestRequest req;
      req.set_name(e.ForestName(f));
      req.set_reason("benchmark: waiting for every agent to connect");
      s = stub.PauseForest(&c, req, &out);
    } else {
      v1::ResumeForestRequest req;
      req.set_name(e.ForestName(f));
      s = stub.ResumeForest(&c, req, &out);
    }
    if (!s.ok()) return Fail(pause ? "PauseForest" : "ResumeForest", s);
  }
  printf("%ld\n", static_cast<long>(absl::ToUnixMillis(absl::Now())));
  return 0;
}

int Wait(AdminService::Stub& stub, const Estate& e) {
  const int64_t want = static_cast<int64_t>(absl::GetFlag(FLAGS_fraction) * e.mailboxes);
  const absl::Time guard = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_guard_s));
  absl::Time next_note = absl::Now();
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  int64_t last_in_sync = -1;
  auto result = [&](int64_t in_sync, bool stalled) {
    printf("{\"in_sync\":%ld,\"stalled\":%s,\"seconds\":%.1f}\n", static_cast<long>(in_sync),
           stalled ? "true" : "false", absl::ToDoubleSeconds(absl::Now() - start));
    return stalled ? 3 : 0;
  };
  while (true) {
    grpc::ClientContext c;
    Deadline(&c, 60);
    v1::GetStatusResponse st;
    grpc::Status s = stub.GetStatus(&c, v1::GetStatusRequest(), &st);
    if (!s.ok()) return Fail("GetStatus", s);
    int64_t in_sync = 0, paused = 0, other = 0;
    for (const auto& f : st.forests()) {
      in_sync += f.in_sync();
      paused += f.paused();
      other += f.quarantined() + f.conflicted() + f.held() + f.lifecycle();
    }
    if (in_sync >= want) return result(in_sync, false);
    if (in_sync > last_in_sync) {
      last_in_sync = in_sync;
      last_progress = absl::Now();
    } else if (absl::Now() - last_progress > absl::Seconds(absl::GetFlag(FLAGS_stall_s))) {
      fprintf(stderr, "bench_admin: no progress for %d s: %ld of %ld in sync\n",
              absl::GetFlag(FLAGS_stall_s), static_cast<long>(in_sync),
              static_cast<long>(e.mailboxes));
      return result(in_sync, true);
    }
    if (paused > 0 || other > 0) {
      fprintf(stderr, "bench_admin: %ld forests paused, %ld mailboxes stuck (quarantined, ...)\n",
              static_cast<long>(paused), static_cast<long>(other));
      return 1;
    }
    if (absl::Now() >= next_note) {
      fprintf(stderr, "bench_admin: %ld of %ld in sync, queue %ld\n", static_cast<long>(in_sync),
              static_cast<long>(e.mailboxes), static_cast<long>(st.queue_depth()));
      next_note = absl::Now() + absl::Seconds(10);
    }
    if (absl::Now() > guard) {
      fprintf(stderr, "bench_admin: gave up waiting (hang guard)\n");
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

int Failover(AdminService::Stub& stub) {
  const std::string agent = absl::GetFlag(FLAGS_agent);
  const int64_t since = absl::GetFlag(FLAGS_since_ms);
  const absl::Time guard = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_guard_s));
  // 1. The work the controller records as lost with the agent's session.
  std::vector<v1::ProvisioningRecord> lost;
  while (lost.empty()) {
    v1::ListProvisioningLogRequest f;
    f.set_agent_id(agent);
    f.set_kind("lost");
    f.set_since_ms(since);
    grpc::Status s = Export(stub, f, [&](const v1::ProvisioningRecord& r) { lost.push_back(r); });
    if (!s.ok()) return Fail("ExportProvisioningLog", s);
    if (absl::Now() > guard)
      return Fail("failover",
                  grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no lost work recorded"));
    if (lost.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  const int64_t detached_ms = lost.front().time_ms();
  // 2. Until another agent answered each piece (same kind of work), then
  //    until each mailbox is IN_SYNC again (the verification read included).
  int64_t answered_ms = 0, in_sync_ms = 0;
  int jobs = 0;
  for (const auto& r : lost) jobs += r.job_id().rfind("j-", 0) == 0;
  while (answered_ms == 0 || in_sync_ms == 0) {
    bool all_answered = true, all_in_sync = true;
    for (const auto& r : lost) {
      const bool is_job = r.job_id().rfind("j-", 0) == 0;
      v1::ListProvisioningLogRequest f;
      f.set_mailbox_id(r.mailbox_id());
      f.set_kind(is_job ? "job" : "read");
      f.set_since_ms(since);
      bool answered = false;
      grpc::Status s = Export(stub, f, [&](const v1::ProvisioningRecord& x) {
        answered |= x.agent_id() != agent &&
                    (!is_job || (x.outcome() == v1::APPLIED && x.generation() >= r.generation()));
      });
      if (!s.ok()) return Fail("ExportProvisioningLog", s);
      all_answered &= answered;
      grpc::ClientContext c;
      Deadline(&c, 60);
      v1::GetMailboxRequest req;
      req.set_cloud_id(r.mailbox_id());
      v1::Mailbox m;
      s = stub.GetMailbox(&c, req, &m);
      if (!s.ok()) return Fail("GetMailbox", s);
      all_in_sync &= m.status() == v1::IN_SYNC && m.applied_gen() == m.desired_gen();
    }
    const int64_t now = absl::ToUnixMillis(absl::Now());
    if (all_answered && answered_ms == 0) answered_ms = now;
    if (all_in_sync && in_sync_ms == 0) in_sync_ms = now;
    if (absl::Now() > guard)
      return Fail("failover",
                  grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "lost work not answered"));
    absl::SleepFor(absl::Milliseconds(100));
  }
  printf(
      "{\"lost\":%zu,\"lost_jobs\":%d,\"detached_after_s\":%.2f,\"answered_s\":%.2f,"
      "\"in_sync_s\":%.2f}\n",
      lost.size(), jobs, (detached_ms - since) / 1000.0, (answered_ms - since) / 1000.0,
      (in_sync_ms - since) / 1000.0);
  return 0;
}

}  // namespace
}  // namespace writeback::bench

int main(int argc, char** argv) {
  std::vector<char*> args = writeback::InitProgram(
      argc, argv, "bench_admin", "The controller benchmark's Admin API client.", /*daemon=*/false);
  using namespace writeback::bench;
  if (args.size() != 2) {
    fprintf(stderr, "usage: bench_admin load|pause|resume|wait|failover|check [flags]\n");
    return 2;
  }
  const std::string cmd = args[1];
  Estate e;
  e.forests = absl::GetFlag(FLAGS_forests);
  e.agents_per_forest = absl::GetFlag(FLAGS_agents_per_forest);
  e.mailboxes = absl::GetFlag(FLAGS_mailboxes);
  writeback::ctl::CtlSettings settings;
  settings.controller = absl::GetFlag(FLAGS_admin);
  settings.token_file = absl::GetFlag(FLAGS_token_file);
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(-1);
  auto channel = writeback::ctl::OpenAdminChannel(settings, channel_args);
  if (!channel.ok()) {
    fprintf(stderr, "bench_admin: %s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  auto stub = writeback::v1::AdminService::NewStub(*channel);
  if (cmd == "load") return Load(*stub, e);
  if (cmd == "pause" || cmd == "resume") return PauseAll(*stub, e, cmd == "pause");
  if (cmd == "wait") return Wait(*stub, e);
  if (cmd == "failover") return Failover(*stub);
  if (cmd == "check")
    return Check(*stub, e, absl::GetFlag(FLAGS_stats), absl::GetFlag(FLAGS_agent));
  fprintf(stderr, "bench_admin: unknown command %s\n", cmd.c_str());
  return 2;
}
