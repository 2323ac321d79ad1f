#include "controller/dispatch/outcome.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using writeback::testing::StatusIs;
namespace v1 = writeback::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

struct Fixture {
  MailboxRecord mailbox;
  v1::Job job;
  Fixture() {
    mailbox.cloud_id = "m1";
    mailbox.status = v1::IN_FLIGHT;
    mailbox.inflight_id = "j1";
    mailbox.inflight_session = "s1";
    mailbox.desired_gen = 3;
    mailbox.applied_gen = 2;
    mailbox.last_known.emplace();
    (*mailbox.last_known->mutable_attributes())["mail"].add_values("old@x.com");
    job.set_job_id("j1");
    job.set_mailbox_id("m1");
    job.set_generation(3);
    auto* c = job.add_changes();
    c->set_attribute("mail");
    c->add_expected("old@x.com");
    c->add_desired("new@x.com");
  }
  std::vector<std::string> Known(const std::string& a) const {
    const auto& v = mailbox.last_known->attributes().at(a).values();
    return {v.begin(), v.end()};
  }
};

v1::JobResult Result(v1::Outcome o) {
  v1::JobResult r;
  r.set_job_id("j1");
  r.set_outcome(o);
  r.set_dn("CN=u1,OU=Mailboxes,DC=x");
  return r;
}

TEST(OutcomeTest, AppliedRecordsTargetAndGeneration) {
  Fixture f;
  ASSERT_OK(ApplyJobResult(f.job, Result(v1::APPLIED), kNow, {}, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::IN_SYNC);
  EXPECT_EQ(f.mailbox.applied_gen, 3u);
  EXPECT_THAT(f.Known("mail"), ElementsAre("new@x.com"));
  EXPECT_TRUE(f.mailbox.inflight_id.empty());
  EXPECT_EQ(f.mailbox.dn, "CN=u1,OU=Mailboxes,DC=x");
}

TEST(OutcomeTest, AppliedWhileCloudChangedAgainStaysPending) {
  Fixture f;
  f.mailbox.desired_gen = 4;  // a newer change arrived while the job was out
  ASSERT_OK(ApplyJobResult(f.job, Result(v1::ALREADY_IN_STATE), kNow, {}, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::PENDING);
  EXPECT_EQ(f.mailbox.applied_gen, 3u);
}

TEST(OutcomeTest, ConflictAdoptsFoundValuesAndPlansAgain) {
  Fixture f;
  v1::JobResult r = Result(v1::CONFLICT);
  (*r.mutable_found()->mutable_attributes())["mail"].add_values("onprem@x.com");
  ASSERT_OK(ApplyJobResult(f.job, r, kNow, {}, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::PENDING);
  EXPECT_THAT(f.Known("mail"), ElementsAre("onprem@x.com"));
  EXPECT_EQ(f.mailbox.applied_gen, 2u);
  EXPECT_EQ(f.mailbox.attempts, 1u);
}

TEST(OutcomeTest, RetryableFailureWaitsWithBackoff) {
  Fixture f;
  RetryPolicy policy;
  policy.base = absl::Seconds(10);
  ASSERT_OK(ApplyJobResult(f.job, Result(v1::FAILED_RETRYABLE), kNow, policy, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::RETRY_WAIT);
  EXPECT_GE(f.mailbox.next_attempt_ms, absl::ToUnixMillis(kNow + absl::Seconds(5)));
  EXPECT_LE(f.mailbox.next_attempt_ms, absl::ToUnixMillis(kNow + absl::Seconds(10)));
}

TEST(OutcomeTest, PermanentFailureAndPolicyRejectionQuarantine) {
  for (v1::Outcome o : {v1::FAILED_PERMANENT, v1::REJECTED_BY_POLICY}) {
    Fixture f;
    v1::JobResult r = Result(o);
    r.set_diagnostic("object not found");
    ASSERT_OK(ApplyJobResult(f.job, r, kNow, {}, &f.mailbox));
    EXPECT_EQ(f.mailbox.status, v1::QUARANTINED);
    EXPECT_THAT(f.mailbox.last_error, ::testing::HasSubstr("object not found"));
  }
}

TEST(OutcomeTest, LifecycleFailuresGetTheirNamedPermanentStates) {
  const std::pair<v1::FailureReason, v1::MailboxStatus> cases[] = {
      {v1::REASON_OBJECT_NOT_FOUND, v1::OBJECT_NOT_FOUND},
      {v1::REASON_OBJECT_DELETED, v1::OBJECT_DELETED},
      {v1::REASON_OUT_OF_SCOPE, v1::OUT_OF_SCOPE},
      {v1::REASON_AMBIGUOUS_MATCH, v1::DUPLICATE_MATCH},
  };
  for (const auto& [reason, status] : cases) {
    Fixture f;
    v1::JobResult r = Result(reason == v1::REASON_OUT_OF_SCOPE ? v1::REJECTED_BY_POLICY
                                                               : v1::FAILED_PERMANENT);
    r.set_reason(reason);
    r.set_diagnostic("why");
    ASSERT_OK(ApplyJobResult(f.job, r, kNow, {}, &f.mailbox));
    EXPECT_EQ(f.mailbox.status, status) << v1::FailureReason_Name(reason);
    EXPECT_THAT(f.mailbox.last_error,
                ::testing::StartsWith(v1::MailboxStatus_Name(status) + ": "));
    Fixture read;
    read.mailbox.inflight_id = "r1";
    v1::ObservedObject observed;
    observed.set_failure(v1::FAILED_PERMANENT);
    observed.set_reason(reason);
    ASSERT_OK(ApplyObservation("r1", observed, kNow, {}, &read.mailbox));
    EXPECT_EQ(read.mailbox.status, status) << v1::FailureReason_Name(reason);
  }
  // A version-1 agent names no reason: quarantined with its diagnostic.
  Fixture f;
  ASSERT_OK(ApplyJobResult(f.job, Result(v1::FAILED_PERMANENT), kNow, {}, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::QUARANTINED);
}

TEST(OutcomeTest, RetryNowReleasesFailedMailboxesAndRereadsLifecycleOnes) {
  Fixture q;
  q.mailbox.status = v1::QUARANTINED;
  q.mailbox.attempts = 10;
  q.mailbox.last_error = "quarantined after 10 attempts";
  auto retried = RetryNow(&q.mailbox);
  ASSERT_OK(retried);
  EXPECT_TRUE(*retried);
  EXPECT_EQ(q.mailbox.status, v1::PENDING);
  EXPECT_EQ(q.mailbox.attempts, 0u);
  EXPECT_EQ(q.mailbox.last_error, "");
  EXPECT_TRUE(q.mailbox.last_known.has_value()) << "a quarantined mailbox goes on from what is known";

  Fixture deleted;
  deleted.mailbox.status = v1::OBJECT_DELETED;
  ASSERT_OK(RetryNow(&deleted.mailbox));
  EXPECT_EQ(deleted.mailbox.status, v1::PENDING);
  EXPECT_FALSE(deleted.mailbox.last_known.has_value()) << "read again: it may have been restored";

  Fixture in_flight;  // IN_FLIGHT in the fixture
  EXPECT_THAT(RetryNow(&in_flight.mailbox), StatusIs(absl::StatusCode::kFailedPrecondition));
  Fixture in_sync;
  in_sync.mailbox.status = v1::IN_SYNC;
  auto nothing = RetryNow(&in_sync.mailbox);
  ASSERT_OK(nothing);
  EXPECT_FALSE(*nothing);
  EXPECT_EQ(in_sync.mailbox.status, v1::IN_SYNC);
}

TEST(OutcomeTest, RetryNowKeepsTheFenceOfLostWork) {
  // The session holding the job was lost: the job waits out the fence.
  Fixture f;
  const int64_t fence_ms = absl::ToUnixMillis(kNow + absl::Seconds(6));
  f.mailbox.inflight_job = f.job;
  ASSERT_OK(ReleaseLostWork("s1", kNow + absl::Seconds(6), &f.mailbox));
  ASSERT_EQ(f.mailbox.unconfirmed.jobs_size(), 1);
  ASSERT_EQ(f.mailbox.status, v1::RETRY_WAIT);
  ASSERT_EQ(f.mailbox.next_attempt_ms, fence_ms);
  f.mailbox.attempts = 3;
  auto retried = RetryNow(&f.mailbox);
  ASSERT_OK(retried);
  EXPECT_TRUE(*retried);
  EXPECT_EQ(f.mailbox.status, v1::RETRY_WAIT) << "sent before the lost agent stopped writing";
  EXPECT_EQ(f.mailbox.next_attempt_ms, fence_ms);
  EXPECT_EQ(f.mailbox.attempts, 0u);

  // An ordinary retry wait is cut short.
  Fixture r;
  r.mailbox.status = v1::RETRY_WAIT;
  r.mailbox.next_attempt_ms = fence_ms;
  ASSERT_OK(RetryNow(&r.mailbox));
  EXPECT_EQ(r.mailbox.status, v1::PENDING);
  EXPECT_EQ(r.mailbox.next_attempt_ms, 0);
}

TEST(OutcomeTest, RepeatedFailuresQuarantine) {
  Fixture f;
  RetryPolicy policy;
  policy.max_attempts = 2;
  f.mailbox.attempts = 1;
  ASSERT_OK(ApplyJobResult(f.job, Result(v1::FAILED_RETRYABLE), kNow, policy, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::QUARANTINED);
}

TEST(OutcomeTest, StaleResultIsRefused) {
  Fixture f;
  f.mailbox.inflight_id = "j2";
  EXPECT_THAT(ApplyJobResult(f.job, Result(v1::APPLIED), kNow, {}, &f.mailbox),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(OutcomeTest, ObservationSetsLastKnown) {
  Fixture f;
  f.mailbox.last_known.reset();
  f.mailbox.inflight_id = "r1";
  v1::ObservedObject o;
  o.set_dn("CN=u1,DC=x");
  (*o.mutable_attributes()->mutable_attributes())["mail"].add_values("seen@x.com");
  ASSERT_OK(ApplyObservation("r1", o, kNow, {}, &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::PENDING);
  EXPECT_THAT(f.Known("mail"), ElementsAre("seen@x.com"));
}

TEST(OutcomeTest, LostWorkWaitsForTheFence) {
  Fixture f;
  ASSERT_OK(ReleaseLostWork("s1", kNow + absl::Seconds(8), &f.mailbox));
  EXPECT_EQ(f.mailbox.status, v1::RETRY_WAIT);
  EXPECT_EQ(f.mailbox.next_attempt_ms, absl::ToUnixMillis(kNow + absl::Seconds(8)));
  Fixture g;
  EXPECT_THAT(ReleaseLostWork("other", kNow, &g.mailbox),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(OutcomeTest, LogRecordNamesStepsAndModifiedProperties) {
  Fixture f;
  v1::ProvisioningRecord r = MakeJobLogRecord(f.job, Result(v1::APPLIED), "a1", "corp", kNow);
  EXPECT_EQ(r.outcome(), v1::APPLIED);
  ASSERT_EQ(r.modified_size(), 1);
  EXPECT_THAT(r.modified(0).old_values(), ElementsAre("old@x.com"));
  EXPECT_THAT(r.modified(0).new_values(), ElementsAre("new@x.com"));
  ASSERT_EQ(r.steps_size(), 4);
  EXPECT_EQ(r.steps(3).name(), "export");
  EXPECT_EQ(r.steps(3).status(), "success");
}

}  // namespace
}  // namespace writeback::controller
