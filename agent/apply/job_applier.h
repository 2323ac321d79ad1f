// JobApplier turns one job from the controller into at most one LDAP modify
// (DESIGN §5) and reports the outcome; it also serves reads for
// reconciliation. Read this header first in agent/apply/.
//
//   JobApplier applier(directory.get(), policy);
//   v1::JobResult result = applier.Apply(job);       // never throws, never fails
//   v1::ObservedObject seen = applier.Read(target);
//
// Apply, in order:
//  1. Local policy (PolicyChecker::CheckJob): REJECTED_BY_POLICY, no LDAP.
//  2. Match the source anchor: one subtree search of the base DN for
//     (|(mS-DS-ConsistencyGuid=A)(objectGUID=A)), every byte escaped. An
//     object whose mS-DS-ConsistencyGuid equals A wins over one whose
//     objectGUID does. None: FAILED_PERMANENT "not found"; several:
//     FAILED_PERMANENT "ambiguous" naming the DNs; search failure:
//     FAILED_RETRYABLE (DC unavailable, timeout) or FAILED_PERMANENT.
//  3. Outside the scope OUs or adminCount=1: REJECTED_BY_POLICY.
//  4. Attributes whose directory values already equal the desired set
//     (SetsEqual) need no write; when none is left: ALREADY_IN_STATE.
//  5. Dry run: APPLIED with diagnostic "dry run" and `ldif`; nothing written.
//  6. Pre-check: when the values just read differ from the job's `expected`
//     for an attribute still to change, CONFLICT without writing. (This also
//     closes the one hole of the compare-and-swap: adding to a multi-valued
//     attribute believed empty succeeds even when it holds other values.)
//  7. Compare-and-swap, ONE modify: per attribute still to change, delete the
//     job's exact `expected` set (when non-empty), then add the `desired` set
//     (when non-empty; integers and Booleans in canonical form). Never
//     permissive modify. Result 0: APPLIED. noSuchAttribute /
//     attributeOrValueExists (the CAS failed, nothing written): re-read;
//     ALREADY_IN_STATE when the object now holds the desired values, else
//     CONFLICT. Retryable codes: FAILED_RETRYABLE; others FAILED_PERMANENT.
// CONFLICT and ALREADY_IN_STATE carry `found`: the job's attributes as read
// (canonical names). Every LDAP failure keeps `ldap_code` and a diagnostic
// "LDAP modify of <dn> failed: <code name>: <server diagnostic>". `dn`, `dc`
// and `duration_ms` are always filled when known.
//
// Thread safety: like the Directory it uses, one call at a time.
#ifndef WRITEBACK_AGENT_APPLY_JOB_APPLIER_H_
#define WRITEBACK_AGENT_APPLY_JOB_APPLIER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/apply/local_policy.h"
#include "absl/time/time.h"
#include "agent/directory/directory.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

class JobApplier {
 public:
  // `directory` is not owned and must outlive the applier. Empty
  // policy.scope_ous means the directory's base DN.
  JobApplier(Directory* directory, LocalPolicy policy);
  JobApplier(const JobApplier&) = delete;
  JobApplier& operator=(const JobApplier&) = delete;

  v1::JobResult Apply(const v1::Job& job);

  // Called right before each modify is sent; when it returns false the
  // modify is not sent and the job answers FAILED_RETRYABLE. The agent uses
  // it to stop writing the moment its session's lease is gone (DESIGN §4).
  void set_write_gate(std::function<bool()> gate) { write_gate_ = std::move(gate); }

  // Matches the anchor like Apply and returns every allowlisted attribute
  // (absent ones as empty values; catalog names as keys), the DN,
  // uSNChanged, whenChanged and the DC. Failures (not found, ambiguous,
  // outside scope: FAILED_PERMANENT; DC unavailable: FAILED_RETRYABLE) go to
  // `failure` and `diagnostic`. Protected objects are read like any other.
  v1::ObservedObject Read(const v1::ReadTarget& target);

  // The steps of Apply, for PipelinedApplier (which runs many jobs at
  // once). Apply == CheckPolicy, MatchAnchors, Prepare, write gate, Modify,
  // Finish, Stamp.

  // The anchor's object, or why there is none.
  struct Match {
    v1::Outcome failure = v1::OUTCOME_UNSPECIFIED;
    int ldap_code = 0;
    std::string diagnostic;
    DirectoryEntry entry;
  };
  // What one job needs: a final result already (`done`), or one
  // compare-and-swap modify of `dn`.
  struct Prepared {
    bool done = true;
    v1::JobResult result;
    std::string dn;
    std::vector<Modification> mods;
  };

  // Local policy alone: a REJECTED_BY_POLICY result, or nullopt.
  std::optional<v1::JobResult> CheckPolicy(const v1::Job& job) const;
  // Matches many anchors with one search, in order. Anchors of the wrong
  // size fail without a search.
  std::vector<Match> MatchAnchors(const std::vector<std::string>& anchors);
  // Scope, protection, already-in-state, dry run and the stale pre-check on
  // a matched object; otherwise the modify to send.
  Prepared Prepare(const v1::Job& job, const Match& match);
  // Records the modify's answer (re-reading the object on a conflict);
  // `prepared->result` is then final.
  void Finish(const v1::Job& job, const absl::StatusOr<LdapResult>& ldap, Prepared* prepared);
  // A modify refused by the write gate: final FAILED_RETRYABLE, not sent.
  void Fence(Prepared* prepared) const;
  // True when the write gate allows a modify now.
  bool WriteAllowed() const { return !write_gate_ || write_gate_(); }
  // Fills job_id, dc and duration and logs the outcome.
  void Stamp(const v1::Job& job, absl::Duration took, v1::JobResult* result) const;

 private:
  Match MatchAnchor(const std::string& anchor);
  Match ChooseMatch(const std::string& anchor, std::vector<DirectoryEntry>& hits) const;
  // After a failed compare-and-swap: re-read and decide CONFLICT or
  // ALREADY_IN_STATE.
  void ResolveConflict(const v1::Job& job, v1::JobResult* result);

  Directory* const directory_;
  const LocalPolicy policy_;
  const PolicyChecker checker_;
  std::vector<std::string> match_attributes_;
  std::function<bool()> write_gate_;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_JOB_APPLIER_H_
