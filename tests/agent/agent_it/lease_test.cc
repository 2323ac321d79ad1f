// DESIGN §4 fencing, against the real agent and DC: when the controller falls
// silent (no heartbeats) with work queued, the agent's lease runs out, it
// drops its queue, cuts the stream and sends no more writes. The DC's audit
// log shows no modify later than the lease plus the LDAP operation timeout
// (the fence after which a controller would redeliver the work elsewhere).
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

constexpr int kUsers = 300;
constexpr int kAttributesPerUser = 5;  // one job per attribute: 1500 jobs
constexpr absl::Duration kLease = absl::Milliseconds(2000);
constexpr int kLdapTimeoutMs = 2000;

// "2026-11-23T20:21:09.915420+0000" as logged by Samba's JSON audit.
absl::StatusOr<absl::Time> AuditTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S%z", text, &t, &err)) {
    return absl::InvalidArgumentError("bad audit timestamp " + text + ": " + err);
  }
  return t;
}

TEST(AgentLeaseTest, SilentControllerLetsTheLeaseExpireAndNoWriteFollows) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  TestController::Options controller_options;
  controller_options.heartbeat_interval = absl::Milliseconds(300);
  controller_options.lease = kLease;
  ASSERT_OK(env.StartController(controller_options));
  AgentItEnv::AgentOptions options;
  options.max_in_flight = kUsers * kAttributesPerUser;
  options.ldap_timeout_ms = kLdapTimeoutMs;
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(kUsers, "lease");
  ASSERT_OK(users);
  auto mark = env.AuditMark();
  ASSERT_OK(mark);
  std::set<std::string> dns;
  for (const auto& u : *users) dns.insert(absl::AsciiStrToLower(u.dn));

  std::vector<v1::Job> jobs;
  for (int a = 1; a <= kAttributesPerUser; ++a) {
    for (int i = 0; i < kUsers; ++i) {
      jobs.push_back(CasJob(absl::StrCat("lease-", i, "-", a), (*users)[i],
                            {{absl::StrCat("extensionAttribute", 10 + a), {}, {"gen-1"}}}));
    }
  }
  // Fall silent, then hand over more work than the lease lets it finish.
  env.controller().SetHeartbeats(false);
  const absl::Time silent = absl::Now();
  ASSERT_OK(env.controller().SendJobs(jobs));
  // The agent ends the session itself.
  ASSERT_OK(env.controller().WaitForDisconnect(absl::Seconds(30))) << env.AgentLog();
  absl::Time last_sent = env.controller().last_send_time();
  absl::Time cut = absl::Now();
  // The lease runs from when the agent sent the heartbeat our last echo
  // answered (protocol 2): at most one agent heartbeat interval plus one echo
  // period (half an interval) before we fell silent.
  EXPECT_GE(cut - silent, kLease - 2 * controller_options.heartbeat_interval)
      << "the agent cut the stream before its lease ran out";
  EXPECT_LE(cut - last_sent, kLease + absl::Seconds(5)) << "hang guard: the lease was not enforced";
  // It reconnects with a fresh, empty-handed session; keep that one alive.
  env.controller().SetHeartbeats(true);
  auto session = env.controller().WaitForAgent(absl::Seconds(30));
  ASSERT_OK(session) << env.AgentLog();
  EXPECT_EQ(session->number, 2);
  // Give a write that is still on its way every chance to show up.
  absl::SleepFor(absl::Milliseconds(kLdapTimeoutMs) + absl::Seconds(1));

  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  absl::Time fence = last_sent + kLease + absl::Milliseconds(kLdapTimeoutMs);
  absl::Time latest = absl::InfinitePast();
  int modifies = 0;
  for (size_t e = *mark; e < events->size(); ++e) {
    const auto& ev = (*events)[e];
    if (ev.performed_as_system) continue;
    ASSERT_EQ(ev.operation, "Modify") << ev.dn;
    ASSERT_TRUE(dns.count(absl::AsciiStrToLower(ev.dn))) << ev.dn;
    auto at = AuditTime(ev.timestamp);
    ASSERT_OK(at);
    EXPECT_LE(*at, fence) << "modify of " << ev.dn << " at " << ev.timestamp << ", "
                          << absl::FormatDuration(*at - last_sent)
                          << " after the controller's last message";
    latest = std::max(latest, *at);
    modifies++;
  }
  std::cout << modifies << " of " << jobs.size() << " jobs written; last write "
            << absl::FormatDuration(latest - last_sent) << " after the last message, lease "
            << absl::FormatDuration(kLease) << std::endl;
  EXPECT_GT(modifies, 0) << "the agent worked while its lease held";
  EXPECT_LT(modifies, static_cast<int>(jobs.size()))
      << "work was still queued when the lease ran out (else this test proves nothing)";
  // Results of the lost session are not sent: every one that did arrive
  // reports a write the audit log shows.
  std::vector<v1::JobResult> results = env.controller().TakeResults();
  int applied = 0;
  for (const auto& r : results) applied += r.outcome() == v1::APPLIED;
  EXPECT_LE(applied, modifies);
}

}  // namespace
}  // namespace writeback::testing
