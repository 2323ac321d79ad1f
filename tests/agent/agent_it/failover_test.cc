// Issue 3, acceptance 1: a dead first DC in the agent's list fails over to the
// live one, and the writes land there (LDAP read and audit log); a stream
// ended by the controller is re-opened.
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

// The other failover: the controller ends the stream; the agent dials again,
// gets a fresh session and keeps working. (Also covers the TestController's
// Disconnect and its credit check.)
TEST(AgentFailoverTest, StreamEndedByTheControllerReconnectsWithAFreshSession) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  AgentItEnv::AgentOptions options;
  options.max_in_flight = 4;
  options.extra_config = "log_level: \"debug\"\n";
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(5, "reconnect");
  ASSERT_OK(users);
  std::vector<v1::Job> five;
  for (size_t i = 0; i < users->size(); ++i) {
    five.push_back(CasJob(absl::StrCat("reconnect-", i), (*users)[i],
                          {{"extensionAttribute10", {}, {"gen-1"}}}));
  }
  EXPECT_THAT(env.controller().SendJobs(five),
              StatusIs(absl::StatusCode::kFailedPrecondition))
      << "more than the agent's credit of 4";

  ASSERT_OK(env.controller().Disconnect());
  EXPECT_FALSE(env.controller().connected());
  auto session = env.controller().WaitForAgent(absl::Seconds(30));
  ASSERT_OK(session) << env.AgentLog();
  EXPECT_EQ(session->number, 2);
  EXPECT_EQ(session->agent_id, "agent-1");
  EXPECT_EQ(session->forest, "corp.example.test");
  EXPECT_EQ(session->hello.max_in_flight(), 4u);

  five.pop_back();
  auto results = env.Run(five);
  ASSERT_OK(results) << env.AgentLog();
  for (size_t i = 0; i < five.size(); ++i) {
    EXPECT_EQ(results->at(five[i].job_id()).outcome(), v1::APPLIED)
        << results->at(five[i].job_id()).ShortDebugString();
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute10"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute10"], ElementsAre("gen-1"));
  }
}

}  // namespace
}  // namespace writeback::testing

namespace writeback::testing {
namespace {

// The real agent configured for a multi-domain forest: it matches through the
// Global Catalog port and writes on the domain's DC (here Samba's one domain).
TEST(AgentForestTest, GlobalCatalogConfigurationMatchesAndWritesOnTheDomainDc) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  AgentItEnv::AgentOptions options;
  options.extra_config = absl::StrCat(
      "global_catalog_urls: \"ldaps://127.0.0.1:3269\"\n",
      "domains { dn: \"", env.dc().base_dn(), "\" urls: \"", kDeadDc, "\" urls: \"",
      env.dc().url(), "\" }\n");
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(5, "forest");
  ASSERT_OK(users);
  std::vector<v1::Job> jobs;
  for (size_t i = 0; i < users->size(); ++i) {
    jobs.push_back(CasJob(absl::StrCat("forest-", i), (*users)[i],
                          {{"extensionAttribute8", {}, {absl::StrCat("gc-", i)}}}));
  }
  auto results = env.Run(jobs);
  ASSERT_OK(results) << env.AgentLog();
  for (size_t i = 0; i < users->size(); ++i) {
    const v1::JobResult& r = results->at(absl::StrCat("forest-", i));
    EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString() << env.AgentLog();
    EXPECT_EQ(r.dc(), env.dc().url()) << "written on the domain's live DC, not the GC";
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute8"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute8"], ElementsAre(absl::StrCat("gc-", i)));
  }
}

}  // namespace
}  // namespace writeback::testing
