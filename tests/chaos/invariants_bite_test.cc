// The chaos invariant must bite (tests/chaos/invariants.h): after a clean,
// converged run (the checks pass), a change dropped on purpose and a stale
// write replayed on purpose must each make the checks fail, naming the
// mailbox, attribute and write. Small fixed sizes: this tests the checks,
// not the system. The two tests share one run (SetUpTestSuite) and touch
// different mailboxes; each puts AD back as it found it, and the stale-write
// check names every stale write, so their order does not matter.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr ChaosSizes kSizes{/*mailboxes=*/12, /*generations=*/3};
constexpr char kAttr1[] = "extensionAttribute1";
constexpr char kAttr2[] = "extensionAttribute2";

class ChaosInvariantsBiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new WritebackEnv;
    work_ = new ChaosWorkload(*env_, kSizes);
    env_->set_controller_config(ChaosWorkload::kControllerConfig);
    ASSERT_OK(env_->StartDc());
    ASSERT_OK(env_->StartController());
    ASSERT_OK(env_->StartAgent(1));
    ASSERT_OK(work_->Register()) << env_->LogsForFailure();
    work_->StartChanges();
    ASSERT_OK(work_->WaitChangesSent());
    ASSERT_OK(env_->Admin().WaitAllInSync(work_->Guard())) << env_->LogsForFailure();
    clean_ = CheckInvariants(*env_, work_->Expected(), work_->Options());
  }
  static void TearDownTestSuite() {
    delete work_;
    delete env_;
  }
  void SetUp() override {
    ASSERT_NE(work_, nullptr);
    ASSERT_OK(clean_) << "a clean run must pass before the checks are shown to fail";
  }

  static WritebackEnv* env_;
  static ChaosWorkload* work_;
  static absl::Status clean_;
};

WritebackEnv* ChaosInvariantsBiteTest::env_ = nullptr;
ChaosWorkload* ChaosInvariantsBiteTest::work_ = nullptr;
absl::Status ChaosInvariantsBiteTest::clean_ = absl::UnknownError("no run");

TEST_F(ChaosInvariantsBiteTest, ADroppedChangeFailsTheCheck) {
  const int gen = kSizes.generations;
  // The model records a change that was never sent: "nothing lost" fails.
  std::vector<ExpectedMailbox> expected = work_->Expected();
  expected[3].desired[kAttr1] = {ChaosWorkload::Value1(gen + 1, 3)};
  expected[3].history[kAttr1][ChaosWorkload::Value1(gen + 1, 3)].insert(gen + 1);
  EXPECT_THAT(CheckInvariants(*env_, expected, work_->Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(work_->ids()[3]), HasSubstr(kAttr1),
                             HasSubstr(ChaosWorkload::Value1(gen + 1, 3)))));

  // A value deleted behind everyone's back: AD differs from the desired state.
  const std::string dn = work_->users()[5].dn;
  const std::string value = ChaosWorkload::Value2(2, 5);  // the last even generation
  ASSERT_OK(env_->dc().Modify(dn, {{kAttr2, {}}}));
  EXPECT_OK(CheckNothingLost(*env_, work_->Expected())) << "the controller still wants it";
  EXPECT_THAT(CheckAdEqualsDesired(*env_, work_->Expected()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(work_->ids()[5]), HasSubstr(kAttr2), HasSubstr(value))));
  EXPECT_THAT(CheckInvariants(*env_, work_->Expected(), work_->Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(work_->ids()[5])));
  ASSERT_OK(env_->dc().Modify(dn, {{kAttr2, {value}}}));  // as it was
  EXPECT_OK(CheckAdEqualsDesired(*env_, work_->Expected()));
}

TEST_F(ChaosInvariantsBiteTest, AReplayedStaleWriteFailsTheAuditCheck) {
  const int gen = kSizes.generations;
  // An older generation's value written as the Administrator, then the
  // current one put back: AD ends right, only the audit log shows the stale
  // write, and the check must name it.
  const std::string dn = work_->users()[7].dn;
  ASSERT_OK(env_->dc().Modify(dn, {{kAttr1, {ChaosWorkload::Value1(1, 7)}}}));
  ASSERT_OK(env_->dc().Modify(dn, {{kAttr1, {ChaosWorkload::Value1(gen, 7)}}}));
  EXPECT_OK(CheckNothingLost(*env_, work_->Expected()));
  EXPECT_OK(CheckAdEqualsDesired(*env_, work_->Expected()));
  EXPECT_THAT(CheckNoStaleWrite(*env_, work_->Expected(), work_->Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(work_->ids()[7]), HasSubstr(kAttr1),
                             HasSubstr("went back to \"" + ChaosWorkload::Value1(1, 7)))));
  EXPECT_THAT(CheckInvariants(*env_, work_->Expected(), work_->Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(work_->ids()[7])));
}

}  // namespace
}  // namespace writeback::testing
