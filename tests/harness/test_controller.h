// A stand-in for writeback-controller that integration tests use to drive a
// real writeback-agent: it speaks writeback.v1.AgentGateway over mutual TLS on
// 127.0.0.1 (port chosen by the kernel) and lets the test decide every message
// the agent receives. It plans nothing and stores nothing.
//
//   TestController::Options options;
//   options.cert_dir = getenv("WB_CERT_DIR");   // ca.pem, controller.pem/.key
//   options.lease = absl::Seconds(3);
//   WB_ASSIGN_OR_RETURN(auto controller, TestController::Start(options));
//   // ... spawn writeback-agent with controller: controller->address() ...
//   WB_ASSIGN_OR_RETURN(TestController::Session s, controller->WaitForAgent(absl::Seconds(30)));
//   WB_RETURN_IF_ERROR(controller->SendJobs({job}));
//   WB_ASSIGN_OR_RETURN(auto results, controller->WaitForResults(1, absl::Seconds(30)));
//
// Behaviour:
//  - Each stream must open with a Hello; the controller answers at once with a
//    Welcome carrying Options::heartbeat_interval and Options::lease and the
//    forest/agent id read from the client certificate's URI SAN. Anything
//    else first ends the stream with INVALID_ARGUMENT.
//  - The newest welcomed stream that is still open is the "current session";
//    SendJobs/SendRead/Disconnect act on it. A reconnecting agent opens a new
//    session (WaitForAgent returns it).
//  - While heartbeats are on (SetHeartbeats), a Heartbeat echoing the
//    agent's newest heartbeat sequence (protocol 2: what renews the agent's
//    lease) goes to the current session twice per heartbeat_interval; turn
//    them off to let the agent's lease
//    run out.
//  - Credit: SendJobs/SendRead refuse (kFailedPrecondition) to exceed the
//    Hello's max_in_flight on the current session unless
//    Options::enforce_credit is false. A JobResult or ObservedObject returns
//    one credit.
//  - Every JobResult, Observed and ScanPage message received, from any
//    session, is kept in arrival order until a Wait* call takes it.
//
// Every Wait* call has a timeout (a hang guard) and fails with
// kDeadlineExceeded, saying what did arrive, when it passes. The destructor
// ends all streams and shuts the server down with a deadline.
//
// Thread-safe. Not copyable or movable.
#ifndef WRITEBACK_TESTS_HARNESS_TEST_CONTROLLER_H_
#define WRITEBACK_TESTS_HARNESS_TEST_CONTROLLER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::testing {

class TestController {
 public:
  struct Options {
    // Holds ca.pem (verifies agents), controller.pem and controller.key
    // (SAN 127.0.0.1), as make_certs.sh writes them.
    std::string cert_dir;
    // Sent in every Welcome.
    absl::Duration heartbeat_interval = absl::Milliseconds(500);
    absl::Duration lease = absl::Seconds(5);
    // Refuse to send more than the agent's credit (Hello.max_in_flight).
    bool enforce_credit = true;
  };

  // One agent stream that sent Hello and was welcomed.
  struct Session {
    int number = 0;          // 1, 2, ... in the order the streams arrived
    std::string session_id;  // as sent in the Welcome
    std::string forest;      // from the client certificate
    std::string agent_id;
    writeback::v1::Hello hello;
  };

  // Listens on 127.0.0.1:0 and starts the heartbeat thread.
  static absl::StatusOr<std::unique_ptr<TestController>> Start(const Options& options);
  ~TestController();
  TestController(const TestController&) = delete;
  TestController& operator=(const TestController&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"

  // Waits until a session newer than any returned before is welcomed and
  // returns it. A session that arrived before the call counts.
  absl::StatusOr<Session> WaitForAgent(absl::Duration timeout);
  // Number of sessions welcomed so far.
  int sessions() const;
  // True while the current session's stream is open.
  bool connected() const;

  // Sends one JobBatch / ReadRequest to the current session.
  // kFailedPrecondition without a session or beyond the credit.
  absl::Status SendJobs(const std::vector<writeback::v1::Job>& jobs);
  absl::Status SendRead(const std::string& request_id,
                        const std::vector<writeback::v1::ReadTarget>& targets);

  // Reconciliation scans (protocol 3; test_controller_scan.cc). Sends a
  // ScanRequest to the current session (scans take no credit).
  absl::Status SendScan(const writeback::v1::ScanRequest& request);
  // Waits until the last page of `scan_id` arrived and takes every page of
  // that scan, in arrival order.
  absl::StatusOr<std::vector<writeback::v1::ScanPage>> WaitForScan(const std::string& scan_id,
                                                                   absl::Duration timeout);
  // ScanPages of `scan_id` received and not yet taken.
  size_t ScanPagesReceived(const std::string& scan_id) const;

  // Takes the first `n` JobResults received (in arrival order) once that
  // many are there.
  absl::StatusOr<std::vector<writeback::v1::JobResult>> WaitForResults(size_t n,
                                                                       absl::Duration timeout);
  // Takes every JobResult received so far (possibly none), without waiting.
  std::vector<writeback::v1::JobResult> TakeResults();
  // Takes the first Observed message received once one is there.
  absl::StatusOr<writeback::v1::Observed> WaitForObserved(absl::Duration timeout);

  // Turns the periodic heartbeats on (the default) or off. Off, the
  // controller sends nothing unprompted and the agent's lease runs out.
  void SetHeartbeats(bool on);
  // When the last message of any kind was written to an agent stream (the
  // write completed), or InfinitePast if none was.
  absl::Time last_send_time() const;
  // Heartbeats received from agents so far.
  int64_t heartbeats_received() const;

  // Ends the current session's stream with UNAVAILABLE after the messages
  // already queued were written, and waits (up to `timeout`) until gRPC
  // reports it done. The agent then reconnects with backoff.
  absl::Status Disconnect(absl::Duration timeout = absl::Seconds(10));
  // Waits until the current session's stream is gone (ended by the agent,
  // e.g. on lease expiry).
  absl::Status WaitForDisconnect(absl::Duration timeout);

 private:
  class Stream;
  class Service;

  explicit TestController(Options options);
  void HeartbeatLoop();
  // Called by streams (never with a Stream lock held).
  // Welcomes the stream; false when its certificate names no agent (the
  // stream was ended).
  bool OnHello(Stream* stream, const writeback::v1::Hello& hello);
  void OnAgentMessage(Stream* stream, const writeback::v1::AgentMessage& message);
  void OnStreamDone(Stream* stream);
  void OnWritten();
  // The current session's stream, if any, after reserving `credit` of it.
  absl::StatusOr<Stream*> CurrentForSend(size_t credit);
  // Sends `message` to the current session after reserving `credit`.
  absl::Status SendOnCurrent(writeback::v1::ControllerMessage message, size_t credit);
  Stream* NewStream(grpc::CallbackServerContext* context);

  const Options options_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool heartbeats_ ABSL_GUARDED_BY(mu_) = true;
  // Every stream ever opened; reactors are deleted only by the destructor,
  // after the server has shut down, so pointers to them stay valid.
  std::vector<std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  Stream* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<Session> sessions_ ABSL_GUARDED_BY(mu_);
  int returned_sessions_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<writeback::v1::JobResult> results_ ABSL_GUARDED_BY(mu_);
  std::deque<writeback::v1::Observed> observed_ ABSL_GUARDED_BY(mu_);
  std::vector<writeback::v1::ScanPage> scan_pages_ ABSL_GUARDED_BY(mu_);
  absl::Time last_send_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t heartbeats_received_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread heartbeat_thread_;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_TEST_CONTROLLER_H_
