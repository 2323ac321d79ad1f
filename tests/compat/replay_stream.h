// The compat test's side of AgentGateway.Connect: a plain gRPC client
// presenting a test agent certificate that sends raw bytes (so the recorded
// Hello goes out exactly as recorded) and hands over what the controller
// sends as raw bytes too. Transport only; SessionReplay decides the answers.
//
//   auto stream = ReplayStream::Open(address, cert_dir, "agent-1");
//   (*stream)->Start(replay.hello_bytes());
//   absl::StatusOr<std::optional<std::string>> next = (*stream)->Next(absl::Seconds(1));
//   (*stream)->Send(answer.SerializeAsString());
//   (*stream)->Close(absl::Seconds(10));
//
// Thread-safe. Not copyable or movable. The destructor cancels the call and
// waits (with a hang guard) until gRPC is done with it.
#ifndef WRITEBACK_TESTS_COMPAT_REPLAY_STREAM_H_
#define WRITEBACK_TESTS_COMPAT_REPLAY_STREAM_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace writeback::testing {

class ReplayStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // A channel to `address` (host:port) presenting cert_dir/<agent>.pem/.key
  // and verifying the controller against cert_dir/ca.pem. The call is not
  // started yet.
  static absl::StatusOr<std::unique_ptr<ReplayStream>> Open(const std::string& address,
                                                           const std::string& cert_dir,
                                                           const std::string& agent);
  ~ReplayStream() override;
  ReplayStream(const ReplayStream&) = delete;
  ReplayStream& operator=(const ReplayStream&) = delete;

  // Starts the call with `first` as its first message. Call once.
  void Start(std::string first);
  // Queues one serialized AgentMessage; a no-op once the stream ended.
  void Send(std::string bytes);
  // The next serialized ControllerMessage; nullopt when none came within
  // `timeout`; kUnavailable (with the final status) once the stream ended.
  absl::StatusOr<std::optional<std::string>> Next(absl::Duration timeout);
  // Cancels the call, as an agent that stops does, and waits until it is
  // done; kDeadlineExceeded past `timeout`.
  absl::Status Close(absl::Duration timeout);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  explicit ReplayStream(std::shared_ptr<grpc::Channel> channel);

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer in_;  // only the read chain touches it

  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> out_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> inbox_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // reading ended: no more writes
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_COMPAT_REPLAY_STREAM_H_
