// Issue 6, acceptance 2: a compromised controller cannot make the agent write
// what its local policy forbids. The test controller pushes, in one batch, a
// userAccountControl change, a member change of a group, an allowlisted
// attribute of that group (not a user), a job for an object
// outside the agent's scope OUs and two jobs taking an SMTP address another
// object holds (as a proxyAddresses value, and as mail with the primary
// address). The agent is bound as Administrator, who may write all of these:
// only the agent's local policy stands in the way. Each answer is
// REJECTED_BY_POLICY with a diagnostic naming why, and the DC's audit log
// shows no modify of any of those objects after the mark, while a valid job
// of the same batch is written (the audit log does record this agent's
// writes).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDomain[] = "@corp.example.test";

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

TEST(AgentRefusalsTest, ForbiddenJobsFromTheControllerAreRefusedAndNeverReachTheDc) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  ASSERT_OK(env.StartAgent({}));
  SambaDc& dc = env.dc();
  auto users = dc.AddUsers(6, "refuse");
  ASSERT_OK(users);
  auto outside = dc.AddUsers(1, "refout", "OU=Outside");
  ASSERT_OK(outside);
  // A group in the scope OU, addressed by its objectGUID like any job.
  auto group_dn = dc.AddGroup("refuse-group");
  ASSERT_OK(group_dn);
  auto group_attrs = dc.Read(*group_dn, {"objectGUID"});
  ASSERT_OK(group_attrs);
  ASSERT_THAT((*group_attrs)["objectGUID"], SizeIs(1));
  const SambaDc::User group{*group_dn, "refuse-group", (*group_attrs)["objectGUID"][0]};

  const SambaDc::User& uac_user = (*users)[0];
  // Two owners: one batch taking one address twice would be refused by the
  // in-batch rule before the directory is asked.
  const SambaDc::User& owner1 = (*users)[1];
  const SambaDc::User& owner2 = (*users)[2];
  const SambaDc::User& thief1 = (*users)[3];
  const SambaDc::User& thief2 = (*users)[4];
  const SambaDc::User& valid = (*users)[5];
  auto uac = dc.Read(uac_user.dn, {"userAccountControl"});
  ASSERT_OK(uac);
  ASSERT_THAT((*uac)["userAccountControl"], SizeIs(1));
  const std::vector<std::string> uac_before = (*uac)["userAccountControl"];
  const std::string uac_enabled =
      std::to_string(std::stoll(uac_before[0]) & ~0x2LL);  // clears ACCOUNTDISABLE
  const std::string owner1_address = owner1.sam + kDomain;
  const std::string owner2_address = owner2.sam + kDomain;
  const std::string primary1 = "SMTP:" + thief1.sam + kDomain;
  const std::string primary2 = "SMTP:" + thief2.sam + kDomain;

  struct Refusal {
    v1::Job job;
    std::string dn;
    std::string diagnostic;  // part of the diagnostic naming why
  };
  const std::vector<Refusal> refusals = {
      {CasJob("uac", uac_user, {{"userAccountControl", uac_before, {uac_enabled}}}), uac_user.dn,
       "userAccountControl"},
      {CasJob("member", group, {{"member", {}, {uac_user.dn}}}), group.dn, "member"},
      // An allowlisted attribute, but of a group: writeback writes users only.
      {CasJob("group-attr", group, {{"extensionAttribute1", {}, {"not-a-mailbox"}}}), group.dn,
       "not a user account"},
      {CasJob("outside", (*outside)[0], {{"extensionAttribute1", {}, {"outside"}}}),
       (*outside)[0].dn, "outside scope"},
      {CasJob("steal-proxy", thief1,
              {{"proxyAddresses", {primary1},
                {primary1, "smtp:" + absl::AsciiStrToUpper(owner1_address)}}}),
       thief1.dn, owner1.dn},
      {CasJob("steal-mail", thief2,
              {{"proxyAddresses", {primary2}, {"SMTP:" + owner2_address}},
               {"mail", {thief2.sam + kDomain}, {owner2_address}}}),
       thief2.dn, "already used by another object"},
  };
  std::vector<v1::Job> batch;
  for (const Refusal& r : refusals) batch.push_back(r.job);
  batch.push_back(CasJob("valid", valid, {{"extensionAttribute1", {}, {"refusals-gen1"}}}));

  auto mark = env.AuditMark();
  ASSERT_OK(mark);
  auto results = env.Run(batch);
  ASSERT_OK(results) << env.AgentLog();
  ASSERT_EQ(results->size(), batch.size());
  for (const Refusal& r : refusals) {
    const v1::JobResult& result = results->at(r.job.job_id());
    EXPECT_EQ(result.outcome(), v1::REJECTED_BY_POLICY) << result.ShortDebugString();
    EXPECT_THAT(Lower(result.diagnostic()), HasSubstr(Lower(r.diagnostic)))
        << result.ShortDebugString();
  }
  EXPECT_EQ(results->at("valid").outcome(), v1::APPLIED)
      << results->at("valid").ShortDebugString();

  // The oracle: the DC's audit log from the mark, by DN.
  for (const std::string& dn : {uac_user.dn, group.dn, (*outside)[0].dn, thief1.dn, thief2.dn,
                                owner1.dn, owner2.dn}) {
    auto modifies = env.ModifiesSince(*mark, dn);
    ASSERT_OK(modifies);
    EXPECT_THAT(*modifies, IsEmpty()) << "a refused job reached the directory: " << dn;
  }
  auto valid_modifies = env.ModifiesSince(*mark, valid.dn);
  ASSERT_OK(valid_modifies);
  ASSERT_THAT(*valid_modifies, SizeIs(1));
  EXPECT_EQ((*valid_modifies)[0].status_code, 0);

  // And the objects as the DC holds them now.
  auto after = dc.Read(uac_user.dn, {"userAccountControl"});
  ASSERT_OK(after);
  EXPECT_EQ((*after)["userAccountControl"], uac_before);
  auto members = dc.Read(group.dn, {"member"});
  ASSERT_OK(members);
  EXPECT_THAT((*members)["member"], IsEmpty());
  auto out = dc.Read((*outside)[0].dn, {"extensionAttribute1"});
  ASSERT_OK(out);
  EXPECT_THAT((*out)["extensionAttribute1"], IsEmpty());
  auto t1 = dc.Read(thief1.dn, {"proxyAddresses"});
  ASSERT_OK(t1);
  EXPECT_THAT((*t1)["proxyAddresses"], ElementsAre(primary1));
  auto t2 = dc.Read(thief2.dn, {"proxyAddresses", "mail"});
  ASSERT_OK(t2);
  EXPECT_THAT((*t2)["proxyAddresses"], ElementsAre(primary2));
  EXPECT_THAT((*t2)["mail"], ElementsAre(thief2.sam + kDomain));
  auto v = dc.Read(valid.dn, {"extensionAttribute1"});
  ASSERT_OK(v);
  EXPECT_THAT((*v)["extensionAttribute1"], ElementsAre("refusals-gen1"));
}

}  // namespace
}  // namespace writeback::testing
