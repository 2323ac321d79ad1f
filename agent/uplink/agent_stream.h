// One attempt of the agent's outbound stream (AgentGateway.Connect): a gRPC
// client callback reactor. Transport only: it delivers each controller
// message to a callback and sends what it is given; the Uplink re-opens it
// with backoff and the Agent decides what to do with the messages.
//
//   auto stream = std::make_shared<AgentStream>(stub, callbacks);
//   stream->Start(hello);
//   grpc::Status ended = stream->Wait();
//
// Thread-safe: Send and Cancel may be called from any thread; Send after
// the stream ended is a no-op. At most one write is outstanding.
#ifndef WRITEBACK_AGENT_UPLINK_AGENT_STREAM_H_
#define WRITEBACK_AGENT_UPLINK_AGENT_STREAM_H_

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/core/outbound.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::agent {

class AgentStream
    : public grpc::ClientBidiReactor<writeback::v1::AgentMessage, writeback::v1::ControllerMessage>,
      public Outbound {
 public:
  // Called on a gRPC thread for each message, in order.
  using OnMessage = std::function<void(const writeback::v1::ControllerMessage&)>;

  AgentStream(writeback::v1::AgentGateway::Stub* stub, OnMessage on_message);
  AgentStream(const AgentStream&) = delete;
  AgentStream& operator=(const AgentStream&) = delete;

  // Sends `hello` first and starts the call. Call once.
  void Start(writeback::v1::AgentMessage hello);
  void Send(writeback::v1::AgentMessage message) override;
  void Cancel() override;
  void Close() override;
  bool WaitForRoom(size_t max_queued, absl::Duration timeout) override;
  // Blocks until the stream has ended; returns the final status.
  grpc::Status Wait();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnWritesDoneDone(bool ok) override {}
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  OnMessage on_message_;
  writeback::v1::ControllerMessage in_;

  absl::Mutex mu_;
  std::deque<writeback::v1::AgentMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // no more writes
  bool half_close_ ABSL_GUARDED_BY(mu_) = false;  // WritesDone once the queue drained
  bool done_ ABSL_GUARDED_BY(mu_) = false;    // OnDone ran
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_UPLINK_AGENT_STREAM_H_
