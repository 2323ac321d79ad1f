// Chaos scenario 5 (DESIGN §9 "a stream cut"): both agents reach the
// controller through a CutProxy (tests/harness/cut_proxy.h), a byte-level
// TCP forwarder, so mutual TLS stays end to end. While batches are in flight
// the proxy resets every connection (RST to both sides), twice; the agents
// reconnect through it. The controller's "lost" records show that jobs were
// out on the cut streams. Jobs that fail meanwhile (a DC that stalls past the
// LDAP timeout while redelivered work and scans pile up) may make the failure
// guard pause the forest; WaitConverged resumes it, saying so. The invariant
// (tests/chaos/invariants.h) follows.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/harness/cut_proxy.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

TEST(ChaosStreamCutTest, StreamsCutMidBatchLoseNothing) {
  WritebackEnv env;
  env.set_controller_config(ChaosWorkload::kControllerConfig);
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController());
  auto proxy = CutProxy::Start(absl::StrCat("127.0.0.1:", env.agent_port()));
  ASSERT_OK(proxy);
  WritebackEnv::AgentOptions through_proxy;
  through_proxy.controller = (*proxy)->address();
  ASSERT_OK(env.StartAgent(1, through_proxy));
  ASSERT_OK(env.StartAgent(2, through_proxy));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();
  for (int quarters : {1, 3}) {
    ASSERT_OK(work.WaitMidStream(work.total_changes() * quarters / 4,
                                 work.sizes().mailboxes * quarters / 8))
        << env.LogsForFailure();
    const int cut = (*proxy)->CutAll();
    std::cout << "cut " << cut << " connections after " << work.changes_sent() << " of "
              << work.total_changes() << " changes were accepted" << std::endl;
    EXPECT_GT(cut, 0) << "no stream ran through the proxy";
  }

  ASSERT_OK(work.WaitChangesSent());
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();
  auto lost1 = work.LostRecords("agent-1");
  ASSERT_OK(lost1);
  auto lost2 = work.LostRecords("agent-2");
  ASSERT_OK(lost2);
  std::cout << *lost1 + *lost2 << " jobs or reads were lost on cut streams and redelivered; "
            << (*proxy)->connections_accepted() << " connections through the proxy" << std::endl;
  EXPECT_GT(*lost1 + *lost2, 0) << "no work was out on the cut streams: nothing was tested";
  EXPECT_GT((*proxy)->connections_accepted(), 2) << "the agents never reconnected";
  EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
}

}  // namespace
}  // namespace writeback::testing
