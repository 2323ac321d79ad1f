// Acceptance (issue 4, #2): lease fencing against a frozen agent (DESIGN §4,
// §5 "Fencing"). Agent A holds queued writes when it is SIGSTOPped; the
// controller redelivers them to agent B after lease + LDAP timeout; the cloud
// then moves the attribute back (alpha → beta → alpha), so that AD holds
// exactly the old value A's stale jobs expect: their compare-and-swap would
// pass. Only the lease protects the directory when A resumes.
//
// The oracle is the DC's audit log. A and B bind with accounts of their own
// (SambaDc::AddAdminAccount), so the user SID of an audited write names the
// agent, and its sessionId names the LDAP connection (one per bind). Checked:
//  - no write over any of A's pre-freeze connections is dated after the
//    freeze plus A's lease (A heard its controller last before the freeze,
//    so its lease had expired by then, by A's own clock);
//  - per object, the writes of extensionAttribute1 can be given strictly
//    increasing generations (alpha carried generations 0 and 2, beta 1);
//  - AD (LDAP search) ends equal to the desired state.
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;

constexpr int kMailboxes = 48;
constexpr int kA = 1, kB = 2;
constexpr absl::Duration kLease = absl::Seconds(3);
constexpr char kControllerConfig[] =
    "lease_ms: 3000\nldap_timeout_ms: 3000\nheartbeat_interval_ms: 1000\n";
// A writes slowly, so that most of its work is still queued when it freezes.
constexpr char kSlowWrites[] = "max_writes_per_second: 4\n";
// A is frozen once the DC shows this many of its writes.
constexpr int kFreezeAfterWrites = 6;

std::string Alpha(int i) { return absl::StrCat("alpha-", i); }  // generations 0 and 2
std::string Beta(int i) { return absl::StrCat("beta-", i); }    // generation 1

// Successful modifies by `sid` so far.
int WritesBy(const std::vector<AuditEvent>& events, const std::string& sid) {
  int n = 0;
  for (const auto& e : events) n += e.operation == "Modify" && e.user_sid == sid && e.status_code == 0;
  return n;
}

absl::Status SetAll(WritebackEnv& env, const std::vector<std::string>& ids,
                    std::string (*value)(int)) {
  std::vector<v1::UpdateMailboxRequest> changes(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    changes[i].set_cloud_id(ids[i]);
    *changes[i].add_edits() = AdminClient::Set("extensionAttribute1", value(static_cast<int>(i)));
  }
  return env.Admin().UpdateMailboxes(changes);
}

TEST(SigstopFencingTest, FrozenAgentsQueuedWritesNeverReachAdAfterItsLease) {
  WritebackEnv env;
  env.set_controller_config(kControllerConfig);
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  auto account_a = env.dc().AddAdminAccount("wb-agent-a");
  ASSERT_OK(account_a);
  auto account_b = env.dc().AddAdminAccount("wb-agent-b");
  ASSERT_OK(account_b);
  // Generation 0: the value AD holds before writeback manages it.
  for (int i = 0; i < kMailboxes; ++i) {
    ASSERT_OK(env.dc().Modify((*users)[i].dn, {{"extensionAttribute1", {Alpha(i)}}}));
  }
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(kA, {kSlowWrites, account_a->dn, account_a->password_file}));
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();  // onboarding

  // Generation 1 (beta): A is the only agent, so every job is A's.
  ASSERT_OK(SetAll(env, *ids, Beta));
  absl::Time guard = absl::Now() + absl::Minutes(1);
  int written_by_a = 0;
  while (written_by_a < kFreezeAfterWrites) {
    ASSERT_LT(absl::Now(), guard) << "hang guard: A wrote " << written_by_a
                                  << env.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(20));
    auto events = env.dc().AuditEvents();
    ASSERT_OK(events);
    written_by_a = WritesBy(*events, account_a->sid);
  }
  ASSERT_OK(env.SuspendAgent(kA));
  const absl::Time frozen = absl::Now();
  auto at_freeze = env.dc().AuditEvents();
  ASSERT_OK(at_freeze);
  written_by_a = WritesBy(*at_freeze, account_a->sid);
  std::cout << "A frozen after " << written_by_a << " of " << kMailboxes << " writes" << std::endl;
  ASSERT_LT(written_by_a, kMailboxes) << "A had nothing queued: nothing would be tested";

  // B takes A's jobs over once the controller's fence has passed.
  ASSERT_OK(env.StartAgent(kB, {"", account_b->dn, account_b->password_file}));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(2))) << env.LogsForFailure();
  std::cout << "generation 1 in sync " << absl::FormatDuration(absl::Now() - frozen)
            << " after the freeze" << std::endl;
  // Generation 2 (alpha again), written by B: AD now holds what A's stale
  // jobs expect.
  ASSERT_OK(SetAll(env, *ids, Alpha));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(2))) << env.LogsForFailure();

  ASSERT_OK(env.ResumeAgent(kA));
  const absl::Time resumed = absl::Now();
  std::cout << "A resumed " << absl::FormatDuration(resumed - frozen) << " after the freeze"
            << std::endl;
  absl::SleepFor(kLease + absl::Seconds(3));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 2, absl::Seconds(60)))
      << "A did not come back" << env.LogsForFailure();
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  // AD equals the desired state (generation 2).
  auto found = env.dc().Search(env.ScopeOu(), "(objectClass=user)", {"extensionAttribute1"});
  ASSERT_OK(found);
  std::map<std::string, std::vector<std::string>> ad;
  for (auto& [dn, attrs] : *found) ad[absl::AsciiStrToLower(dn)] = attrs["extensionAttribute1"];
  for (int i = 0; i < kMailboxes; ++i) {
    EXPECT_THAT(ad[absl::AsciiStrToLower((*users)[i].dn)], ElementsAre(Alpha(i)))
        << (*users)[i].dn;
  }

  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  // Fencing: A's pre-freeze connections are silent after its lease.
  EXPECT_OK(NoWriteAfterLease(*events, account_a->sid, frozen, kLease));
  int b_writes = 0, a_after_resume = 0;
  for (const auto& e : *events) {
    b_writes += e.user_sid == account_b->sid && e.status_code == 0;
    a_after_resume += e.user_sid == account_a->sid && e.time > resumed;
  }
  std::cout << "B wrote " << b_writes << " times; A wrote " << a_after_resume
            << " times after it resumed" << std::endl;
  EXPECT_GT(b_writes, kMailboxes) << "B carried out A's redelivered jobs and generation 2";

  // Per object, writes only move to newer generations.
  auto modifies = ModifiesByDn(*events);
  for (int i = 0; i < kMailboxes; ++i) {
    EXPECT_OK(WritesMoveForward(modifies[absl::AsciiStrToLower((*users)[i].dn)],
                                "extensionAttribute1", {{Alpha(i), {0, 2}}, {Beta(i), {1}}}));
  }
}

}  // namespace
}  // namespace writeback::testing
