// Acceptance (issue 4, #3): 3,000 changes are accepted while two agents work;
// the controller is SIGKILLed mid-run (some jobs acknowledged, some out with
// the agents, some not sent yet) and restarted. Every accepted change is
// still the desired state, and AD ends equal to it (LDAP search).
#include <atomic>
#include <iostream>
#include <map>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;

constexpr int kMailboxes = 3000;
constexpr int kAgents = 2;
// The kill comes once this many jobs were acknowledged: some but not all.
constexpr int kKillAfterApplied = 1000;
constexpr char kControllerConfig[] =
    "lease_ms: 3000\nldap_timeout_ms: 3000\nheartbeat_interval_ms: 1000\n";

std::string Value(int i) { return absl::StrCat("kill-", i, "-gen-1"); }

TEST(ControllerKillTest, AcceptedChangesSurviveAKillMidRun) {
  WritebackEnv env;
  env.set_controller_config(kControllerConfig);
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  for (int n = 1; n <= kAgents; ++n) ASSERT_OK(env.StartAgent(n));
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();  // onboarding

  // Changes are accepted from another thread while the agents work. A call
  // cut by the kill is sent again once the controller is back (setting the
  // same value twice is one change), so that every change ends up accepted.
  const absl::Time start = absl::Now();
  std::atomic<int> accepted{0};
  std::string submit_error;
  std::thread submitter([&] {
    for (int i = 0; i < kMailboxes; ++i) {
      while (true) {
        auto m = env.Admin().UpdateMailbox((*ids)[i], {AdminClient::Set("extensionAttribute2",
                                                                        Value(i))});
        if (m.ok()) break;
        if (absl::Now() - start > absl::Minutes(3)) {  // hang guard
          submit_error = absl::StrCat("change of ", (*ids)[i], ": ", m.status().ToString());
          return;
        }
        absl::SleepFor(absl::Milliseconds(100));
      }
      accepted++;
    }
  });
  absl::Cleanup join_submitter = [&] {  // also when an assertion ends the test early
    if (submitter.joinable()) submitter.join();
  };
  v1::ListProvisioningLogRequest applied;
  applied.set_outcome(v1::APPLIED);
  while (true) {
    auto n = env.Admin().CountLog(applied, kKillAfterApplied);
    ASSERT_OK(n);
    if (*n >= kKillAfterApplied) break;
    ASSERT_LT(absl::Now() - start, absl::Minutes(3)) << "hang guard" << env.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_OK(env.KillController());
  const int64_t kill_ms = absl::ToUnixMillis(absl::Now());
  std::cout << "controller killed after " << accepted << " accepted changes, "
            << absl::FormatDuration(absl::Now() - start) << " after the first" << std::endl;
  ASSERT_OK(env.StartController());
  submitter.join();
  ASSERT_TRUE(submit_error.empty()) << submit_error;
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();
  std::cout << "all in sync " << absl::FormatDuration(absl::Now() - start)
            << " after the first change" << std::endl;

  // The kill came mid-run.
  auto log = env.Admin().ProvisioningLog();
  ASSERT_OK(log);
  int acknowledged_before = 0;
  for (const auto& r : *log) {
    acknowledged_before += r.kind() == "job" && r.time_ms() <= kill_ms &&
                           (r.outcome() == v1::APPLIED || r.outcome() == v1::ALREADY_IN_STATE);
  }
  std::cout << acknowledged_before << " jobs acknowledged before the kill" << std::endl;
  ASSERT_LT(acknowledged_before, kMailboxes) << "all done before the kill: nothing was tested";

  // Every accepted change is the desired state...
  auto mailboxes = env.Admin().ListMailboxes();
  ASSERT_OK(mailboxes);
  ASSERT_EQ(mailboxes->size(), static_cast<size_t>(kMailboxes));
  std::map<std::string, const v1::Mailbox*> by_id;
  for (const auto& m : *mailboxes) by_id[m.cloud_id()] = &m;
  for (int i = 0; i < kMailboxes; ++i) {
    const v1::Mailbox* m = by_id[(*ids)[i]];
    ASSERT_NE(m, nullptr) << (*ids)[i];
    auto it = m->desired().attributes().find("extensionAttribute2");
    ASSERT_TRUE(it != m->desired().attributes().end()) << (*ids)[i] << " lost its change";
    EXPECT_THAT(it->second.values(), ElementsAre(Value(i))) << (*ids)[i];
    EXPECT_EQ(m->desired_gen(), 1u) << (*ids)[i] << ": one change, one generation";
  }
  // ... and AD holds it.
  auto found = env.dc().Search(env.ScopeOu(), "(objectClass=user)", {"extensionAttribute2"});
  ASSERT_OK(found);
  std::map<std::string, std::vector<std::string>> ad;
  for (auto& [dn, attrs] : *found) ad[absl::AsciiStrToLower(dn)] = attrs["extensionAttribute2"];
  for (int i = 0; i < kMailboxes; ++i) {
    EXPECT_THAT(ad[absl::AsciiStrToLower((*users)[i].dn)], ElementsAre(Value(i)))
        << (*users)[i].dn;
  }
}

}  // namespace
}  // namespace writeback::testing
