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
//     When no live object has the anchor, one more search with the Show
//     Deleted control (Directory::SearchDeleted): a tombstone with it gives
//     FAILED_PERMANENT "deleted: the object with anchor X was deleted (now
//     <dn>)".
//  3. Outside the scope OUs or adminCount=1: REJECTED_BY_POLICY.
//  4. Attributes whose directory values already equal the desired set
//     (SetsEqual) need no write; when none is left: ALREADY_IN_STATE. With
//     owned_address_types, proxyAddresses values of other types are taken out
//     of the job's expected and desired sets and of the values read before
//     any comparison and before the modify is built: they are never added or
//     deleted (the `found` sets still report every value).
//  4b. Local policy on the result (REJECTED_BY_POLICY, nothing written): the
//     merged proxyAddresses (owned desired + other types kept) must be a
//     valid set; with mail_must_match_primary, the resulting mail must equal
//     the resulting primary SMTP address when the job changes either and
//     both are present; with check_address_uniqueness, every SMTP address
//     the job adds (not on the object yet) must not be held by another
//     object: one search of the base DN for
//     (|(proxyAddresses=smtp:A)(mail=A)...) (CheckAddresses).
//  5. Dry run (job.dry_run or policy.dry_run): APPLIED with diagnostic
//     "dry run" and `ldif`; nothing written.
//  6. Pre-check: when the values just read differ from the job's `expected`
//     for an attribute still to change, CONFLICT without writing. (This also
//     closes the one hole of the compare-and-swap: adding to a multi-valued
//     attribute believed empty succeeds even when it holds other values.)
//  6b. Caps: the modify waits for the DC's write-rate token
//     (max_writes_per_second, never fails); beyond max_writes_per_window
//     modifies in the window: REJECTED_BY_POLICY "volume cap reached".
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
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "agent/apply/local_policy.h"
#include "agent/apply/write_limiter.h"
#include "common/base/clock.h"
#include "agent/directory/directory.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

class JobApplier {
 public:
  // `directory` is not owned and must outlive the applier. Empty
  // policy.scope_ous means the directory's base DN.
  JobApplier(Directory* directory, LocalPolicy policy);
  // As above with the clock that the write caps read and the function that
  // waits for a rate token (default: absl::SleepFor). Tests pass a FakeClock
  // and a `sleep` that advances it. `clock` is not owned.
  JobApplier(Directory* directory, LocalPolicy policy, Clock* clock,
             std::function<void(absl::Duration)> sleep = nullptr);
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
  // Read for many targets with one anchor search (onboarding reads arrive by
  // the thousand: one search each would cost a round trip each on a remote
  // DC). Results in the order of `targets`.
  std::vector<v1::ObservedObject> ReadMany(const std::vector<v1::ReadTarget>& targets);

  // The steps of Apply, for PipelinedApplier (which runs many jobs at
  // once). Apply == CheckPolicy, MatchAnchors, Prepare, CheckAddresses,
  // wait WriteDelay, write gate, AdmitWrite, Modify, Finish, Stamp.

  // The anchor's object, or why there is none.
  struct Match {
    v1::Outcome failure = v1::OUTCOME_UNSPECIFIED;
    int ldap_code = 0;
    std::string diagnostic;
    DirectoryEntry entry;
    // No live object has the anchor (failure is FAILED_PERMANENT).
    bool not_found = false;
    // The lifecycle case of a failure, for the controller's named states.
    v1::FailureReason reason = v1::FAILURE_REASON_UNSPECIFIED;
  };
  // What one job needs: a final result already (`done`), or one
  // compare-and-swap modify of `dn`.
  struct Prepared {
    bool done = true;
    v1::JobResult result;
    std::string dn;
    std::vector<Modification> mods;
    // SMTP addresses this job adds to the object (for CheckAddresses).
    std::vector<std::string> new_addresses;
  };

  // Local policy alone: a REJECTED_BY_POLICY result, or nullopt.
  std::optional<v1::JobResult> CheckPolicy(const v1::Job& job) const;
  // Matches many anchors with one search, in order. Anchors of the wrong
  // size fail without a search.
  std::vector<Match> MatchAnchors(const std::vector<std::string>& anchors);
  // Scope, protection, already-in-state, dry run and the stale pre-check on
  // a matched object; otherwise the modify to send.
  Prepared Prepare(const v1::Job& job, const Match& match);
  // Forest-wide uniqueness (check_address_uniqueness) for many prepared
  // jobs at once: one search for all their new addresses. A job adding an
  // address that another object holds, or that an earlier job of the same
  // call adds to another object, becomes final REJECTED_BY_POLICY naming
  // the other DN. A failed search fails those jobs (retryable when the DC is
  // unavailable). Jobs already final other than dry runs are left alone.
  void CheckAddresses(const std::vector<std::pair<const v1::Job*, Prepared*>>& jobs);
  // How long the next modify must wait for the current DC's rate token.
  absl::Duration WriteDelay() const;
  // Waits `d` with the injected sleep function.
  void Sleep(absl::Duration d) const;
  // Right before a modify is sent: false (and `prepared` final
  // REJECTED_BY_POLICY) when the volume cap is reached; otherwise counts the
  // write against both caps and returns true.
  bool AdmitWrite(Prepared* prepared);
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
  void SetSearchFailure(const std::string& anchor, const absl::Status& status,
                        Match* match) const;
  // After a failed compare-and-swap: re-read and decide CONFLICT or
  // ALREADY_IN_STATE.
  void ResolveConflict(const v1::Job& job, v1::JobResult* result);
  // Turns "not found" matches into "deleted" ones where a tombstone has the
  // anchor (one SearchDeleted for all of them).
  void FindDeleted(const std::vector<std::string>& anchors, std::vector<Match>* matches);
  // The values of `spec` that the job compares and writes: proxyAddresses
  // narrowed to the owned types, others unchanged.
  std::vector<std::string> Owned(const AttributeSpec& spec,
                                 std::vector<std::string> values) const;
  // Local policy on the object as it would be after the job (step 4b
  // without the uniqueness search); sets new_addresses. False when refused.
  bool CheckResult(const v1::Job& job, const DirectoryEntry& entry, Prepared* p) const;

  Directory* const directory_;
  const LocalPolicy policy_;
  const PolicyChecker checker_;
  std::vector<std::string> match_attributes_;
  std::function<bool()> write_gate_;
  std::function<void(absl::Duration)> sleep_;
  WriteLimiter limiter_;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_JOB_APPLIER_H_
