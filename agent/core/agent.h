// The agent's session state: what the controller gave this session, the
// lease, and the queue of work for the directory. Read this header first in
// agent/.
//
// Two threads: the worker feeds queued jobs through a PipelinedApplier (many
// modifies in flight on one LDAP connection) and serves reads; the ticker
// sends heartbeats and enforces the lease.
// gRPC threads call the Uplink::Listener methods. All state sits behind one
// mutex; no lock is held during LDAP work or while sending.
//
// Lease (DESIGN §4): the lease runs from the moment the agent SENT the newest
// heartbeat that the controller has echoed (protocol 2; with a version-1
// controller, from the last message received). When it runs out, the session
// is over for this agent (a message that arrives after it ran out ends the
// session too, rather than renewing it): it drops its queue, stops writing
// (the worker re-checks the lease right before each job), hard-closes its LDAP
// connections and cuts the stream; the Uplink reconnects and a new session
// starts empty-handed.
//
// Scans (DESIGN §6, protocol 3): a ScanRequest of the welcomed session goes
// to Options::scanner, which reads on its own thread and connection; the
// scan is abandoned when the session ends or its lease runs out.
//
// Drain (DESIGN §4): told to drain, the agent takes nothing new (the
// controller sends nothing more), answers all it holds, closes the stream
// gracefully and calls Options::on_drained; it never starts another session.
#ifndef WRITEBACK_AGENT_CORE_AGENT_H_
#define WRITEBACK_AGENT_CORE_AGENT_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "agent/directory/directory.h"
#include "agent/core/outbound.h"
#include "agent/reconcile/scanner.h"
#include "agent/uplink/uplink.h"
#include "common/base/clock.h"

namespace writeback::agent {

class Agent : public Uplink::Listener {
 public:
  // `applier` and `directory` must outlive the Agent. Installs the
  // applier's write gate: a modify is sent only while the job's session is
  // current and its lease valid.
  struct Options {
    // How the worker keeps the directory busy (window, match batch).
    PipelinedApplier::Options pipeline;
    // Called once, on a gRPC or worker thread, when a drain has finished and
    // the stream ended; the program should then stop (writeback-agent exits).
    std::function<void()> on_drained;
    // Runs reconciliation scans (ScanRequest) on connections of its own; not
    // owned, must outlive the Agent. Null: scans are refused.
    Scanner* scanner = nullptr;
  };

  Agent(JobApplier* applier, Directory* directory, Clock* clock, Options options);
  ~Agent() override;  // Stops.
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  void Start();
  void Stop();

  void OnStreamStarted(std::shared_ptr<Outbound> stream) override;
  void OnMessage(const writeback::v1::ControllerMessage& message) override;
  void OnStreamEnded(const grpc::Status& status) override;

 private:
  struct Work {
    uint64_t epoch = 0;
    bool is_read = false;
    std::string request_id;
    writeback::v1::Job job;
    writeback::v1::ReadTarget target;
  };

  // Acts on a message of a session whose lease holds (or before a Welcome).
  void HandleLocked(const writeback::v1::ControllerMessage& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WorkerLoop();
  void RefuseUnwelcomedWorkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers reads, one anchor search per pipeline match batch, one Observed
  // message per read.
  void AnswerReads(const std::vector<const Work*>& reads);
  // Sends `message` if the session of `epoch` is still the current one.
  void SendIfCurrent(uint64_t epoch, writeback::v1::AgentMessage message);
  void TickerLoop();
  // Ends the session: drops the queue and fences the directory. Returns the
  // stream to cancel (outside the lock), if any.
  std::shared_ptr<Outbound> EndSessionLocked(const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool LeaseValidLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Renews the lease from a message just received.
  void RenewLeaseLocked(const writeback::v1::ControllerMessage& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // While draining: once nothing is held, closes the stream. `idle` = the
  // pipeline holds nothing.
  void FinishDrainIfIdle(bool idle);

  JobApplier* const applier_;
  Directory* const directory_;
  Clock* const clock_;
  const Options options_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Outbound> stream_ ABSL_GUARDED_BY(mu_);
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  std::string session_id_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // bumped when a session ends
  uint64_t working_epoch_ ABSL_GUARDED_BY(mu_) = 0;  // of the job the worker runs
  absl::Duration lease_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  absl::Duration heartbeat_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  absl::Time last_heard_ ABSL_GUARDED_BY(mu_);
  // The lease runs from here (see the class comment).
  absl::Time lease_base_ ABSL_GUARDED_BY(mu_);
  absl::Time stream_started_ ABSL_GUARDED_BY(mu_);
  uint32_t controller_protocol_ ABSL_GUARDED_BY(mu_) = 1;
  // Heartbeats sent this session and when, oldest first (a few seconds' worth).
  std::deque<std::pair<uint64_t, absl::Time>> sent_heartbeats_ ABSL_GUARDED_BY(mu_);
  std::deque<Work> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t heartbeat_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;   // told to drain: leaving
  bool drain_closed_ ABSL_GUARDED_BY(mu_) = false;  // stream closed after the drain
  bool drained_reported_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
  std::thread ticker_;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_CORE_AGENT_H_
