// Acceptance (issue 4, #1): three agents share one forest and one DC; 3,000
// mailboxes change; one agent is SIGKILLed mid-run. Every mailbox still
// reaches AD (LDAP search), the work was spread evenly before the kill, and
// the provisioning log shows the killed agent's unanswered work declared
// "lost" and carried out by the other agents.
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/dispatch/dispatcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;

constexpr int kMailboxes = 3000;
constexpr int kAgents = 3;
constexpr int kKilled = 2;
// The kill comes once this many jobs were acknowledged: some but not all.
constexpr int kKillAfterApplied = 600;
constexpr char kControllerConfig[] =
    "lease_ms: 3000\nldap_timeout_ms: 3000\nheartbeat_interval_ms: 1000\n";
// Each agent's pace is capped below a third of what the DC takes even while
// other tests load the machine, so that an agent's share of acknowledgements
// shows whether the controller kept it supplied with work, not the DC's
// unevenness: Samba serves LDAP connections from four prefork workers, and an
// agent alone on its worker outruns two sharing one (uncapped: 1.26x in 1 run
// of 4; capped at 80/s, under a parallel test's load the DC made only about
// 125 writes/s in all and one agent reached 1.3x). Placement itself
// (rendezvous owners) is printed.
constexpr char kAgentConfig[] = "max_writes_per_second: 30\n";

std::string Value(int i) { return absl::StrCat("three-", i, "-gen-1"); }

bool Acknowledged(const v1::ProvisioningRecord& r) {
  return r.kind() == "job" && (r.outcome() == v1::APPLIED || r.outcome() == v1::ALREADY_IN_STATE);
}

// How many mailboxes each agent owns by rendezvous placement (all three up).
std::map<std::string, int> Owners(const std::vector<SambaDc::User>& users) {
  std::map<std::string, int> owners;
  for (const auto& u : users) {
    std::string best;
    uint64_t best_score = 0;
    for (int n = 1; n <= kAgents; ++n) {
      std::string agent = absl::StrCat("agent-", n);
      uint64_t score = controller::RendezvousScore(u.object_guid, agent);
      if (best.empty() || score > best_score) std::tie(best, best_score) = std::tie(agent, score);
    }
    owners[best]++;
  }
  return owners;
}

// Acknowledgements per agent and half second, to tell uneven placement from
// uneven pace when the share check fails.
void PrintPace(const std::vector<v1::ProvisioningRecord>& log, int64_t kill_ms) {
  int64_t first = 0;
  std::map<int64_t, std::map<std::string, int>> buckets;
  for (const auto& r : log) {
    if (!Acknowledged(r)) continue;
    if (first == 0) first = r.time_ms();
    buckets[(r.time_ms() - first) / 500][r.agent_id()]++;
  }
  for (const auto& [b, counts] : buckets) {
    std::cout << "  t+" << b * 500 << " ms:";
    for (const auto& [agent, n] : counts) std::cout << " " << agent << "=" << n;
    std::cout << std::endl;
  }
  std::cout << "  kill at t+" << kill_ms - first << " ms" << std::endl;
}

TEST(ThreeAgentsTest, KilledAgentsWorkIsRedeliveredAndEveryMailboxReachesAd) {
  WritebackEnv env;
  env.set_controller_config(kControllerConfig);
  ASSERT_OK(env.StartDc());
  absl::Time t0 = absl::Now();
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  std::cout << "AddUsers(" << kMailboxes << "): " << absl::FormatDuration(absl::Now() - t0)
            << std::endl;
  auto mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  ASSERT_OK(env.StartController());
  for (int n = 1; n <= kAgents; ++n) ASSERT_OK(env.StartAgent(n, {kAgentConfig}));
  t0 = absl::Now();
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, kAgents, absl::Seconds(60)))
      << env.LogsForFailure();
  // Onboarding reads first, so that the changes below meet three agents
  // with nothing else to do.
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();
  std::cout << "registered and onboarded " << kMailboxes << " mailboxes in "
            << absl::FormatDuration(absl::Now() - t0) << std::endl;

  std::vector<v1::UpdateMailboxRequest> changes(kMailboxes);
  for (int i = 0; i < kMailboxes; ++i) {
    changes[i].set_cloud_id((*ids)[i]);
    *changes[i].add_edits() = AdminClient::Set("extensionAttribute1", Value(i));
  }
  t0 = absl::Now();
  absl::Status submitted;
  std::thread submitter([&] { submitted = env.Admin().UpdateMailboxes(changes); });
  absl::Cleanup join_submitter = [&] {  // also when an assertion ends the test early
    if (submitter.joinable()) submitter.join();
  };
  v1::ListProvisioningLogRequest applied;
  applied.set_outcome(v1::APPLIED);
  absl::Time guard = absl::Now() + absl::Minutes(3);
  while (true) {
    auto n = env.Admin().CountLog(applied, kKillAfterApplied);
    ASSERT_OK(n);
    if (*n >= kKillAfterApplied) break;
    ASSERT_LT(absl::Now(), guard) << "hang guard: " << *n << " jobs applied"
                                  << env.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_OK(env.KillAgent(kKilled));
  const int64_t kill_ms = absl::ToUnixMillis(absl::Now());
  const std::string killed = absl::StrCat("agent-", kKilled);
  std::cout << killed << " killed " << absl::FormatDuration(absl::Now() - t0)
            << " after the changes began" << std::endl;
  submitter.join();
  ASSERT_OK(submitted);
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();
  std::cout << "all in sync " << absl::FormatDuration(absl::Now() - t0)
            << " after the changes began" << std::endl;

  // (a) The oracle: one LDAP search of the scope OU.
  auto found = env.dc().Search(env.ScopeOu(), "(objectClass=user)", {"extensionAttribute1"});
  ASSERT_OK(found);
  std::map<std::string, std::vector<std::string>> ad;
  for (auto& [dn, attrs] : *found) ad[absl::AsciiStrToLower(dn)] = attrs["extensionAttribute1"];
  for (int i = 0; i < kMailboxes; ++i) {
    EXPECT_THAT(ad[absl::AsciiStrToLower((*users)[i].dn)], ElementsAre(Value(i)))
        << (*users)[i].dn;
  }

  auto log = env.Admin().ProvisioningLog();
  ASSERT_OK(log);
  // (b) Before the kill, each agent acknowledged a third of the jobs (±25 %).
  std::map<std::string, int> share;
  int before_kill = 0;
  for (const auto& r : *log) {
    if (!Acknowledged(r) || r.time_ms() > kill_ms) continue;
    share[r.agent_id()]++;
    before_kill++;
  }
  ASSERT_LT(before_kill, kMailboxes) << "every job was done before the kill: nothing was tested";
  const double even = before_kill / static_cast<double>(kAgents);
  for (int n = 1; n <= kAgents; ++n) {
    const std::string agent = absl::StrCat("agent-", n);
    std::cout << agent << " acknowledged " << share[agent] << " of " << before_kill
              << " jobs before the kill" << std::endl;
    EXPECT_GE(share[agent], 0.75 * even) << agent;
    EXPECT_LE(share[agent], 1.25 * even) << agent;
  }
  std::cout << "placement (rendezvous owners):";
  for (const auto& [agent, n] : Owners(*users)) std::cout << " " << agent << "=" << n;
  std::cout << std::endl;
  if (::testing::Test::HasFailure()) PrintPace(*log, kill_ms);

  // (c) The killed session's unanswered work is logged as "lost" (one record
  // per job or read) and carried out afterwards by another agent, at the same
  // or a newer generation.
  std::vector<const v1::ProvisioningRecord*> lost;
  for (const auto& r : *log) {
    if (r.kind() == "lost" && r.agent_id() == killed) lost.push_back(&r);
  }
  EXPECT_FALSE(lost.empty()) << "no \"lost\" record for " << killed
                             << " (contract: one per unanswered job or read)";
  int64_t last_redelivered_ms = kill_ms;
  for (const auto* l : lost) {
    bool redelivered = false;
    for (const auto& r : *log) {
      const bool match = r.id() > l->id() && r.mailbox_id() == l->mailbox_id() &&
                         r.agent_id() != killed && r.generation() >= l->generation() &&
                         Acknowledged(r);
      if (match && !redelivered) last_redelivered_ms = std::max(last_redelivered_ms, r.time_ms());
      redelivered |= match;
    }
    EXPECT_TRUE(redelivered) << "lost job " << l->job_id() << " of mailbox " << l->mailbox_id()
                             << " (generation " << l->generation() << ") was not carried out";
  }
  // Nothing of the killed agent is dated after its death but the "lost"
  // records. Bound: the controller's first "lost" record for it, written when
  // it saw the stream end (results the agent sent just before dying may be
  // read, and dated, a few milliseconds after kill() returned); the kill time
  // itself when there is no such record.
  const int64_t bound = lost.empty() ? kill_ms : std::max(kill_ms, lost.front()->time_ms());
  int late_before_detection = 0;
  for (const auto& r : *log) {
    if (r.agent_id() != killed || r.kind() == "lost") continue;
    EXPECT_LE(r.time_ms(), bound) << r.kind() << " record " << r.job_id() << " of " << killed
                                  << " dated " << r.time_ms() - kill_ms << " ms after its kill";
    late_before_detection += r.time_ms() > kill_ms;
  }
  std::cout << "failover: the killed agent's work was all acknowledged elsewhere "
            << last_redelivered_ms - kill_ms << " ms after the kill" << std::endl;
  std::cout << lost.size() << " lost records; " << late_before_detection
            << " answers of " << killed << " recorded between kill() and the session's end"
            << std::endl;

  // The DC's audit log: every object got a successful modify, and every
  // failed modify of an object was followed by a successful one.
  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  auto modifies = ModifiesByDn(*events, mark->size());
  for (const auto& u : *users) {
    const auto& list = modifies[absl::AsciiStrToLower(u.dn)];
    bool ok_at_end = false;
    int successes = 0;
    for (const AuditEvent* e : list) {
      ok_at_end = e->status_code == 0;
      successes += e->status_code == 0;
    }
    EXPECT_GE(successes, 1) << "no successful modify of " << u.dn;
    EXPECT_TRUE(ok_at_end) << "the last modify of " << u.dn << " failed";
  }
}

}  // namespace
}  // namespace writeback::testing
