// A small, thread-safe metrics registry: counters, gauges and histograms,
// each a family of series told apart by label values, rendered in the
// Prometheus text exposition format 0.0.4 (text_format.h). Read this header
// first in common/metrics.
//
//   Registry registry;
//   auto& jobs = registry.AddCounter("writeback_agent_jobs_total",
//                                    "Jobs answered, by outcome.",
//                                    {"outcome"});
//   Counter& applied = jobs.With({"APPLIED"});   // look up once, keep the
//   reference applied.Inc();                                // hot path: one
//   atomic add auto& latency =
//   registry.AddHistogram("writeback_agent_ldap_operation_seconds",
//                                         "LDAP operation latency.",
//                                         {"operation"},
//                                         DefaultLatencyBuckets());
//   latency.With({"modify"}).Observe(0.012);
//   registry.AddCollector([&] { queue.With({"corp"}).Set(CountQueued()); });
//   std::string text = RenderText(registry);      // runs the collectors first
//
// Series are created on first use and live as long as the registry: the
// references With() returns stay valid. Families are registered at start-up;
// a name registered twice is a programmer error (CHECK). Not copyable.
#ifndef WRITEBACK_COMMON_METRICS_REGISTRY_H_
#define WRITEBACK_COMMON_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace writeback::metrics {

// A value that only goes up (resets only when the process restarts).
class Counter {
 public:
  // `v` must not be negative.
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound (le), with their sum and
// count. Each observation costs two atomic adds and one binary search.
class Histogram {
 public:
  // `bounds`: strictly increasing, finite upper bounds; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Cumulative counts; consistent enough for scraping (an observation racing
  // the snapshot may show in a bucket but not yet in count, never the
  // reverse order of magnitude). The +Inf bucket equals count.
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Seconds, 1 ms to 60 s: the latencies of LDAP operations, commits and
// changes travelling to AD.
std::vector<double> DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// The series of one metric name, one per distinct tuple of label values.
template <typename T>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        factory_(std::move(factory)) {}

  // The series with these label values (as many as label names; CHECKed),
  // created on first use. The reference stays valid.
  T& With(const std::vector<std::string>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls `f(label_values, series)` for each series, in label order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const T&)>& f) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const Factory factory_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* (not "le" for histograms); CHECKed.
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names, std::vector<double> bounds);

  // `collect` runs before each rendering (on the scraping thread), to set
  // gauges whose values are cheaper to compute on demand (queue depths read
  // from the store). It must not call back into Render.
  void AddCollector(std::function<void()> collect);
  void Collect() const;

  // Families in registration order, for the text writer.
  struct Entry {
    MetricType type;
    const CounterFamily* counter = nullptr;
    const GaugeFamily* gauge = nullptr;
    const HistogramFamily* histogram = nullptr;
  };
  std::vector<Entry> Entries() const;

 private:
  void CheckNew(const std::string& name, const std::vector<std::string>& label_names,
                bool histogram) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<GaugeFamily>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<HistogramFamily>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
  // Serializes collectors (two scrapes at once).
  mutable absl::Mutex collect_mu_;
};

// --- implementation of the template ---

template <typename T>
T& Family<T>::With(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    // Programmer error: the call site names the wrong number of labels.
    std::fprintf(stderr, "metric %s: %zu label values for %zu labels\n", name_.c_str(),
                 label_values.size(), label_names_.size());
    std::abort();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& slot = series_[label_values];
  if (slot == nullptr) slot = factory_();
  return *slot;
}

template <typename T>
void Family<T>::ForEach(
    const std::function<void(const std::vector<std::string>&, const T&)>& f) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, series] : series_) f(labels, *series);
}

}  // namespace writeback::metrics

#endif  // WRITEBACK_COMMON_METRICS_REGISTRY_H_
