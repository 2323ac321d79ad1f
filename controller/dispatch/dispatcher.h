// Decides which job goes where (DESIGN §3–4): reads due mailboxes from the
// store, plans them, places each on one connected agent of its forest by
// rendezvous hashing of the source anchor with the agent id, respects each
// agent's credit, and records every answer. Read this header first in
// controller/.
//
//   Dispatcher dispatcher(store, Clock::Real(), options);
//   dispatcher.Start();
//   Welcome w = dispatcher.Attach({.agent_id = "a1", .forest = "corp"}, sink);
//   dispatcher.OnResults(w.session_id(), results);   // from the stream
//   dispatcher.Detach(w.session_id());               // stream ended
//
// One background thread places work and sends heartbeats; the other methods
// are called from gRPC threads. Thread-safe. No lock is held while calling a
// SessionSink or the store.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_DISPATCHER_H_
#define WRITEBACK_CONTROLLER_DISPATCH_DISPATCHER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "controller/dispatch/answer_committer.h"
#include "controller/dispatch/dispatch_observer.h"
#include "controller/dispatch/failure_watch.h"
#include "controller/dispatch/mass_change_guard.h"
#include "controller/dispatch/outcome.h"
#include "controller/dispatch/session_sink.h"
#include "controller/reconcile/reconciler.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

struct SessionInfo {
  std::string agent_id;
  std::string forest;
  std::string agent_version;
  uint32_t max_in_flight = 1;
  uint32_t protocol_version = 1;
  // The agent's LDAP operation timeout from its Hello (zero if it did not
  // say): the session's fence is lease + max(this, Options::ldap_timeout).
  absl::Duration ldap_timeout = absl::ZeroDuration();
  // The client certificate the stream was opened with: the session is cut
  // when it expires (TLS checks it only at the handshake).
  std::string cert_serial;
  absl::Time cert_not_after = absl::InfiniteFuture();
};

// A live session as ListAgents shows it.
struct LiveSession {
  std::string session_id;
  SessionInfo info;
  bool draining = false;
  size_t outstanding = 0;
  // Provision on demand calls queued for this session's next free slot.
  size_t on_demand_waiting = 0;
};

class Dispatcher {
 public:
  struct Options {
    absl::Duration heartbeat_interval = absl::Seconds(1);
    // A session that sends nothing for this long is cut.
    absl::Duration lease = absl::Seconds(3);
    // The agents' LDAP operation timeout: a lost session's work is
    // redelivered only after lease + ldap_timeout (the agent's own timeout
    // from its Hello when that is larger). Defaults: failover within 10 s.
    absl::Duration ldap_timeout = absl::Seconds(3);
    RetryPolicy retry;
    // How often due work is looked for without being woken.
    absl::Duration tick = absl::Milliseconds(200);
    // A session that keeps heartbeating but leaves a job or read unanswered
    // this long is presumed stuck: it is cut, and its work redelivered after
    // the usual fence.
    absl::Duration answer_timeout = absl::Minutes(2);
    // The forest-wide failure guard (pauses a forest whose jobs keep failing).
    FailureWatch::Options pause;
    // Reconciliation passes (DESIGN §6); their dual-writer rule is
    // retry.conflict, the same as for jobs answered CONFLICT.
    Reconciler::Options reconcile;
    // The mass-change guard's defaults (forests may override them).
    GuardPolicy guard;
    // Told about sessions, accepted changes and answers (metrics); not
    // owned, may be null.
    DispatchObserver* observer = nullptr;
  };

  Dispatcher(Store* store, Clock* clock, Options options);
  ~Dispatcher();  // Stops.
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Start();
  void Stop();

  // Registers a new session: sends its Welcome through `sink` first (so that
  // nothing overtakes it), then makes the session eligible for work. Returns
  // the Welcome sent. `sink` stays referenced until Detach.
  writeback::v1::Welcome Attach(const SessionInfo& info, std::shared_ptr<SessionSink> sink);
  // The stream ended: the session's unanswered work is put back in line
  // after lease + ldap_timeout (the agent has stopped writing by then), each
  // piece with a "lost" provisioning log record.
  void Detach(const std::string& session_id);
  // Drains every live session of `agent_id`: nothing more is placed on it
  // and it is sent Drain(reason); the agent answers what it holds and ends
  // the stream. Returns how many sessions were told.
  int Drain(const std::string& agent_id, const std::string& reason);
  // Trust (session_trust.cc). Cuts every live session of `agent_id` at once
  // with PERMISSION_DENIED(`message`) (revoked); returns how many.
  int Revoke(const std::string& agent_id, const std::string& message);
  // The agent renewed its certificate and now holds `new_serial`: each live
  // session of the agent under another certificate takes no new work and
  // is ended (UNAVAILABLE, "certificate renewed") once its work is
  // answered, so the agent moves to the new certificate losing nothing.
  // Returns how many sessions were told.
  int Recycle(const std::string& agent_id, const std::string& new_serial);
  // A paused forest was resumed: forget its failure window and look for work.
  void Resume(const std::string& forest);
  // The live sessions, ordered by agent id.
  std::vector<LiveSession> Sessions() const;

  // Answers are recorded by a group committer (answer_committer.h): these
  // return before the store has them; FlushAnswers waits for everything
  // received so far (tests; Stop).
  void OnResults(const std::string& session_id, const writeback::v1::JobResults& results);
  void OnObserved(const std::string& session_id, const writeback::v1::Observed& observed);
  void FlushAnswers();
  // A page of a reconciliation pass (protocol 3): renews the lease and hands
  // the page to the Reconciler.
  void OnScanPage(const std::string& session_id, const writeback::v1::ScanPage& page);
  // Starts a reconciliation pass of `forest` now (Reconciler::Start) on one
  // of its live, non-draining sessions of protocol 3 or later.
  absl::StatusOr<Reconciler::Started> Reconcile(const std::string& forest, bool full);
  // Any message renews the session's lease.
  void Touch(const std::string& session_id);
  // An agent heartbeat: renews the lease and answers at once with a
  // Heartbeat echoing `sequence` (the agent's lease counts from it).
  void OnHeartbeat(const std::string& session_id, uint64_t sequence);
  // Something changed (a mailbox was edited): look for work now.
  void Wake();
  // A change of `cloud_id` was committed at desired generation `gen` (the
  // Admin API, after its commit): tells the observer, then Wake().
  void Accepted(const std::string& cloud_id, uint64_t gen);

  int ConnectedAgents(const std::string& forest) const;

  // Provision on demand (provision_now.h, in provision_now.cc): a fresh read
  // and, if anything differs, a job for one mailbox, sent at once on the
  // owner's next free credit slot ahead of the queue; answers with the
  // steps once recorded. Blocks up to `timeout` (kDeadlineExceeded naming
  // the steps so far; the work continues as normal work). Refusals, writing
  // nothing: kNotFound, kFailedPrecondition (paused forest, HELD,
  // CONFLICT_HOLD), kUnavailable (no agent of the forest).
  absl::StatusOr<writeback::v1::ProvisionNowResponse> ProvisionNow(const std::string& cloud_id,
                                                                   absl::Duration timeout);

 private:
  struct Outstanding {
    std::string cloud_id;
    bool is_read = false;
    writeback::v1::Job job;  // for jobs
    absl::Time sent;
  };
  struct Session {
    SessionInfo info;
    std::shared_ptr<SessionSink> sink;
    absl::Time last_heard;
    std::map<std::string, Outstanding> outstanding;  // by job or read id
    uint32_t reserved = 0;  // credit promised while placing
    size_t committing = 0;  // answered, not yet recorded: still holds credit
    uint64_t heartbeats = 0;
    uint64_t agent_heartbeat = 0;  // newest agent heartbeat sequence, echoed back
    bool draining = false;  // takes no new work
    bool recycling = false;  // renewed: ends once its work is answered
  };
  struct Placement;  // defined in the .cc
  struct OnDemand;   // a waiting ProvisionNow call; provision_now.cc

  void Run();
  void Heartbeat(absl::Time now);
  // Ends sessions whose certificate expired and recycled sessions that have
  // no work left (session_trust.cc).
  void EndSessionsOutOfTrust(absl::Time now);
  void PlaceForest(const std::string& forest, absl::Time now);
  std::string NewId(const char* prefix);
  // When a session lost at `now` can no longer be writing: lease + LDAP timeout.
  absl::Time Fence(const SessionInfo& info, absl::Time now) const;
  // Records answers of `session_id` through committer_ (the caller has
  // counted them in the session's `committing`); `after` (may be null) runs
  // once they are recorded, then the credit is given back and placement
  // woken.
  void CommitAnswers(const std::string& session_id, std::vector<MailboxUpdate> updates,
                     std::function<void()> after);
  void PauseForest(const std::string& forest, const std::string& reason, absl::Time now);
  // Provision on demand's hooks (provision_now.cc): an answered read of a
  // waiting call goes to it (true; it records the read itself and keeps the
  // slot for its job); job answers are handed over once recorded; calls of
  // an ended session are told.
  bool TakeOnDemandReadLocked(const std::string& session_id, const std::string& read_id,
                              const writeback::v1::ObservedObject& object)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompleteOnDemand(const std::string& session_id, const writeback::v1::JobResults& results);
  void AbandonOnDemand(const std::string& session_id);
  // Waits until `call`'s work `work_id` is answered, its session is lost or
  // `deadline`; forgets the call unless answered.
  enum class OnDemandWait { kAnswered, kLost, kTimedOut };
  OnDemandWait AwaitOnDemand(const std::shared_ptr<OnDemand>& call, const std::string& work_id,
                             absl::Time deadline);
  // Reserves the next free credit slot of the rendezvous owner of `anchor`
  // (ahead of the placement thread); returns its session id.
  absl::StatusOr<std::string> ClaimSlot(const std::string& forest, const std::string& anchor,
                                        absl::Time deadline);
  // Live, non-draining sessions of protocol >= 3 (Reconciler candidates).
  std::vector<Reconciler::Candidate> ScanCandidates() const;

  Store* const store_;
  Clock* const clock_;
  const Options options_;
  const std::string id_prefix_;

  mutable absl::Mutex mu_;
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  FailureWatch watch_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Provision on demand: calls waiting for an answer, by read or job id;
  // calls queued for a credit slot, by session id.
  std::map<std::string, std::shared_ptr<OnDemand>> on_demand_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<uint64_t>> slot_waiters_ ABSL_GUARDED_BY(mu_);
  // Mailboxes a ProvisionNow call is working on: the placement thread
  // leaves them alone.
  std::set<std::string> on_demand_mailboxes_ ABSL_GUARDED_BY(mu_);
  Reconciler reconciler_;  // thread-safe on its own
  std::thread thread_;
  // Last: destroyed (flushed) first, while what its callbacks use still exists.
  AnswerCommitter committer_;
};

// Rendezvous (highest random weight) score of an anchor on an agent.
uint64_t RendezvousScore(const std::string& anchor, const std::string& agent_id);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_DISPATCHER_H_
