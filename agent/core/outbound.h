// The agent's way back to the controller: what the Agent needs from a stream.
// Implemented by uplink/AgentStream; faked in unit tests.
#ifndef WRITEBACK_AGENT_CORE_OUTBOUND_H_
#define WRITEBACK_AGENT_CORE_OUTBOUND_H_

#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

class Outbound {
 public:
  virtual ~Outbound() = default;
  // Queues a message for the controller. Thread-safe; a no-op once ended.
  virtual void Send(writeback::v1::AgentMessage message) = 0;
  // Ends the stream now. Thread-safe.
  virtual void Cancel() = 0;
  // Ends the stream gracefully: what was queued is still sent, then the
  // agent's side is closed (the controller then ends the call). Later Sends
  // are dropped. Thread-safe, idempotent.
  virtual void Close() = 0;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_CORE_OUTBOUND_H_
