#include "controller/planner/job_planner.h"

#include <algorithm>
#include <map>

#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"

namespace writeback::controller {

std::vector<std::string> ValuesOf(const writeback::v1::AttributeMap& map,
                                  const std::string& attribute) {
  auto it = map.attributes().find(attribute);
  if (it == map.attributes().end()) return {};
  return {it->second.values().begin(), it->second.values().end()};
}

PlanDecision PlanMailbox(const MailboxRecord& mailbox, const std::string& job_id) {
  PlanDecision decision;
  if (!mailbox.last_known.has_value()) {
    decision.kind = PlanDecision::kRead;
    return decision;
  }
  // Sorted for a stable job layout (tests and the log read better).
  std::map<std::string, std::vector<std::string>> desired;
  for (const auto& [name, values] : mailbox.desired.attributes()) {
    desired[name] = {values.values().begin(), values.values().end()};
  }
  writeback::v1::Job& job = decision.job;
  for (const auto& [name, want] : desired) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr) continue;  // refused at the Admin API; never planned
    std::vector<std::string> have = ValuesOf(*mailbox.last_known, name);
    if (SetsEqual(*spec, have, want)) continue;
    writeback::v1::AttributeChange* change = job.add_changes();
    change->set_attribute(name);
    for (const auto& v : have) change->add_expected(v);
    for (const auto& v : want) change->add_desired(v);
  }
  if (job.changes().empty()) {
    // Nothing left to write; after a redelivery, read the object once to
    // verify what AD holds before calling it in sync.
    decision.kind = mailbox.verify_read ? PlanDecision::kRead : PlanDecision::kInSync;
    job.Clear();
    return decision;
  }
  decision.kind = PlanDecision::kJob;
  job.set_job_id(job_id);
  job.set_mailbox_id(mailbox.cloud_id);
  job.set_source_anchor(mailbox.source_anchor);
  job.set_generation(mailbox.desired_gen);
  return decision;
}

}  // namespace writeback::controller
