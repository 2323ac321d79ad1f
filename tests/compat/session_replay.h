// Plays the recorded agent of a compat fixture (tests/compat/README.md):
// decides what to answer to each message the current controller sends, from
// what the agent answered in the recording. Pure logic, no gRPC: the compat
// test carries the messages.
//
//   WB_ASSIGN_OR_RETURN(SessionReplay replay, SessionReplay::Create(recording, before));
//   stream.Send(replay.hello_bytes());                   // exactly as recorded
//   for each ControllerMessage m from the controller:
//     WB_ASSIGN_OR_RETURN(std::vector<AgentMessage> answers, replay.Answer(m));
//
// Rules:
//  - A job is answered with the recorded result of the recorded job for the
//    same mailbox (the n-th job for a mailbox gets the n-th recorded one),
//    decoded with the current protos, its job_id set to the id the controller
//    uses now and encoded again. The job must ask for what the recorded job
//    asked (mailbox, anchor, generation, and per attribute the expected and
//    desired sets); otherwise, and for a job the recording has no answer for,
//    Answer fails: an unknown job is never answered with success.
//  - A read target is answered with the recorded observation of that mailbox,
//    likewise in order. A read the recording has no answer for (a later
//    version may read more, e.g. reconciliation on connect) is answered with
//    an observation SYNTHESIZED from the last recorded knowledge of that
//    object: the "before" last_known, updated by every observation and job
//    outcome replayed since; an object the recording never saw in AD is
//    answered FAILED_PERMANENT (not found). Each synthesized answer is listed
//    in synthesized().
//  - A ScanRequest (protocol 3) is answered with the pages of the recorded
//    agent's next scan, in order, their scan_id set to the id the controller
//    uses now; when the recording holds no further scan, with one last page
//    failing FAILED_RETRYABLE (the recorded agent never read that), listed in
//    synthesized().
//  - Welcome, Heartbeat and Drain need no answer; the caller heartbeats.
//
// Not thread-safe. Movable.
#ifndef WRITEBACK_TESTS_COMPAT_SESSION_REPLAY_H_
#define WRITEBACK_TESTS_COMPAT_SESSION_REPLAY_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/compat/compat_fixture.pb.h"
#include "tests/harness/session_recording.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {

class SessionReplay {
 public:
  // kInvalidArgument when the recording does not start with a Hello, or a
  // message does not parse, or an answer refers to work never sent.
  static absl::StatusOr<SessionReplay> Create(const std::vector<RecordedMessage>& recording,
                                              const writeback::compat::AdminView& before);

  // The recorded Hello, as it was on the wire, and decoded.
  const std::string& hello_bytes() const { return hello_bytes_; }
  const writeback::v1::Hello& hello() const { return hello_; }
  // The Welcome the recorded controller sent.
  const writeback::v1::Welcome& recorded_welcome() const { return welcome_; }

  // The answers to `message` (none for Welcome, Heartbeat, Drain).
  // kFailedPrecondition says what the recording cannot answer and why.
  absl::StatusOr<std::vector<writeback::v1::AgentMessage>> Answer(
      const writeback::v1::ControllerMessage& message);

  // Ids of the jobs and read requests answered so far, in order.
  const std::vector<std::string>& answered_jobs() const { return answered_jobs_; }
  const std::vector<std::string>& answered_reads() const { return answered_reads_; }
  const std::vector<std::string>& answered_scans() const { return answered_scans_; }
  // One line per synthesized observation.
  const std::vector<std::string>& synthesized() const { return synthesized_; }
  // Recorded answers nobody asked for, one line each.
  std::vector<std::string> Unused() const;

  // Empty when `now` asks for what `recorded` asked; else what differs.
  static std::string JobDifference(const writeback::v1::Job& recorded,
                                   const writeback::v1::Job& now);

 private:
  struct JobAnswer {
    writeback::v1::Job job;
    writeback::v1::JobResult result;
  };
  // The last recorded knowledge of one object in AD.
  struct Knowledge {
    std::string dn;
    writeback::v1::AttributeMap attributes;
  };

  absl::StatusOr<writeback::v1::AgentMessage> AnswerJobs(const writeback::v1::JobBatch& batch);
  writeback::v1::AgentMessage AnswerRead(const writeback::v1::ReadRequest& request);
  std::vector<writeback::v1::AgentMessage> AnswerScan(const writeback::v1::ScanRequest& request);
  void Learn(const writeback::v1::Job& job, const writeback::v1::JobResult& result);

  std::string hello_bytes_;
  writeback::v1::Hello hello_;
  writeback::v1::Welcome welcome_;
  std::map<std::string, std::deque<JobAnswer>> jobs_;                          // by mailbox
  std::map<std::string, std::deque<writeback::v1::ObservedObject>> reads_;     // by mailbox
  std::map<std::string, Knowledge> known_;                                     // by mailbox
  // The recorded scans' pages, one entry per scan, in the order they began.
  std::deque<std::vector<writeback::v1::ScanPage>> scans_;
  std::vector<std::string> answered_jobs_;
  std::vector<std::string> answered_reads_;
  std::vector<std::string> answered_scans_;
  std::vector<std::string> synthesized_;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_COMPAT_SESSION_REPLAY_H_
