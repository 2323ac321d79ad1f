#include "controller/reconcile/compare.h"

#include <map>

#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "controller/planner/job_planner.h"

namespace writeback::controller {

std::vector<AttributeDrift> DiffAttributes(const writeback::v1::AttributeMap& desired,
                                           const writeback::v1::AttributeMap& found) {
  // Sorted by name, as the planner lays out its jobs.
  std::map<std::string, std::vector<std::string>> want;
  for (const auto& [name, values] : desired.attributes()) {
    want[name] = {values.values().begin(), values.values().end()};
  }
  std::vector<AttributeDrift> out;
  for (auto& [name, values] : want) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr) continue;  // refused at the Admin API; never managed
    std::vector<std::string> have = ValuesOf(found, name);
    if (SetsEqual(*spec, have, values)) continue;
    out.push_back({name, std::move(values), std::move(have)});
  }
  return out;
}

Comparison CompareObservation(const MailboxRecord& m,
                              const writeback::v1::ObservedObject& observed,
                              absl::Time scan_started) {
  Comparison c;
  if (observed.failure() != writeback::v1::OUTCOME_UNSPECIFIED) {
    c.reason = Comparison::kReadFailed;
    return c;
  }
  if (m.status == writeback::v1::IN_FLIGHT || !m.inflight_id.empty()) {
    c.reason = Comparison::kInFlight;
    return c;
  }
  const int64_t started_ms = absl::ToUnixMillis(scan_started);
  if (m.known_ms >= started_ms || m.updated_ms >= started_ms) {
    c.reason = Comparison::kStale;
    return c;
  }
  if (!m.last_known.has_value()) {
    c.reason = Comparison::kNotOnboarded;
    return c;
  }
  if (m.status != writeback::v1::IN_SYNC) {
    c.reason = Comparison::kNotCorrectable;
    return c;
  }
  c.drift = DiffAttributes(m.desired, observed.attributes());
  c.kind = c.drift.empty() ? Comparison::kInSync : Comparison::kDrift;
  return c;
}

const char* ReasonName(Comparison::Reason reason) {
  switch (reason) {
    case Comparison::kNone:
      return "none";
    case Comparison::kInFlight:
      return "in flight";
    case Comparison::kStale:
      return "stale";
    case Comparison::kNotOnboarded:
      return "not onboarded";
    case Comparison::kNotCorrectable:
      return "not correctable";
    case Comparison::kReadFailed:
      return "read failed";
  }
  return "unknown";
}

}  // namespace writeback::controller
