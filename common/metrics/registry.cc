#include "common/metrics/registry.h"

#include <algorithm>
#include <cmath>

namespace writeback::metrics {
namespace {

void AtomicAdd(std::atomic<double>* target, double v) {
  double old = target->load(std::memory_order_relaxed);
  while (!target->compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

bool ValidName(const std::string& name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "metrics registry: %s\n", what.c_str());
  std::abort();
}

}  // namespace

void Counter::Inc(double v) {
  if (v < 0) Fail("a counter cannot decrease");
  AtomicAdd(&value_, v);
}

void Gauge::Add(double v) { AtomicAdd(&value_, v); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Fail("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // The first bound >= v: a value equal to a bound belongs to that bucket (le).
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Registry::CheckNew(const std::string& name, const std::vector<std::string>& label_names,
                        bool histogram) {
  if (!ValidName(name, /*colons=*/true)) Fail("invalid metric name \"" + name + "\"");
  for (const Entry& e : entries_) {
    const std::string& taken = e.counter ? e.counter->name()
                               : e.gauge ? e.gauge->name()
                                         : e.histogram->name();
    if (taken == name) Fail("metric \"" + name + "\" registered twice");
  }
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*colons=*/false) || label.rfind("__", 0) == 0 ||
        (histogram && label == "le")) {
      Fail("metric \"" + name + "\": invalid label name \"" + label + "\"");
    }
  }
}

CounterFamily& Registry::AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names, false);
  counters_.push_back(std::make_unique<CounterFamily>(name, help, std::move(label_names),
                                                      [] { return std::make_unique<Counter>(); }));
  entries_.push_back({MetricType::kCounter, counters_.back().get(), nullptr, nullptr});
  return *counters_.back();
}

GaugeFamily& Registry::AddGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names, false);
  gauges_.push_back(std::make_unique<GaugeFamily>(name, help, std::move(label_names),
                                                  [] { return std::make_unique<Gauge>(); }));
  entries_.push_back({MetricType::kGauge, nullptr, gauges_.back().get(), nullptr});
  return *gauges_.back();
}

HistogramFamily& Registry::AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names, true);
  Histogram check(bounds);  // fails now on bad bounds, not at first use
  histograms_.push_back(
      std::make_unique<HistogramFamily>(name, help, std::move(label_names),
                                        [bounds] { return std::make_unique<Histogram>(bounds); }));
  entries_.push_back({MetricType::kHistogram, nullptr, nullptr, histograms_.back().get()});
  return *histograms_.back();
}

void Registry::AddCollector(std::function<void()> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

void Registry::Collect() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  absl::MutexLock lock(&collect_mu_);
  for (const auto& collect : collectors) collect();
}

std::vector<Registry::Entry> Registry::Entries() const {
  absl::MutexLock lock(&mu_);
  return entries_;
}

}  // namespace writeback::metrics
