// Runs reconciliation passes (DESIGN §6) for the dispatcher: decides when a
// forest's pass starts and on which session, sends the ScanRequest, turns
// each ScanPage into mailbox updates (CompareObservation + ApplyDrift, one
// store transaction per page), stores the high-water marks of a complete
// pass and logs one provisioning record of kind "scan" per pass.
//
//   Reconciler reconciler(store, clock, options);
//   reconciler.OnAttach("corp.example.com");          // a session attached
//   reconciler.StartDue(candidates);                   // the dispatcher's loop
//   auto started = reconciler.Start(forest, /*full=*/true, candidates);  // on demand
//   reconciler.OnPage(session_id, page);               // from the stream
//   reconciler.OnSessionEnded(session_id);             // its pass is abandoned
//
// One pass runs per forest at a time, on one live session of protocol 3 or
// later (the dispatcher hands over the candidates). A pass is due when a
// session of the forest attaches, every `interval` after the previous pass
// ended, and on demand. Its start time is taken before the ScanRequest is
// sent, so an observation of a mailbox answered at or after it is stale
// (CompareObservation). Pages of a pass are accepted only from the session
// that runs it; a pass whose session ends is abandoned and its marks never
// stored. Thread-safe; no lock is held while calling the store or a sink.
#ifndef WRITEBACK_CONTROLLER_RECONCILE_RECONCILER_H_
#define WRITEBACK_CONTROLLER_RECONCILE_RECONCILER_H_

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "controller/dispatch/session_sink.h"
#include "controller/reconcile/correction.h"
#include "controller/store/store.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

class Reconciler {
 public:
  struct Options {
    // Time between the end of a forest's pass and the next; zero: passes run
    // only when a session attaches and on demand.
    absl::Duration interval = absl::Minutes(15);
    // Objects per ScanPage asked of the agent.
    uint32_t page_size = 500;
    // The dual-writer rule for the corrections a pass finds.
    ConflictRule conflict;
    // A pass that gets no page for this long is abandoned (its agent is
    // stuck, or the request was lost with a session that ended as it was
    // sent); see Sweep.
    absl::Duration page_timeout = absl::Minutes(2);
  };
  // A live session that may run a pass (protocol >= 3, not draining).
  struct Candidate {
    std::string session_id;
    std::string agent_id;
    std::string forest;
    std::shared_ptr<SessionSink> sink;
  };
  struct Started {
    std::string scan_id;
    std::string agent_id;
  };
  // What a pass saw, summed over its pages.
  struct Counts {
    int64_t objects = 0;
    int64_t in_sync = 0;
    int64_t drift = 0;      // objects whose mailbox drifted
    int64_t corrected = 0;  // of those, queued for correction
    int64_t conflicts = 0;  // of those, put in CONFLICT_HOLD
    int64_t stale = 0;      // ignored: work in flight or newer knowledge
    int64_t skipped = 0;    // ignored: not onboarded, not correctable, read failed
    int64_t unmatched = 0;  // no mailbox of the forest carries the anchor
  };

  Reconciler(Store* store, Clock* clock, Options options);
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // A session of `forest` attached: a pass is due now unless one runs.
  void OnAttach(const std::string& forest);
  // Starts every due pass whose forest has a candidate.
  void StartDue(const std::vector<Candidate>& candidates);
  // Starts a pass of `forest` now (`full` ignores the marks) on one of
  // `candidates` of that forest. kFailedPrecondition when none is of the
  // forest or a pass of the forest runs already (naming it).
  absl::StatusOr<Started> Start(const std::string& forest, bool full,
                                const std::vector<Candidate>& candidates);
  // Applies a page from `session_id`. Returns true when mailboxes were
  // queued for correction (the dispatcher should look for work).
  bool OnPage(const std::string& session_id, const writeback::v1::ScanPage& page);
  // The session ended: a pass it ran is abandoned (logged, marks not
  // stored) and due again at once for another session of the forest.
  void OnSessionEnded(const std::string& session_id);
  // Abandons, like OnSessionEnded, every pass whose session is not in
  // `live_sessions` (it ended while the pass was being started) or that got
  // no page for page_timeout. The dispatcher calls it on every tick.
  void Sweep(const std::set<std::string>& live_sessions);

  // The scan id of the forest's running pass, if any.
  std::optional<std::string> Running(const std::string& forest) const;

 private:
  struct Pass {
    std::string scan_id;
    std::string forest;
    std::string session_id;
    std::string agent_id;
    bool full = false;
    absl::Time started;
    absl::Time last_page;  // or the start, before the first page
    Counts counts;
    // Per DC (as ObservedObject.dc names it): one below the lowest
    // uSNChanged of an object this pass could not judge (work in flight,
    // newer knowledge, a mailbox update that failed). The pass's mark for
    // that DC is kept at or below it, so the next incremental pass reads
    // that object again instead of skipping its drift for good.
    std::map<std::string, int64_t> hold_back;
  };

  // Starts `forest`'s pass on `candidate`; mu_ must not be held.
  absl::StatusOr<Started> StartOn(const Candidate& candidate, bool full);
  // Applies the objects of a page; adds to `counts`.
  absl::Status ApplyObjects(const Pass& pass, const writeback::v1::ScanPage& page,
                            Counts* counts, std::map<std::string, int64_t>* hold_back);
  void Abandon(const Pass& pass, const std::string& why);
  // Ends a pass: logs it, and schedules the next one `next_in` from now
  // (nullopt: none until a session attaches or an operator asks).
  void Finish(const Pass& pass, writeback::v1::Outcome failure, const std::string& why,
              std::optional<absl::Duration> next_in);

  Store* const store_;
  Clock* const clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::map<std::string, Pass> running_ ABSL_GUARDED_BY(mu_);  // by forest
  std::map<std::string, absl::Time> due_ ABSL_GUARDED_BY(mu_);  // by forest
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  const std::string id_prefix_;
};

// The counts as the "scan" provisioning record's diagnostic spells them.
std::string DescribeCounts(const Reconciler::Counts& counts);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_RECONCILE_RECONCILER_H_
