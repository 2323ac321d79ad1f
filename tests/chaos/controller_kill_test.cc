// Chaos scenario 2 (DESIGN §9): the controller is SIGKILLed while jobs are
// out with the agents and changes are still being accepted, then started
// again on the same store. Changes cut by the kill are sent again (setting the
// same values twice is one change). The invariant (tests/chaos/invariants.h):
// every accepted change is still desired and reaches AD, no stale write.
#include <iostream>

#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

TEST(ChaosControllerKillTest, ControllerKilledWithJobsInFlightLosesNothing) {
  WritebackEnv env;
  ASSERT_OK(StartTwoAgentEstate(env));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();
  ASSERT_OK(work.WaitMidStream(work.total_changes() / 2, work.sizes().mailboxes / 4))
      << env.LogsForFailure();
  ASSERT_OK(env.KillController());
  const int sent_at_kill = work.changes_sent();
  std::cout << "controller killed after " << sent_at_kill << " of " << work.total_changes()
            << " changes were accepted" << std::endl;
  ASSERT_OK(env.StartController());

  ASSERT_OK(work.WaitChangesSent());
  EXPECT_LT(sent_at_kill, work.total_changes()) << "every change was in before the kill";
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();
  EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
}

}  // namespace
}  // namespace writeback::testing
