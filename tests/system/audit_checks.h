// Questions the system tests ask of the DC's audit log (DESIGN §9: the audit
// log is the oracle for what reached the directory).
//
//   auto events = env.dc().AuditEvents();
//   auto by_dn = ModifiesByDn(*events, mark);
//   EXPECT_OK(WritesMoveForward(by_dn[dn], "extensionAttribute1",
//                               {{"alpha", {0, 2}}, {"beta", {1}}}));
#ifndef WRITEBACK_TESTS_SYSTEM_AUDIT_CHECKS_H_
#define WRITEBACK_TESTS_SYSTEM_AUDIT_CHECKS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/harness/samba_dc.h"

namespace writeback::testing {

using AuditEvent = SambaDc::AuditEvent;

// The Modify events from index `from` on (failed ones included), grouped by
// lower-cased DN, in log order. Pointers into `events`.
std::map<std::string, std::vector<const AuditEvent*>> ModifiesByDn(
    const std::vector<AuditEvent>& events, size_t from = 0);

// The value set a successful modify left in `attribute`, as a key of
// WritesMoveForward's map: the values the modify added (or replaced with),
// sorted and joined by '|'; "" when it only deleted. False when the modify
// did not touch `attribute`.
bool WrittenValue(const AuditEvent& event, const std::string& attribute, std::string* value);

// DESIGN §9: the writes of an attribute only ever move to newer generations.
// `generations` maps each written value (as WrittenValue spells it) to the
// generations whose desired state carried it; a value may recur (A → B → A).
// OK when the successful writes of `attribute` among `modifies` (in log
// order) can be given strictly increasing generations; otherwise
// kFailedPrecondition naming the first write that went back (or a value no
// generation carried).
//
// Writes by `dual_writer_sids` (an on-premises writer the test plays, bound
// as an account of its own) are not judged; after a successful one of them
// touched `attribute`, the generation last written may be written once more
// (the correction of DESIGN §5, which re-asserts the same generation).
absl::Status WritesMoveForward(const std::vector<const AuditEvent*>& modifies,
                               const std::string& attribute,
                               const std::map<std::string, std::set<uint64_t>>& generations,
                               const std::set<std::string>& dual_writer_sids = {});

// DESIGN §4 fencing: an agent that bound as `sid` and was frozen (SIGSTOP) at
// `frozen` sends nothing after its lease ran out. OK when no modify over an
// LDAP session of `sid` that had written by `frozen` is dated after
// frozen + lease (the DC's clock); otherwise kFailedPrecondition naming the
// first such write. Sessions the agent opened after it resumed may write.
absl::Status NoWriteAfterLease(const std::vector<AuditEvent>& events, const std::string& sid,
                               absl::Time frozen, absl::Duration lease);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_AUDIT_CHECKS_H_
