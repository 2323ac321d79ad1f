#include "common/metrics/text_format.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"

namespace writeback::metrics {
namespace {

// {a="x",b="y"} with `extra` (already escaped, e.g. le="0.5") appended.
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, i > 0 ? "," : "", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, names.empty() ? "" : ",", extra);
  out += "}";
  return out;
}

void Header(std::string* out, const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Prefer the shortest form that reads back the same double.
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string RenderText(const Registry& registry) {
  registry.Collect();
  std::string out;
  for (const Registry::Entry& e : registry.Entries()) {
    switch (e.type) {
      case MetricType::kCounter: {
        const CounterFamily& f = *e.counter;
        Header(&out, f.name(), f.help(), "counter");
        f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
          absl::StrAppend(&out, f.name(), Labels(f.label_names(), labels), " ",
                          FormatValue(c.Value()), "\n");
        });
        break;
      }
      case MetricType::kGauge: {
        const GaugeFamily& f = *e.gauge;
        Header(&out, f.name(), f.help(), "gauge");
        f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
          absl::StrAppend(&out, f.name(), Labels(f.label_names(), labels), " ",
                          FormatValue(g.Value()), "\n");
        });
        break;
      }
      case MetricType::kHistogram: {
        const HistogramFamily& f = *e.histogram;
        Header(&out, f.name(), f.help(), "histogram");
        f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
          Histogram::Snapshot s = h.Read();
          for (size_t i = 0; i <= s.bounds.size(); ++i) {
            const std::string le =
                i < s.bounds.size() ? FormatValue(s.bounds[i]) : std::string("+Inf");
            absl::StrAppend(&out, f.name(), "_bucket",
                            Labels(f.label_names(), labels, absl::StrCat("le=\"", le, "\"")), " ",
                            s.cumulative[i], "\n");
          }
          const std::string plain = Labels(f.label_names(), labels);
          absl::StrAppend(&out, f.name(), "_sum", plain, " ", FormatValue(s.sum), "\n");
          absl::StrAppend(&out, f.name(), "_count", plain, " ", s.count, "\n");
        });
        break;
      }
    }
  }
  return out;
}

}  // namespace writeback::metrics
