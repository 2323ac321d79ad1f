// What the controller does with drift found in AD (DESIGN §5 conflict, §6):
// records it, takes what AD holds as last_known and corrects it through the
// normal PENDING -> planned path (a compare-and-swap from the values found,
// counted by the mass-change guard like any placed job), unless the mailbox
// is a persistent dual writer's. Pure logic; the caller runs it inside the
// store transaction that writes the mailbox and its drift records.
//
//   ConflictRule rule{.corrections = 3, .window = absl::Hours(1)};
//   DriftContext where{.source = "scan", .work_id = scan_id, .dc = obj.dc(), ...};
//   std::vector<DriftRecord> records;
//   bool held = ApplyDrift(comparison.drift, where, now, rule, &mailbox, &records);
//
// The dual-writer rule: the times of a mailbox's corrections are kept with
// it (MailboxRecord::corrections_ms); when the corrections within `window`,
// this one included, reach `corrections`, the mailbox goes to CONFLICT_HOLD
// instead of being corrected (no job: the on-premises value stays) and its
// drift records say "conflict". An operator's RetryMailbox clears the
// history and the mailbox is corrected again.
#ifndef WRITEBACK_CONTROLLER_RECONCILE_CORRECTION_H_
#define WRITEBACK_CONTROLLER_RECONCILE_CORRECTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/reconcile/compare.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller {

struct ConflictRule {
  // Corrections within `window` at which a mailbox is held; 0: never held.
  uint32_t corrections = 3;
  absl::Duration window = absl::Hours(1);
};

// Where the drift was seen, copied into each drift record.
struct DriftContext {
  std::string source;   // "scan" or "job"
  std::string work_id;  // scan id or job id
  std::string dc;
  std::string dn;
  std::string when_changed;
  int64_t usn_changed = 0;
};

// Applies `drift` (non-empty) to `mailbox`: last_known takes the values
// found for each drifted attribute, one DriftRecord per attribute is
// appended to `records`, and the correction is counted. Returns true when
// the mailbox went to CONFLICT_HOLD (last_error names the attributes, the
// values found and the count), false when it is PENDING for the correction.
bool ApplyDrift(const std::vector<AttributeDrift>& drift, const DriftContext& where,
                absl::Time now, const ConflictRule& rule, MailboxRecord* mailbox,
                std::vector<writeback::v1::DriftRecord>* records);

// Corrections of `mailbox` within `window` before `now`.
size_t RecentCorrections(const MailboxRecord& mailbox, absl::Time now, absl::Duration window);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_RECONCILE_CORRECTION_H_
