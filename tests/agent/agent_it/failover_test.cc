// Issue 3, acceptance 1: a dead first DC in the agent's list fails over to the
// live one, and the writes land there (LDAP read and audit log).
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;

// Samba binds only 127.0.0.1 in the test's network namespace: nothing
// listens on 127.0.0.2.
constexpr char kDeadDc[] = "ldaps://127.0.0.2";

TEST(AgentFailoverTest, DeadFirstDcFailsOverToTheLiveOne) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  AgentItEnv::AgentOptions options;
  options.ldap_urls = {kDeadDc, env.dc().url()};
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(10, "failover");
  ASSERT_OK(users);
  auto mark = env.AuditMark();
  ASSERT_OK(mark);

  std::vector<v1::Job> jobs;
  for (size_t i = 0; i < users->size(); ++i) {
    jobs.push_back(CasJob(absl::StrCat("failover-", i), (*users)[i],
                          {{"extensionAttribute7", {}, {absl::StrCat("gen-1-", i)}}}));
  }
  auto results = env.Run(jobs);
  ASSERT_OK(results) << env.AgentLog();
  for (size_t i = 0; i < users->size(); ++i) {
    const v1::JobResult& r = results->at(absl::StrCat("failover-", i));
    EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString() << env.AgentLog();
    EXPECT_EQ(r.dc(), env.dc().url()) << "written on the live DC";
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute7"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute7"], ElementsAre(absl::StrCat("gen-1-", i)));
    auto modifies = env.ModifiesSince(*mark, (*users)[i].dn);
    ASSERT_OK(modifies);
    ASSERT_EQ(modifies->size(), 1u);
    EXPECT_EQ((*modifies)[0].status_code, 0) << (*modifies)[0].status;
  }
}

}  // namespace
}  // namespace writeback::testing
