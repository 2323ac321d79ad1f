// How the agent reports an object it read (DESIGN §6): the same fields for a
// ReadRequest's answer (JobApplier::Read) and a reconciliation scan's pages
// (agent/reconcile/scan_pass.h), so the controller compares like with like.
//
//   v1::ObservedObject seen;
//   FillObservation(checker, entry, &seen);  // entry read with ObservationAttributes()
#ifndef WRITEBACK_AGENT_APPLY_OBSERVATION_H_
#define WRITEBACK_AGENT_APPLY_OBSERVATION_H_

#include <string>
#include <vector>

#include "agent/apply/local_policy.h"
#include "agent/directory/directory.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

// The attributes to request so that FillObservation has all it needs: the
// allowlisted ones (catalog names), objectGUID, mS-DS-ConsistencyGuid,
// uSNChanged and whenChanged.
std::vector<std::string> ObservationAttributes(const PolicyChecker& checker);

// Sets dn, every allowlisted attribute (catalog names as keys; absent ones
// with no values), usn_changed, when_changed and object_guid from `entry`.
// Leaves the other fields alone.
void FillObservation(const PolicyChecker& checker, const DirectoryEntry& entry,
                     v1::ObservedObject* out);

// The entry's source anchor: mS-DS-ConsistencyGuid when it holds 16 bytes,
// else objectGUID ("" when neither).
std::string SourceAnchorOf(const DirectoryEntry& entry);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_OBSERVATION_H_
