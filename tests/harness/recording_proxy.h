// A man in the middle of AgentGateway.Connect for tests: agents connect to
// it as if it were the controller, and it carries every message of each
// stream, unchanged, to the real controller and back, recording each with its
// direction and time (tests/compat records agent sessions with it).
//
//   RecordingProxy::Options options;
//   options.cert_dir = cert_dir;               // the test PKI (make_certs.sh)
//   options.upstream = "127.0.0.1:41234";      // the real controller's agent port
//   options.upstream_agent = "agent-1";        // presented upstream: agent-1.pem/.key
//   WB_ASSIGN_OR_RETURN(auto proxy, RecordingProxy::Start(options));
//   // ... start writeback-agent with controller: proxy->address() ...
//   WB_RETURN_IF_ERROR(proxy->WaitForStreamsDone(absl::Seconds(30)));
//   std::vector<RecordingProxy::StreamRecord> streams = proxy->Streams();
//
// Behaviour:
//  - Listens on 127.0.0.1 (port chosen by the kernel) with controller.pem /
//    controller.key, requiring and verifying client certificates against
//    ca.pem. A stream whose certificate carries no agent identity is refused
//    (PERMISSION_DENIED) and never forwarded.
//  - For each accepted stream it opens one stream to `upstream`, presenting
//    <upstream_agent>.pem/.key and verifying the controller against ca.pem.
//  - Messages are forwarded as raw bytes (a generic gRPC service and stub),
//    so what is recorded and forwarded is exactly what was on the wire, map
//    entry order included; they are never parsed on the way.
//  - The controller ending the stream ends the agent's with the same status;
//    the agent ending or cancelling its stream cancels the upstream one.
//
// Thread-safe. Not copyable or movable. The destructor cancels what is still
// open and shuts the server down with a deadline.
#ifndef WRITEBACK_TESTS_HARNESS_RECORDING_PROXY_H_
#define WRITEBACK_TESTS_HARNESS_RECORDING_PROXY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "tests/harness/session_recording.h"

namespace writeback::testing {

class RecordingProxy {
 public:
  struct Options {
    // ca.pem, controller.pem/.key and <upstream_agent>.pem/.key.
    std::string cert_dir;
    // host:port of the real controller's agent stream.
    std::string upstream;
    // The certificate presented to the controller for every stream.
    std::string upstream_agent = "agent-1";
    // Optional: agent messages (their bytes) for which this returns true are
    // recorded but held back, while later ones go on, until ReleaseHeld():
    // a test's way to deliver a message late (a stale observation).
    std::function<bool(const std::string& bytes)> hold_from_agent;
  };

  // What one agent stream carried.
  struct StreamRecord {
    int number = 0;        // 1, 2, ... in arrival order
    std::string agent_id;  // from the agent's certificate
    std::string forest;
    std::vector<RecordedMessage> messages;  // in the order the proxy received them
    bool done = false;     // both sides have ended
    grpc::StatusCode status_code = grpc::StatusCode::OK;  // as the controller ended it
    std::string status_message;
  };

  static absl::StatusOr<std::unique_ptr<RecordingProxy>> Start(const Options& options);
  ~RecordingProxy();
  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"

  // A copy of every stream's record so far.
  std::vector<StreamRecord> Streams() const;
  // Agent messages held back (Options::hold_from_agent) and not yet released.
  std::vector<std::string> Held() const;
  // Sends the held messages on, in the order they arrived.
  void ReleaseHeld();
  // Waits until at least one stream was opened and every stream has ended on
  // both sides; kDeadlineExceeded (a hang guard) says how many are open.
  absl::Status WaitForStreamsDone(absl::Duration timeout) const;

 private:
  class Call;
  class Service;

  explicit RecordingProxy(Options options);
  grpc::ServerGenericBidiReactor* NewCall(grpc::CallbackServerContext* context);

  const Options options_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> upstream_channel_;
  std::unique_ptr<grpc::GenericStub> upstream_stub_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  // Every call ever opened; deleted only by the destructor, after both of
  // its reactors are done.
  std::vector<std::unique_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_RECORDING_PROXY_H_
