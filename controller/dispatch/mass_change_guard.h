// The mass-change guard (DESIGN §3, §6): a burst of writes touching more
// mailboxes of a forest than its threshold within its window is held until an
// operator approves or rejects it.
//
// Counting happens where every write starts: when the dispatcher is about to
// place a job (never a read) that is a NEW write, that is
//  - a generation the guard never let through for the mailbox (a cloud edit,
//    the first job after the onboarding read), or
//  - a job for a generation AD already acknowledged (applied_gen >=
//    desired_gen): a correction of drift queued by reconciliation;
// and not a retry, a redelivery or a conflict re-plan of a generation
// already let through, nor a change an operator approved. A mailbox counts
// once per window (guard_counted_ms), so the window count is "mailboxes
// changed", durable across controller restarts.
//
// A new write that counts is HELD when the forest has an open hold, or when
// counting it would take the window's count past the threshold (the hold is
// opened then). Jobs placed before the threshold was crossed go out: at most
// `threshold` mailboxes change per window without approval. A HELD mailbox is
// frozen: later edits join the hold, nothing places or retries it, until
// ApproveHeld (PENDING; goes out without counting) or RejectHeld (desired
// reverts to what AD holds; nothing is written).
//
//   WB_ASSIGN_OR_RETURN(MassChangeRound round,
//                       MassChangeRound::Start(store, forest, defaults, now));
//   auto verdicts = round.Prepare(store, forest.name, candidates);  // opens a hold if needed
//   // then, inside the transaction that plans candidate i:
//   WB_RETURN_IF_ERROR(round.Decide((*verdicts)[i], plan, &mailbox, &log, &held));
//
// Pure logic, no I/O, except Prepare() (one store call when a hold must be
// opened). Not thread-safe: one round belongs to one placement pass.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_MASS_CHANGE_GUARD_H_
#define WRITEBACK_CONTROLLER_DISPATCH_MASS_CHANGE_GUARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/planner/job_planner.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller {

struct GuardPolicy {
  // Most mailboxes changed per window without approval; 0 disables.
  uint32_t threshold = 500;
  absl::Duration window = absl::Hours(1);
};

// The forest's overrides over the controller's defaults.
GuardPolicy EffectivePolicy(const GuardPolicy& defaults, const ForestRecord& forest);

// Whether a job now planned for `m` is a new write (see the file comment).
bool IsNewWrite(const MailboxRecord& m);

class MassChangeRound {
 public:
  enum Verdict { kPlace, kHold };

  MassChangeRound(GuardPolicy policy, GuardWindowState window, absl::Time now);

  // Reads the forest's window from the store.
  static absl::StatusOr<MassChangeRound> Start(Store* store, const ForestRecord& forest,
                                               const GuardPolicy& defaults, absl::Time now);

  // Whether a job for `m` counts against the window (a new write not yet
  // counted in it).
  bool Counts(const MailboxRecord& m) const;
  // The verdict for a job planned for `m`, given what this round admitted.
  Verdict Judge(const MailboxRecord& m) const;
  // `m`'s job goes out: marks the mailbox (guard_gen, guard_counted_ms when
  // it counts, guard_approved consumed) and counts it in this round.
  void Admit(MailboxRecord* m);
  // `m` is held under hold_id() (which must be set): HELD, and `log` (when
  // not null) becomes its "held" provisioning record listing `job`'s changes.
  void Hold(MailboxRecord* m, const writeback::v1::Job& job,
            writeback::v1::ProvisioningRecord* log) const;

  // Predicts the verdict of each candidate, in order, as if each were
  // planned now (reads and in-sync mailboxes are kPlace); when one is kHold
  // and the forest has no open hold, opens one in the store. The round
  // itself is not advanced.
  absl::StatusOr<std::vector<Verdict>> Prepare(Store* store, const std::string& forest,
                                               const std::vector<const MailboxRecord*>& candidates);

  // Inside the placement transaction, once `d` was planned for `m` whose
  // verdict Prepare() predicted as `predicted`: admits the job (Admit) or
  // holds the mailbox (Hold, *held = true, `log` filled). When the verdict
  // changed since the prediction (the mailbox changed meanwhile),
  // kFailedPrecondition and nothing changes: the mailbox waits for the next
  // round.
  absl::Status Decide(Verdict predicted, const PlanDecision& d, MailboxRecord* m,
                      writeback::v1::ProvisioningRecord* log, bool* held);

  // The reason an opened hold records.
  std::string HoldReason() const;

  int64_t counted() const { return window_.counted; }
  // The hold to hold mailboxes in: open at the start of the round, or
  // opened by Prepare() for this round's crossing.
  int64_t hold_id() const { return window_.open_hold_id; }
  bool enabled() const { return policy_.threshold > 0; }

 private:
  GuardPolicy policy_;
  GuardWindowState window_;
  // A hold was open when the round began: it captures every new change. A
  // hold Prepare() opens does not change the verdicts it predicted.
  bool hold_was_open_;
  int64_t now_ms_;
};

// An operator's explicit write of one mailbox (provision on demand): never
// held (the call is the operator's decision on that one change; a HELD
// mailbox is refused before), but counted in its forest's window like any
// new write, so that a burst around it is judged with it.
void AdmitOperatorWrite(absl::Time now, MailboxRecord* m);

// An operator approved the hold: `m` goes back in line (PENDING) and its
// next job goes out without counting.
absl::Status ApproveHeld(absl::Time now, MailboxRecord* m);

// An operator rejected the hold: each managed attribute whose desired values
// differ from what AD was last known to hold reverts to those values,
// desired_gen is bumped, and the object is read again (PENDING, last_known
// cleared, the attributes listed in adopt_on_read): the read's values become
// the desired ones (ApplyObservation), so a dual writer's newer value stands
// and nothing is written for the rejected change. `log` becomes the
// "rejected" record listing the dropped changes (old = AD's values as last
// known, new = the rejected desired values).
absl::Status RejectHeld(int64_t hold_id, absl::Time now, MailboxRecord* m,
                        writeback::v1::ProvisioningRecord* log);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_MASS_CHANGE_GUARD_H_
