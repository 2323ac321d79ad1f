#include "common/metrics/registry.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::metrics {
namespace {

TEST(RegistryTest, SeriesAreCreatedOnFirstUseAndKeepTheirReference) {
  Registry registry;
  CounterFamily& jobs = registry.AddCounter("jobs_total", "Jobs.", {"outcome"});
  Counter& applied = jobs.With({"APPLIED"});
  applied.Inc();
  applied.Inc(2);
  EXPECT_EQ(&jobs.With({"APPLIED"}), &applied);
  EXPECT_EQ(jobs.With({"APPLIED"}).Value(), 3);
  EXPECT_EQ(jobs.With({"CONFLICT"}).Value(), 0);
}

TEST(RegistryTest, GaugeGoesUpAndDown) {
  Registry registry;
  Gauge& g = registry.AddGauge("connected", "Connected.").With({});
  g.Inc();
  g.Inc();
  g.Dec();
  EXPECT_EQ(g.Value(), 1);
  g.Set(7.5);
  EXPECT_EQ(g.Value(), 7.5);
}

TEST(RegistryTest, HistogramBucketsAreCumulativeAndBoundsInclusive) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0}) h.Observe(v);
  Histogram::Snapshot s = h.Read();
  EXPECT_THAT(s.cumulative, ::testing::ElementsAre(2, 4, 5, 6));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 106.65);
}

TEST(RegistryTest, CollectorsRunBeforeRendering) {
  Registry registry;
  GaugeFamily& depth = registry.AddGauge("depth", "Queue depth.", {"forest"});
  int calls = 0;
  registry.AddCollector([&] { depth.With({"corp"}).Set(++calls * 10); });
  registry.Collect();
  registry.Collect();
  EXPECT_EQ(depth.With({"corp"}).Value(), 20);
}

TEST(RegistryTest, ConcurrentUpdatesLoseNothing) {
  Registry registry;
  CounterFamily& counters = registry.AddCounter("c_total", "C.", {"thread"});
  HistogramFamily& hist = registry.AddHistogram("h_seconds", "H.", {}, {0.5, 1});
  Gauge& gauge = registry.AddGauge("g", "G.").With({});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counters.With({"shared"}).Inc();
        counters.With({std::to_string(t % 2)}).Inc();
        hist.With({}).Observe(i % 2 == 0 ? 0.25 : 0.75);
        gauge.Inc();
        gauge.Dec();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counters.With({"shared"}).Value(), kThreads * kPerThread);
  EXPECT_EQ(counters.With({"0"}).Value() + counters.With({"1"}).Value(), kThreads * kPerThread);
  Histogram::Snapshot s = hist.With({}).Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kPerThread / 2 * (0.25 + 0.75));
  EXPECT_EQ(gauge.Value(), 0);
}

TEST(RegistryDeathTest, RefusesDuplicateNamesAndBadLabels) {
  Registry registry;
  registry.AddCounter("dup_total", "D.");
  EXPECT_DEATH(registry.AddCounter("dup_total", "D."), "registered twice");
  EXPECT_DEATH(registry.AddGauge("bad-name", "B."), "invalid metric name");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {"le"}, {1}), "invalid label name");
  EXPECT_DEATH(registry.AddHistogram("h2", "H.", {}, {2, 1}), "strictly increasing");
  CounterFamily& f = registry.AddCounter("f_total", "F.", {"a", "b"});
  EXPECT_DEATH(f.With({"x"}), "1 label values for 2 labels");
}

}  // namespace
}  // namespace writeback::metrics
