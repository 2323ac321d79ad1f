#include "tests/system/audit_checks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace writeback::testing {

std::map<std::string, std::vector<const AuditEvent*>> ModifiesByDn(
    const std::vector<AuditEvent>& events, size_t from) {
  std::map<std::string, std::vector<const AuditEvent*>> out;
  for (size_t i = from; i < events.size(); ++i) {
    if (events[i].operation != "Modify") continue;
    out[absl::AsciiStrToLower(events[i].dn)].push_back(&events[i]);
  }
  return out;
}

bool WrittenValue(const AuditEvent& event, const std::string& attribute, std::string* value) {
  const std::vector<SambaDc::AttributeAction>* actions = event.Find(attribute);
  if (actions == nullptr || actions->empty()) return false;
  std::vector<std::string> values;
  for (const auto& a : *actions) {
    if (a.action == "add" || a.action == "replace") {
      values.insert(values.end(), a.values.begin(), a.values.end());
    }
  }
  std::sort(values.begin(), values.end());
  *value = absl::StrJoin(values, "|");
  return true;
}

absl::Status WritesMoveForward(const std::vector<const AuditEvent*>& modifies,
                               const std::string& attribute,
                               const std::map<std::string, std::set<uint64_t>>& generations,
                               const std::set<std::string>& dual_writer_sids) {
  // Greedy: give each write the oldest generation newer than the previous
  // write's (or equal to it after a dual writer's write) that carried its
  // value. If that fails, no assignment exists.
  bool first = true;
  bool reopened = false;
  uint64_t last = 0;
  std::string history;
  for (const AuditEvent* e : modifies) {
    std::string value;
    if (e->status_code != 0 || !WrittenValue(*e, attribute, &value)) continue;
    if (dual_writer_sids.count(e->user_sid) > 0) {
      absl::StrAppend(&history, " [", e->timestamp, " on-prem] \"", value, "\"");
      reopened = true;
      continue;
    }
    absl::StrAppend(&history, " [", e->timestamp, " ", e->session_id, "] \"", value, "\"");
    auto carried = generations.find(value);
    if (carried == generations.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          e->dn, ": ", attribute, " got \"", value, "\", which no generation carried;", history));
    }
    auto next = first      ? carried->second.begin()
                : reopened ? carried->second.lower_bound(last)
                           : carried->second.upper_bound(last);
    if (next == carried->second.end()) {
      return absl::FailedPreconditionError(absl::StrCat(e->dn, ": ", attribute, " went back to \"",
                                                        value, "\" after a write of generation ",
                                                        last, "; writes:", history));
    }
    last = *next;
    first = false;
    reopened = false;
  }
  return absl::OkStatus();
}

absl::Status NoWriteAfterLease(const std::vector<AuditEvent>& events, const std::string& sid,
                               absl::Time frozen, absl::Duration lease) {
  std::set<std::string> sessions;
  for (const auto& e : events) {
    if (e.user_sid == sid && e.time <= frozen) sessions.insert(e.session_id);
  }
  for (const auto& e : events) {
    if (e.user_sid != sid || sessions.count(e.session_id) == 0 || e.time <= frozen + lease) {
      continue;
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the frozen agent's pre-freeze LDAP session ", e.session_id, " wrote ", e.dn,
                     " at ", e.timestamp, " (", e.status, "), ",
                     absl::FormatDuration(e.time - frozen), " after the freeze"));
  }
  return absl::OkStatus();
}

}  // namespace writeback::testing
