// ApplyDrift and the dual-writer rule (DESIGN §5–6), for drift found by a
// pass and for jobs answered CONFLICT (ApplyJobResult), and the operator's
// release (RetryNow).
#include "controller/reconcile/correction.h"

#include "controller/dispatch/outcome.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = writeback::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const ConflictRule kRule{3, absl::Hours(1)};

MailboxRecord InSync() {
  MailboxRecord m;
  m.cloud_id = "m1";
  m.forest = "corp.example.test";
  m.status = v1::IN_SYNC;
  m.dn = "CN=u1,OU=Mailboxes,DC=corp";
  (*m.desired.mutable_attributes())["extensionAttribute1"].add_values("cloud");
  m.last_known = m.desired;
  return m;
}

std::vector<AttributeDrift> OnPrem(const std::string& value) {
  return {{"extensionAttribute1", {"cloud"}, {value}}};
}

const DriftContext kScan{"scan", "scan-1", "ldaps://dc1", "CN=u1,OU=Mailboxes,DC=corp",
                         "20261123202109.0Z", 4711};

TEST(CorrectionTest, DriftIsRecordedAndQueuedAsACompareAndSwapFromWhatWasFound) {
  MailboxRecord m = InSync();
  std::vector<v1::DriftRecord> records;
  EXPECT_FALSE(ApplyDrift(OnPrem("onprem-1"), kScan, kNow, kRule, &m, &records));
  EXPECT_EQ(m.status, v1::PENDING);
  EXPECT_THAT(m.last_known->attributes().at("extensionAttribute1").values(),
              ElementsAre("onprem-1"));
  EXPECT_THAT(m.corrections_ms, ElementsAre(absl::ToUnixMillis(kNow)));
  ASSERT_EQ(records.size(), 1u);
  const v1::DriftRecord& r = records[0];
  EXPECT_EQ(r.mailbox_id(), "m1");
  EXPECT_EQ(r.forest(), "corp.example.test");
  EXPECT_EQ(r.attribute(), "extensionAttribute1");
  EXPECT_THAT(r.expected(), ElementsAre("cloud"));
  EXPECT_THAT(r.found(), ElementsAre("onprem-1"));
  EXPECT_EQ(r.when_changed(), "20261123202109.0Z");
  EXPECT_EQ(r.dc(), "ldaps://dc1");
  EXPECT_EQ(r.usn_changed(), 4711);
  EXPECT_EQ(r.source(), "scan");
  EXPECT_EQ(r.work_id(), "scan-1");
  EXPECT_EQ(r.action(), "corrected");
  EXPECT_EQ(r.corrections(), 1u);
  EXPECT_EQ(r.time_ms(), absl::ToUnixMillis(kNow));
}

TEST(CorrectionTest, TheThirdCorrectionWithinTheWindowHoldsTheMailboxInstead) {
  MailboxRecord m = InSync();
  std::vector<v1::DriftRecord> records;
  EXPECT_FALSE(ApplyDrift(OnPrem("onprem-1"), kScan, kNow, kRule, &m, &records));
  m.status = v1::IN_SYNC;  // corrected
  EXPECT_FALSE(
      ApplyDrift(OnPrem("onprem-2"), kScan, kNow + absl::Minutes(10), kRule, &m, &records));
  m.status = v1::IN_SYNC;
  EXPECT_TRUE(
      ApplyDrift(OnPrem("onprem-3"), kScan, kNow + absl::Minutes(20), kRule, &m, &records));
  EXPECT_EQ(m.status, v1::CONFLICT_HOLD);
  EXPECT_THAT(m.last_error, HasSubstr("extensionAttribute1"));
  EXPECT_THAT(m.last_error, HasSubstr("onprem-3"));
  EXPECT_THAT(m.last_error, HasSubstr("3 corrections"));
  EXPECT_THAT(m.last_known->attributes().at("extensionAttribute1").values(),
              ElementsAre("onprem-3"))
      << "what AD holds is known; the on-prem value stays";
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].action(), "conflict");
  EXPECT_EQ(records[2].corrections(), 3u);
  EXPECT_EQ(m.corrections_ms.size(), 2u) << "the held trigger is no correction";
}

TEST(CorrectionTest, CorrectionsOutsideTheWindowNoLongerCount) {
  MailboxRecord m = InSync();
  std::vector<v1::DriftRecord> records;
  ApplyDrift(OnPrem("a"), kScan, kNow, kRule, &m, &records);
  ApplyDrift(OnPrem("b"), kScan, kNow + absl::Minutes(30), kRule, &m, &records);
  // 61 minutes after the first: only the second one is within the hour.
  EXPECT_FALSE(ApplyDrift(OnPrem("c"), kScan, kNow + absl::Minutes(61), kRule, &m, &records));
  EXPECT_EQ(m.status, v1::PENDING);
  EXPECT_EQ(m.corrections_ms.size(), 2u);
  EXPECT_EQ(RecentCorrections(m, kNow + absl::Minutes(61), absl::Hours(1)), 2u);
}

TEST(CorrectionTest, ZeroCorrectionsNeverHolds) {
  MailboxRecord m = InSync();
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(ApplyDrift(OnPrem("x"), kScan, kNow + absl::Seconds(i), {0, absl::Hours(1)},
                            &m, nullptr));
  }
  EXPECT_EQ(m.status, v1::PENDING);
}

// A job answered CONFLICT is drift with source "job" and counts the same.
struct JobFixture {
  MailboxRecord m = InSync();
  v1::Job job;
  JobFixture() {
    (*m.desired.mutable_attributes())["extensionAttribute1"].set_values(0, "cloud-2");
    job.set_job_id("j1");
    job.set_mailbox_id("m1");
    job.set_generation(2);
    auto* c = job.add_changes();
    c->set_attribute("extensionAttribute1");
    c->add_expected("cloud");
    c->add_desired("cloud-2");
  }
  absl::Status Conflict(const std::string& found, absl::Time now, RetryPolicy policy,
                        std::vector<v1::DriftRecord>* drift) {
    m.status = v1::IN_FLIGHT;
    m.inflight_id = "j1";
    v1::JobResult r;
    r.set_job_id("j1");
    r.set_outcome(v1::CONFLICT);
    r.set_dc("ldaps://dc1");
    r.set_dn(m.dn);
    (*r.mutable_found()->mutable_attributes())["extensionAttribute1"].add_values(found);
    return ApplyJobResult(job, r, now, policy, &m, nullptr, drift);
  }
};

TEST(CorrectionTest, AJobConflictIsADriftRecordAndACorrection) {
  JobFixture f;
  RetryPolicy policy;
  std::vector<v1::DriftRecord> drift;
  ASSERT_OK(f.Conflict("onprem", kNow, policy, &drift));
  EXPECT_EQ(f.m.status, v1::PENDING);
  EXPECT_EQ(f.m.known_ms, absl::ToUnixMillis(kNow));
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].source(), "job");
  EXPECT_EQ(drift[0].work_id(), "j1");
  EXPECT_THAT(drift[0].expected(), ElementsAre("cloud")) << "what the job expected AD held";
  EXPECT_THAT(drift[0].found(), ElementsAre("onprem"));
  EXPECT_EQ(drift[0].action(), "corrected");
  EXPECT_EQ(f.m.corrections_ms.size(), 1u);
}

TEST(CorrectionTest, APersistentDualWriterSeenByJobsEndsInConflictHold) {
  JobFixture f;
  RetryPolicy policy;
  policy.conflict = {3, absl::Hours(1)};
  std::vector<v1::DriftRecord> drift;
  ASSERT_OK(f.Conflict("onprem-1", kNow, policy, &drift));
  f.job.mutable_changes(0)->set_expected(0, "onprem-1");
  ASSERT_OK(f.Conflict("onprem-2", kNow + absl::Minutes(1), policy, &drift));
  f.job.mutable_changes(0)->set_expected(0, "onprem-2");
  ASSERT_OK(f.Conflict("onprem-3", kNow + absl::Minutes(2), policy, &drift));
  EXPECT_EQ(f.m.status, v1::CONFLICT_HOLD);
  ASSERT_EQ(drift.size(), 3u);
  EXPECT_EQ(drift[2].action(), "conflict");

  // The operator decides: the history is cleared and it is corrected again.
  auto retried = RetryNow(&f.m);
  ASSERT_OK(retried);
  EXPECT_TRUE(*retried);
  EXPECT_EQ(f.m.status, v1::PENDING);
  EXPECT_TRUE(f.m.corrections_ms.empty());
  f.job.mutable_changes(0)->set_expected(0, "onprem-3");
  ASSERT_OK(f.Conflict("onprem-4", kNow + absl::Minutes(3), policy, &drift));
  EXPECT_EQ(f.m.status, v1::PENDING) << "a fresh window after the release";
}

TEST(CorrectionTest, ALostAnswerIsNoDrift) {
  JobFixture f;
  v1::Job lost = f.job;
  lost.set_job_id("j0");
  (*f.m.unconfirmed.add_jobs()) = lost;
  std::vector<v1::DriftRecord> drift;
  ASSERT_OK(f.Conflict("cloud-2", kNow, RetryPolicy{}, &drift));
  EXPECT_TRUE(drift.empty());
  EXPECT_TRUE(f.m.corrections_ms.empty());
}

}  // namespace
}  // namespace writeback::controller
