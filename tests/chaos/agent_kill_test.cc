// Chaos scenario 1 (DESIGN §9): an agent is SIGKILLed while it holds jobs.
// Two agents share the forest while the cloud sends several generations of
// changes to every mailbox; agent-2 is killed mid-stream (jobs out with it,
// shown by the controller's "lost" records) and started again at once. The
// invariant (tests/chaos/invariants.h): nothing lost, no stale write, AD
// equal to the desired state.
#include <iostream>

#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

TEST(ChaosAgentKillTest, AgentKilledWithJobsInFlightLosesNothing) {
  WritebackEnv env;
  ASSERT_OK(StartTwoAgentEstate(env));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();
  ASSERT_OK(work.WaitMidStream(work.total_changes() / 2, work.sizes().mailboxes / 4))
      << env.LogsForFailure();
  ASSERT_OK(env.KillAgent(2));
  std::cout << "agent-2 killed after " << work.changes_sent() << " of " << work.total_changes()
            << " changes were accepted" << std::endl;
  ASSERT_OK(env.StartAgent(2));

  ASSERT_OK(work.WaitChangesSent());
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();
  auto lost = work.LostRecords("agent-2");
  ASSERT_OK(lost);
  std::cout << *lost << " jobs or reads of agent-2 were lost and redelivered" << std::endl;
  EXPECT_GT(*lost, 0) << "agent-2 held no work when it was killed: nothing was tested";
  EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
}

}  // namespace
}  // namespace writeback::testing
