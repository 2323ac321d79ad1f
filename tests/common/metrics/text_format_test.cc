#include "common/metrics/text_format.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::metrics {
namespace {

using ::testing::HasSubstr;

TEST(TextFormatTest, CounterAndGaugeWithHelpTypeAndLabels) {
  Registry registry;
  registry.AddCounter("jobs_total", "Jobs answered.", {"outcome", "forest"})
      .With({"APPLIED", "corp"})
      .Inc(40);
  registry.AddGauge("up", "Up.").With({}).Set(1);
  EXPECT_EQ(RenderText(registry),
            "# HELP jobs_total Jobs answered.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{outcome=\"APPLIED\",forest=\"corp\"} 40\n"
            "# HELP up Up.\n"
            "# TYPE up gauge\n"
            "up 1\n");
}

TEST(TextFormatTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.AddCounter("e_total", "Back\\slash and\nnewline.", {"v"}).With({"a\"b\\c\nd"}).Inc();
  EXPECT_EQ(RenderText(registry),
            "# HELP e_total Back\\\\slash and\\nnewline.\n"
            "# TYPE e_total counter\n"
            "e_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(TextFormatTest, HistogramHasCumulativeBucketsInfSumAndCount) {
  Registry registry;
  Histogram& h =
      registry.AddHistogram("lat_seconds", "Latency.", {"op"}, {0.005, 0.5, 1}).With({"modify"});
  h.Observe(0.001);
  h.Observe(0.2);
  h.Observe(0.3);
  h.Observe(2);
  EXPECT_EQ(RenderText(registry),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"modify\",le=\"0.005\"} 1\n"
            "lat_seconds_bucket{op=\"modify\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{op=\"modify\",le=\"1\"} 3\n"
            "lat_seconds_bucket{op=\"modify\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"modify\"} 2.501\n"
            "lat_seconds_count{op=\"modify\"} 4\n");
}

TEST(TextFormatTest, HistogramWithoutLabelsHasOnlyLe) {
  Registry registry;
  registry.AddHistogram("commit_seconds", "Commits.", {}, {1}).With({}).Observe(0.5);
  std::string text = RenderText(registry);
  EXPECT_THAT(text, HasSubstr("commit_seconds_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("commit_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("commit_seconds_sum 0.5\n"));
  EXPECT_THAT(text, HasSubstr("commit_seconds_count 1\n"));
}

TEST(TextFormatTest, FamilyWithoutSeriesShowsOnlyItsHeader) {
  Registry registry;
  registry.AddCounter("none_total", "Nothing yet.", {"x"});
  EXPECT_EQ(RenderText(registry), "# HELP none_total Nothing yet.\n# TYPE none_total counter\n");
}

TEST(TextFormatTest, FormatsSpecialAndFractionalValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.0025), "0.0025");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(std::stod(FormatValue(1.0 / 3)), 1.0 / 3);
}

}  // namespace
}  // namespace writeback::metrics
