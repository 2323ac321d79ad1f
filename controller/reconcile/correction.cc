#include "controller/reconcile/correction.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace writeback::controller {
namespace {

std::string Quoted(const std::vector<std::string>& values) {
  if (values.empty()) return "(none)";
  return absl::StrCat("\"", absl::StrJoin(values, "\", \""), "\"");
}

}  // namespace

size_t RecentCorrections(const MailboxRecord& m, absl::Time now, absl::Duration window) {
  const int64_t from = absl::ToUnixMillis(now - window);
  return static_cast<size_t>(std::count_if(m.corrections_ms.begin(), m.corrections_ms.end(),
                                           [from](int64_t t) { return t > from; }));
}

bool ApplyDrift(const std::vector<AttributeDrift>& drift, const DriftContext& where,
                absl::Time now, const ConflictRule& rule, MailboxRecord* m,
                std::vector<writeback::v1::DriftRecord>* records) {
  const int64_t now_ms = absl::ToUnixMillis(now);
  // Forget corrections outside the window; they no longer count.
  const int64_t from = absl::ToUnixMillis(now - rule.window);
  m->corrections_ms.erase(std::remove_if(m->corrections_ms.begin(), m->corrections_ms.end(),
                                         [from](int64_t t) { return t <= from; }),
                          m->corrections_ms.end());
  const uint32_t count = static_cast<uint32_t>(m->corrections_ms.size()) + 1;
  const bool hold = rule.corrections > 0 && count >= rule.corrections;

  if (!m->last_known.has_value()) m->last_known.emplace();
  auto& known = *m->last_known->mutable_attributes();
  std::vector<std::string> described;
  for (const AttributeDrift& d : drift) {
    auto& values = known[d.attribute];
    values.clear_values();
    for (const auto& v : d.found) values.add_values(v);
    described.push_back(absl::StrCat(d.attribute, " = ", Quoted(d.found), " (desired ",
                                     Quoted(d.expected), ")"));
    if (records == nullptr) continue;
    writeback::v1::DriftRecord r;
    r.set_time_ms(now_ms);
    r.set_mailbox_id(m->cloud_id);
    r.set_forest(m->forest);
    r.set_attribute(d.attribute);
    for (const auto& v : d.expected) r.add_expected(v);
    for (const auto& v : d.found) r.add_found(v);
    r.set_when_changed(where.when_changed);
    r.set_usn_changed(where.usn_changed);
    r.set_dc(where.dc);
    r.set_dn(where.dn.empty() ? m->dn : where.dn);
    r.set_source(where.source);
    r.set_work_id(where.work_id);
    r.set_action(hold ? "conflict" : "corrected");
    r.set_corrections(count);
    records->push_back(std::move(r));
  }
  if (!where.dn.empty()) m->dn = where.dn;
  if (hold) {
    m->status = writeback::v1::CONFLICT_HOLD;
    m->last_error = absl::StrCat(
        "conflict: AD keeps being changed by another writer: ", absl::StrJoin(described, "; "),
        "; ", count, " corrections within ", absl::FormatDuration(rule.window),
        " (limit ", rule.corrections, "); not corrected until an operator retries the mailbox");
    return true;
  }
  m->corrections_ms.push_back(now_ms);
  m->status = writeback::v1::PENDING;
  m->last_error = absl::StrCat("drift corrected (", count, " of ", rule.corrections,
                               " before a conflict hold): ", absl::StrJoin(described, "; "));
  return false;
}

}  // namespace writeback::controller
