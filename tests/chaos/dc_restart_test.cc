// Chaos scenario 4 (DESIGN §9): the DC is stopped while changes flow (jobs
// out with the agents fail or stay unanswered) and restarted a few seconds
// later; the cloud keeps sending changes meanwhile. The controller's failure
// guard may pause the forest on the burst of failed jobs (forest_pause_test):
// that is the designed outcome, and ChaosWorkload::WaitConverged resumes the
// forest as an operator would, saying so. The invariant
// (tests/chaos/invariants.h) follows.
#include <iostream>

#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

constexpr absl::Duration kOutage = absl::Seconds(3);

TEST(ChaosDcRestartTest, DcStoppedAndRestartedWhileChangesFlowLosesNothing) {
  WritebackEnv env;
  ASSERT_OK(StartTwoAgentEstate(env));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();
  ASSERT_OK(work.WaitMidStream(work.total_changes() / 2, work.sizes().mailboxes / 4))
      << env.LogsForFailure();
  ASSERT_OK(env.dc().Stop());
  std::cout << "DC stopped after " << work.changes_sent() << " of " << work.total_changes()
            << " changes were accepted" << std::endl;
  absl::SleepFor(kOutage);
  ASSERT_OK(env.dc().Restart());
  std::cout << "DC restarted; " << work.changes_sent() << " changes accepted by then" << std::endl;

  ASSERT_OK(work.WaitChangesSent());
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();
  EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
}

}  // namespace
}  // namespace writeback::testing
