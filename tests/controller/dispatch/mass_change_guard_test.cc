// The mass-change guard's decisions, without a store or a clock.
#include "controller/dispatch/mass_change_guard.h"

#include "controller/dispatch/outcome.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using writeback::testing::StatusIs;

const absl::Time kNow = absl::FromUnixMillis(10'000'000);
const GuardPolicy kPolicy{/*threshold=*/3, /*window=*/absl::Minutes(10)};

// A mailbox onboarded (read) whose desired mail differs from AD's: a job is
// due at generation `gen`.
MailboxRecord Changed(const std::string& id, uint64_t gen = 1) {
  MailboxRecord m;
  m.cloud_id = id;
  m.forest = "corp.example.test";
  m.status = v1::PENDING;
  m.desired_gen = gen;
  (*m.desired.mutable_attributes())["mail"].add_values(id + "@new.example");
  m.last_known.emplace();
  (*m.last_known->mutable_attributes())["mail"].add_values(id + "@old.example");
  return m;
}

PlanDecision Plan(const MailboxRecord& m) { return PlanMailbox(m, "j-1"); }

TEST(MassChangeGuardTest, ANewGenerationCountsOnceAndARetryOfItDoesNot) {
  MassChangeRound round(kPolicy, {}, kNow);
  MailboxRecord m = Changed("m1");
  EXPECT_TRUE(round.Counts(m));
  round.Admit(&m);
  EXPECT_EQ(round.counted(), 1);
  EXPECT_EQ(m.guard_gen, 1u);
  EXPECT_EQ(m.guard_counted_ms, absl::ToUnixMillis(kNow));
  // The same generation again (retry after a failure, redelivery, conflict
  // re-plan) is no new write.
  EXPECT_FALSE(IsNewWrite(m));
  EXPECT_FALSE(round.Counts(m));
  round.Admit(&m);
  EXPECT_EQ(round.counted(), 1);
}

TEST(MassChangeGuardTest, AMailboxCountsOncePerWindowWhateverItsNewChanges) {
  MassChangeRound first(kPolicy, {}, kNow);
  MailboxRecord m = Changed("m1");
  first.Admit(&m);
  m.desired_gen = 2;  // edited again five minutes later
  MassChangeRound later(kPolicy, {1, 0}, kNow + absl::Minutes(5));
  EXPECT_TRUE(IsNewWrite(m));
  EXPECT_FALSE(later.Counts(m)) << "already counted in this window";
  later.Admit(&m);
  EXPECT_EQ(later.counted(), 1);
  EXPECT_EQ(m.guard_gen, 2u);
}

TEST(MassChangeGuardTest, TheWindowSlides) {
  MassChangeRound first(kPolicy, {}, kNow);
  MailboxRecord m = Changed("m1");
  first.Admit(&m);
  m.desired_gen = 2;
  MassChangeRound inside(kPolicy, {}, kNow + absl::Minutes(10) - absl::Milliseconds(1));
  EXPECT_FALSE(inside.Counts(m));
  MassChangeRound after(kPolicy, {}, kNow + absl::Minutes(10));
  EXPECT_TRUE(after.Counts(m)) << "counted a whole window ago: counts again";
}

TEST(MassChangeGuardTest, ACorrectionOfAnAppliedGenerationCounts) {
  // Reconciliation found drift: the generation was acknowledged, AD changed
  // since, and the mailbox is PENDING again with AD's values as last_known.
  MailboxRecord m = Changed("m1", 4);
  m.applied_gen = 4;
  m.guard_gen = 4;
  EXPECT_TRUE(IsNewWrite(m));
  MassChangeRound round(kPolicy, {}, kNow);
  EXPECT_TRUE(round.Counts(m));
}

TEST(MassChangeGuardTest, CrossingTheThresholdHoldsAndJobsBeforeItGoOut) {
  MassChangeRound round(kPolicy, {/*counted=*/2, /*open_hold_id=*/0}, kNow);
  MailboxRecord third = Changed("m3");
  MailboxRecord fourth = Changed("m4");
  EXPECT_EQ(round.Judge(third), MassChangeRound::kPlace);
  round.Admit(&third);
  EXPECT_EQ(round.Judge(fourth), MassChangeRound::kHold) << "a 4th mailbox passes threshold 3";
  // A retry of a mailbox already let through is not held.
  EXPECT_EQ(round.Judge(third), MassChangeRound::kPlace);
  EXPECT_THAT(round.HoldReason(), HasSubstr("3 mailboxes"));
  EXPECT_THAT(round.HoldReason(), HasSubstr("threshold of 3"));
  EXPECT_THAT(round.HoldReason(), HasSubstr("10m"));
}

TEST(MassChangeGuardTest, AnOpenHoldCapturesEveryNewChange) {
  MassChangeRound round(kPolicy, {/*counted=*/0, /*open_hold_id=*/7}, kNow);
  MailboxRecord m = Changed("m1");
  EXPECT_EQ(round.Judge(m), MassChangeRound::kHold) << "well under the threshold, but held";
  PlanDecision d = Plan(m);
  v1::ProvisioningRecord log;
  bool held = false;
  ASSERT_OK(round.Decide(MassChangeRound::kHold, d, &m, &log, &held));
  EXPECT_TRUE(held);
  EXPECT_EQ(m.status, v1::HELD);
  EXPECT_EQ(m.hold_id, 7);
  EXPECT_EQ(m.guard_counted_ms, 0) << "a held mailbox did not change";
  EXPECT_EQ(log.kind(), "held");
  EXPECT_THAT(log.diagnostic(), HasSubstr("hold 7"));
  ASSERT_EQ(log.modified_size(), 1);
  EXPECT_THAT(log.modified(0).old_values(), ElementsAre("m1@old.example"));
  EXPECT_THAT(log.modified(0).new_values(), ElementsAre("m1@new.example"));
}

TEST(MassChangeGuardTest, ReadsAndInSyncMailboxesAreNeverHeld) {
  MassChangeRound round(kPolicy, {0, 7}, kNow);
  MailboxRecord unread = Changed("m1");
  unread.last_known.reset();  // the onboarding read comes first
  PlanDecision d = Plan(unread);
  ASSERT_EQ(d.kind, PlanDecision::kRead);
  bool held = true;
  ASSERT_OK(round.Decide(MassChangeRound::kPlace, d, &unread, nullptr, &held));
  EXPECT_FALSE(held);
  EXPECT_EQ(round.counted(), 0);
}

TEST(MassChangeGuardTest, ADecisionThatNoLongerMatchesThePredictionWaits) {
  MassChangeRound round(kPolicy, {/*counted=*/3, 0}, kNow);
  MailboxRecord m = Changed("m1");
  bool held = false;
  auto s = round.Decide(MassChangeRound::kPlace, Plan(m), &m, nullptr, &held);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(m.status, v1::PENDING);
  EXPECT_EQ(round.counted(), 3);
}

TEST(MassChangeGuardTest, ApprovalExemptsTheHeldChange) {
  MailboxRecord m = Changed("m1", 3);
  m.status = v1::HELD;
  m.hold_id = 7;
  ASSERT_OK(ApproveHeld(kNow, &m));
  EXPECT_EQ(m.status, v1::PENDING);
  EXPECT_EQ(m.hold_id, 0);
  MassChangeRound round(kPolicy, {/*counted=*/3, 0}, kNow);  // the window is full
  EXPECT_FALSE(round.Counts(m));
  EXPECT_EQ(round.Judge(m), MassChangeRound::kPlace);
  round.Admit(&m);
  EXPECT_EQ(round.counted(), 3);
  EXPECT_FALSE(m.guard_approved) << "approval covers the change it approved, once";
  EXPECT_EQ(m.guard_gen, 3u);
}

TEST(MassChangeGuardTest, RejectionRevertsDesiredToWhatAdHoldsReadAgain) {
  MailboxRecord m = Changed("m1", 5);
  (*m.desired.mutable_attributes())["extensionAttribute1"].add_values("new-ea1");
  (*m.desired.mutable_attributes())["extensionAttribute2"].add_values("same");
  (*m.last_known->mutable_attributes())["extensionAttribute2"].add_values("same");
  m.status = v1::HELD;
  m.hold_id = 7;
  v1::ProvisioningRecord log;
  ASSERT_OK(RejectHeld(7, kNow, &m, &log));
  EXPECT_EQ(m.hold_id, 0);
  EXPECT_EQ(m.desired_gen, 6u);
  EXPECT_THAT(ValuesOf(m.desired, "mail"), ElementsAre("m1@old.example"));
  EXPECT_THAT(ValuesOf(m.desired, "extensionAttribute1"), ElementsAre());
  EXPECT_THAT(ValuesOf(m.desired, "extensionAttribute2"), ElementsAre("same"));
  EXPECT_EQ(log.kind(), "rejected");
  ASSERT_EQ(log.modified_size(), 2);  // the unchanged attribute is not listed
  EXPECT_EQ(log.modified(0).name(), "extensionAttribute1");
  EXPECT_THAT(log.modified(0).new_values(), ElementsAre("new-ea1"));
  EXPECT_EQ(log.modified(1).name(), "mail");
  EXPECT_THAT(log.modified(1).old_values(), ElementsAre("m1@old.example"));
  EXPECT_THAT(log.modified(1).new_values(), ElementsAre("m1@new.example"));
  EXPECT_THAT(log.diagnostic(), HasSubstr("nothing was written"));

  // last_known may be stale (a dual writer changed mail since): the object
  // is read again first, and what AD holds then is what stands.
  EXPECT_EQ(m.status, v1::PENDING);
  EXPECT_FALSE(m.last_known.has_value());
  ASSERT_EQ(PlanMailbox(m, "r-1").kind, PlanDecision::kRead) << "read before anything else";
  m.status = v1::IN_FLIGHT;
  m.inflight_id = "r-1";
  v1::ObservedObject observed;
  auto& found = *observed.mutable_attributes()->mutable_attributes();
  found["mail"].add_values("dual-writer@old.example");
  found["extensionAttribute2"].add_values("same");
  ASSERT_OK(ApplyObservation("r-1", observed, kNow, {}, &m));
  EXPECT_THAT(ValuesOf(m.desired, "mail"), ElementsAre("dual-writer@old.example"));
  EXPECT_THAT(ValuesOf(m.desired, "extensionAttribute1"), ElementsAre());
  EXPECT_EQ(m.desired_gen, 7u);
  EXPECT_TRUE(m.adopt_on_read.empty());
  EXPECT_EQ(PlanMailbox(m, "j").kind, PlanDecision::kInSync) << "nothing to write, ever";
}

TEST(MassChangeGuardTest, AnOperatorsRetryDoesNotReleaseAHeldMailbox) {
  MailboxRecord m = Changed("m1");
  m.status = v1::HELD;
  m.hold_id = 7;
  EXPECT_THAT(RetryNow(&m), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("approve or reject the hold")));
  EXPECT_EQ(m.status, v1::HELD);
}

TEST(MassChangeGuardTest, ThresholdZeroDisablesTheGuard) {
  MassChangeRound round({0, absl::Hours(1)}, {/*counted=*/1000, /*open_hold_id=*/7}, kNow);
  MailboxRecord m = Changed("m1");
  EXPECT_EQ(round.Judge(m), MassChangeRound::kPlace);
}

TEST(MassChangeGuardTest, AForestsOverridesWin) {
  ForestRecord f;
  f.mass_change_threshold = 0;
  f.mass_change_window_s = 60;
  GuardPolicy p = EffectivePolicy(GuardPolicy{}, f);
  EXPECT_EQ(p.threshold, 0u);
  EXPECT_EQ(p.window, absl::Minutes(1));
  GuardPolicy defaults = EffectivePolicy(GuardPolicy{}, ForestRecord{});
  EXPECT_EQ(defaults.threshold, 500u);
  EXPECT_EQ(defaults.window, absl::Hours(1));
}

}  // namespace
}  // namespace writeback::controller
