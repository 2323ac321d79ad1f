#include "controller/planner/job_planner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

void Put(writeback::v1::AttributeMap* map, const std::string& name,
         std::vector<std::string> values) {
  auto& v = (*map->mutable_attributes())[name];
  for (auto& s : values) v.add_values(s);
}

MailboxRecord Onboarded() {
  MailboxRecord m;
  m.cloud_id = "c0ffee00-0000-0000-0000-000000000001";
  m.source_anchor = std::string(16, '\x01');
  m.desired_gen = 7;
  m.last_known.emplace();
  return m;
}

TEST(JobPlannerTest, NeverReadMailboxNeedsOnboardingReadFirst) {
  MailboxRecord m = Onboarded();
  m.last_known.reset();
  Put(&m.desired, "mail", {"a@x.com"});
  EXPECT_EQ(PlanMailbox(m, "j1").kind, PlanDecision::kRead);
}

TEST(JobPlannerTest, JobCarriesLastKnownAsExpectedAndDesiredAsTarget) {
  MailboxRecord m = Onboarded();
  Put(&m.desired, "mail", {"new@x.com"});
  Put(&*m.last_known, "mail", {"old@x.com"});
  PlanDecision d = PlanMailbox(m, "j1");
  ASSERT_EQ(d.kind, PlanDecision::kJob);
  EXPECT_EQ(d.job.job_id(), "j1");
  EXPECT_EQ(d.job.generation(), 7u);
  EXPECT_EQ(d.job.mailbox_id(), m.cloud_id);
  EXPECT_EQ(d.job.source_anchor(), m.source_anchor);
  ASSERT_EQ(d.job.changes_size(), 1);
  EXPECT_EQ(d.job.changes(0).attribute(), "mail");
  EXPECT_THAT(d.job.changes(0).expected(), ElementsAre("old@x.com"));
  EXPECT_THAT(d.job.changes(0).desired(), ElementsAre("new@x.com"));
}

TEST(JobPlannerTest, UnchangedAttributesAreLeftOut) {
  MailboxRecord m = Onboarded();
  Put(&m.desired, "proxyAddresses", {"SMTP:a@x.com", "smtp:b@x.com"});
  Put(&*m.last_known, "proxyAddresses", {"smtp:b@x.com", "SMTP:a@x.com"});  // same set
  Put(&m.desired, "extensionAttribute1", {"HR"});
  PlanDecision d = PlanMailbox(m, "j1");
  ASSERT_EQ(d.kind, PlanDecision::kJob);
  ASSERT_EQ(d.job.changes_size(), 1);
  EXPECT_EQ(d.job.changes(0).attribute(), "extensionAttribute1");
  EXPECT_TRUE(d.job.changes(0).expected().empty());
}

TEST(JobPlannerTest, InSyncWhenEveryDesiredSetMatchesIgnoringCaseAndOrder) {
  MailboxRecord m = Onboarded();
  Put(&m.desired, "mail", {"Alice@X.com"});
  Put(&*m.last_known, "mail", {"alice@x.com"});
  EXPECT_EQ(PlanMailbox(m, "j1").kind, PlanDecision::kInSync);
}

TEST(JobPlannerTest, ClearedAttributeBecomesEmptyDesiredSet) {
  MailboxRecord m = Onboarded();
  Put(&m.desired, "extensionAttribute2", {});
  Put(&*m.last_known, "extensionAttribute2", {"old"});
  PlanDecision d = PlanMailbox(m, "j1");
  ASSERT_EQ(d.kind, PlanDecision::kJob);
  EXPECT_THAT(d.job.changes(0).expected(), ElementsAre("old"));
  EXPECT_TRUE(d.job.changes(0).desired().empty());
}

TEST(JobPlannerTest, AttributesOnlyInLastKnownAreNotManaged) {
  MailboxRecord m = Onboarded();
  Put(&*m.last_known, "extensionAttribute3", {"on-prem value"});
  EXPECT_EQ(PlanMailbox(m, "j1").kind, PlanDecision::kInSync);
}

TEST(JobPlannerTest, MultiValuedChangeCarriesWholeSets) {
  MailboxRecord m = Onboarded();
  Put(&m.desired, "proxyAddresses", {"SMTP:a@x.com", "smtp:c@x.com"});
  Put(&*m.last_known, "proxyAddresses", {"SMTP:a@x.com", "smtp:b@x.com"});
  PlanDecision d = PlanMailbox(m, "j1");
  ASSERT_EQ(d.kind, PlanDecision::kJob);
  EXPECT_THAT(d.job.changes(0).expected(), UnorderedElementsAre("SMTP:a@x.com", "smtp:b@x.com"));
  EXPECT_THAT(d.job.changes(0).desired(), UnorderedElementsAre("SMTP:a@x.com", "smtp:c@x.com"));
}

}  // namespace
}  // namespace writeback::controller
