// What the dispatcher needs from an agent stream: a way to send and a way to
// cut it. Implemented by gateway/AgentSession; faked in unit tests.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_SESSION_SINK_H_
#define WRITEBACK_CONTROLLER_DISPATCH_SESSION_SINK_H_

#include <string>

#include "absl/status/status.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

class SessionSink {
 public:
  virtual ~SessionSink() = default;
  // Queues a message for the agent. Thread-safe; silently dropped once the
  // stream is closing (the dispatcher learns of it through Detach).
  virtual void Send(writeback::v1::ControllerMessage message) = 0;
  // Cuts the stream (lease expired, revoked). Thread-safe, idempotent.
  virtual void Abort(const std::string& reason) = 0;
  // Ends the stream with `status` (its code and message reach the agent),
  // dropping queued messages. Thread-safe, idempotent. By default Abort.
  virtual void Close(const absl::Status& status) { Abort(std::string(status.message())); }
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_SESSION_SINK_H_
