// ControllerMetrics as the dispatcher and the Admin API drive it: jobs by
// outcome and the change-to-acknowledgement latency, read back in the
// Prometheus text the endpoint serves.
#include "controller/metrics/controller_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "common/metrics/text_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

v1::Job JobFor(const std::string& mailbox, uint64_t gen) {
  v1::Job job;
  job.set_mailbox_id(mailbox);
  job.set_generation(gen);
  return job;
}

v1::JobResult Result(v1::Outcome outcome) {
  v1::JobResult r;
  r.set_outcome(outcome);
  return r;
}

class ControllerMetricsTest : public ::testing::Test {
 protected:
  std::string Text() const { return metrics::RenderText(registry_); }
  std::string Latency(const std::string& suffix) const {
    return absl::StrCat("writeback_controller_change_latency_seconds_", suffix,
                        "{forest=\"corp\"} ");
  }

  metrics::Registry registry_;
  ControllerMetrics metrics_{&registry_, /*store=*/nullptr};
};

TEST_F(ControllerMetricsTest, LatencyRunsFromTheEarliestChangeAJobCarries) {
  metrics_.ChangeAccepted("m1", 1, kT0);
  metrics_.ChangeAccepted("m1", 2, kT0 + absl::Seconds(1));  // coalesced into one job
  metrics_.JobAnswered("corp", JobFor("m1", 2), Result(v1::APPLIED), kT0 + absl::Seconds(3));
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr(Latency("count") + "1\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "3\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "writeback_controller_jobs_answered_total{forest=\"corp\",outcome=\"APPLIED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("writeback_controller_changes_accepted_total 2\n"));
}

TEST_F(ControllerMetricsTest, OnlyAcknowledgementsStopTheClock) {
  metrics_.ChangeAccepted("m1", 1, kT0);
  metrics_.JobAnswered("corp", JobFor("m1", 1), Result(v1::FAILED_RETRYABLE),
                       kT0 + absl::Seconds(1));
  metrics_.JobAnswered("corp", JobFor("m1", 1), Result(v1::ALREADY_IN_STATE),
                       kT0 + absl::Seconds(5));
  // A later answer for the same generation (a drift repair) has no change to time.
  metrics_.JobAnswered("corp", JobFor("m1", 1), Result(v1::APPLIED), kT0 + absl::Seconds(9));
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr(Latency("count") + "1\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "5\n"));
}

TEST_F(ControllerMetricsTest, AnAcknowledgementStopsOnlyTheGenerationsItCarries) {
  metrics_.ChangeAccepted("m1", 1, kT0);
  metrics_.ChangeAccepted("m1", 2, kT0 + absl::Seconds(1));
  metrics_.ChangeAccepted("m1", 3, kT0 + absl::Seconds(2));  // after the job for 2 was planned
  metrics_.JobAnswered("corp", JobFor("m1", 2), Result(v1::APPLIED), kT0 + absl::Seconds(5));
  metrics_.JobAnswered("corp", JobFor("m1", 3), Result(v1::APPLIED), kT0 + absl::Seconds(10));
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr(Latency("count") + "2\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "13\n"));  // 5 (from gen 1) + 8 (gen 3)
}

TEST_F(ControllerMetricsTest, ManyMailboxesEachTimedOnItsOwn) {
  for (int i = 0; i < 1000; ++i) {
    metrics_.ChangeAccepted(absl::StrCat("m", i), 1, kT0 + absl::Seconds(i % 2));
  }
  for (int i = 0; i < 1000; ++i) {
    metrics_.JobAnswered("corp", JobFor(absl::StrCat("m", i), 1), Result(v1::APPLIED),
                         kT0 + absl::Seconds(2));
  }
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr(Latency("count") + "1000\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "1500\n"));  // 500 × 2 s + 500 × 1 s
}

TEST_F(ControllerMetricsTest, AMailboxAddedAgainStartsAfresh) {
  metrics_.ChangeAccepted("m1", 5, kT0);                       // never acknowledged, then removed
  metrics_.ChangeAccepted("m1", 1, kT0 + absl::Seconds(100));  // added again
  metrics_.JobAnswered("corp", JobFor("m1", 1), Result(v1::APPLIED), kT0 + absl::Seconds(102));
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr(Latency("count") + "1\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "2\n"));
}

TEST_F(ControllerMetricsTest, BeingToldTheSameGenerationTwiceCountsOnce) {
  metrics_.ChangeAccepted("m1", 1, kT0);
  metrics_.ChangeAccepted("m1", 1, kT0 + absl::Seconds(4));
  metrics_.JobAnswered("corp", JobFor("m1", 1), Result(v1::APPLIED), kT0 + absl::Seconds(6));
  std::string text = Text();
  EXPECT_THAT(text, HasSubstr("writeback_controller_changes_accepted_total 1\n"));
  EXPECT_THAT(text, HasSubstr(Latency("sum") + "6\n"));
}

}  // namespace
}  // namespace writeback::controller
