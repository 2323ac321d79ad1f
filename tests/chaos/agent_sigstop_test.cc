// Chaos scenario 3 (DESIGN §4–5 fencing): agent-1 is SIGSTOPped with writes
// queued while the cloud keeps changing every mailbox; agent-2 takes its work
// over once the controller's fence (lease + LDAP timeout) has passed and
// later generations are written. Only then is agent-1 resumed (SIGCONT), its
// lease long over by its own clock: none of its queued writes may reach AD.
// Each agent binds as an account of its own, so the DC's audit log names the
// writer. Checked: the frozen agent's pre-freeze LDAP sessions wrote nothing
// after freeze + lease, and the invariant (tests/chaos/invariants.h).
#include <iostream>

#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/system/audit_checks.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

constexpr absl::Duration kLease = absl::Seconds(3);  // lease_ms of kControllerConfig
// agent-1 writes slowly, so that work is still queued with it when it freezes.
constexpr char kSlowWrites[] = "max_writes_per_second: 20\n";

TEST(ChaosAgentSigstopTest, FrozenAgentsQueuedWritesNeverLandAfterItsLease) {
  WritebackEnv env;
  env.set_controller_config(ChaosWorkload::kControllerConfig);
  ASSERT_OK(env.StartDc());
  auto account_a = env.dc().AddAdminAccount("wb-agent-a");
  ASSERT_OK(account_a);
  auto account_b = env.dc().AddAdminAccount("wb-agent-b");
  ASSERT_OK(account_b);
  ASSERT_OK(env.StartController());
  WritebackEnv::AgentOptions a, b;
  a.extra_config = kSlowWrites;
  a.bind_dn = account_a->dn;
  a.password_file = account_a->password_file;
  b.bind_dn = account_b->dn;
  b.password_file = account_b->password_file;
  ASSERT_OK(env.StartAgent(1, a));
  ASSERT_OK(env.StartAgent(2, b));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();
  ASSERT_OK(work.WaitMidStream(work.total_changes() / 2, work.sizes().mailboxes / 8))
      << env.LogsForFailure();
  ASSERT_OK(env.SuspendAgent(1));
  const absl::Time frozen = absl::Now();
  std::cout << "agent-1 frozen after " << work.changes_sent() << " of " << work.total_changes()
            << " changes were accepted" << std::endl;

  // agent-2 carries everything, agent-1's redelivered work included.
  ASSERT_OK(work.WaitChangesSent());
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();
  ASSERT_GT(absl::Now(), frozen + kLease);
  ASSERT_OK(env.ResumeAgent(1));
  std::cout << "agent-1 resumed " << absl::FormatDuration(absl::Now() - frozen)
            << " after the freeze" << std::endl;
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 2, work.Guard()))
      << "agent-1 did not come back" << env.LogsForFailure();
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();

  auto lost = work.LostRecords("agent-1");
  ASSERT_OK(lost);
  std::cout << *lost << " jobs or reads of agent-1 were lost and redelivered" << std::endl;
  EXPECT_GT(*lost, 0) << "agent-1 held no work when it froze: nothing was tested";
  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  EXPECT_OK(NoWriteAfterLease(*events, account_a->sid, frozen, kLease));
  EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
}

}  // namespace
}  // namespace writeback::testing
