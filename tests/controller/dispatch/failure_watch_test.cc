#include "controller/dispatch/failure_watch.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

v1::JobResult Answer(int i, v1::Outcome outcome) {
  v1::JobResult r;
  r.set_job_id(absl::StrCat("j-", i));
  r.set_outcome(outcome);
  if (outcome == v1::FAILED_PERMANENT) {
    r.set_ldap_code(50);
    r.set_diagnostic("insufficientAccessRights: no write access to extensionAttribute1");
  }
  return r;
}

TEST(FailureWatchTest, PausesOnceTheRatioIsCrossedPastTheMinimumAndNamesTheFailures) {
  FailureWatch watch({0.4, 10, absl::Minutes(5)});
  // 9 failures in a row: below the minimum count, no judgement yet.
  for (int i = 0; i < 9; ++i) {
    EXPECT_FALSE(watch.Record("corp", "m" + std::to_string(i), Answer(i, v1::FAILED_PERMANENT),
                              kT0 + absl::Seconds(i)));
  }
  auto reason = watch.Record("corp", "m9", Answer(9, v1::FAILED_PERMANENT), kT0 + absl::Seconds(9));
  ASSERT_TRUE(reason.has_value());
  EXPECT_THAT(*reason, HasSubstr("10 of the 10 jobs"));
  EXPECT_THAT(*reason, HasSubstr("job j-9 mailbox m9: LDAP 50: insufficientAccessRights"));
  // Once tripped, it says so once until reset.
  EXPECT_FALSE(watch.Record("corp", "m10", Answer(10, v1::FAILED_PERMANENT), kT0 + absl::Seconds(10)));
  watch.Reset("corp");
  EXPECT_FALSE(watch.Record("corp", "m11", Answer(11, v1::FAILED_PERMANENT), kT0 + absl::Seconds(11)));
}

TEST(FailureWatchTest, StaysQuietAtOrBelowTheRatioAndCountsOnlyFailures) {
  FailureWatch watch({0.4, 10, absl::Minutes(5)});
  // 4 failures in 10 (40 %): not above the threshold. Conflicts and policy
  // refusals are not failures of the directory.
  for (int i = 0; i < 10; ++i) {
    v1::Outcome o = i < 4 ? v1::FAILED_RETRYABLE : (i < 7 ? v1::CONFLICT : v1::REJECTED_BY_POLICY);
    EXPECT_FALSE(watch.Record("corp", "m", Answer(i, o), kT0)) << i;
  }
}

TEST(FailureWatchTest, OldAnswersLeaveTheWindowAndForestsAreSeparate) {
  FailureWatch watch({0.4, 4, absl::Minutes(5)});
  for (int i = 0; i < 3; ++i) watch.Record("corp", "m", Answer(i, v1::FAILED_PERMANENT), kT0);
  // Ten minutes later those three are out of the window.
  const absl::Time later = kT0 + absl::Minutes(10);
  EXPECT_FALSE(watch.Record("corp", "m", Answer(3, v1::APPLIED), later));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(watch.Record("lab", "m", Answer(i, v1::APPLIED), later));
  EXPECT_FALSE(watch.Record("lab", "m", Answer(9, v1::FAILED_PERMANENT), later));
}

TEST(FailureWatchTest, FailuresThatLeaveTheWindowNoLongerCount) {
  FailureWatch watch({0.4, 4, absl::Minutes(5)});
  for (int i = 0; i < 3; ++i) watch.Record("corp", "m", Answer(i, v1::FAILED_PERMANENT), kT0);
  const absl::Time later = kT0 + absl::Minutes(10);
  // Four answers in the window, none failed: the three old failures left.
  for (int i = 3; i < 7; ++i) {
    EXPECT_FALSE(watch.Record("corp", "m", Answer(i, v1::APPLIED), later)) << i;
  }
  // Two new failures among six answers: 33 %, still quiet; a third, 43 %, trips it and
  // names the newest failures first.
  EXPECT_FALSE(watch.Record("corp", "m7", Answer(7, v1::FAILED_PERMANENT), later));
  EXPECT_FALSE(watch.Record("corp", "m8", Answer(8, v1::FAILED_PERMANENT), later));
  auto reason = watch.Record("corp", "m9", Answer(9, v1::FAILED_PERMANENT), later);
  ASSERT_TRUE(reason.has_value());
  EXPECT_THAT(*reason, HasSubstr("3 of the 7 jobs"));
  EXPECT_THAT(*reason, HasSubstr("job j-9 mailbox m9: LDAP 50"));
  EXPECT_THAT(*reason, ::testing::Not(HasSubstr("job j-0 ")));
}

}  // namespace
}  // namespace writeback::controller
