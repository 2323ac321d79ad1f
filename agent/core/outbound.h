// The agent's way back to the controller: what the Agent needs from a stream.
// Implemented by uplink/AgentStream; faked in unit tests.
#ifndef WRITEBACK_AGENT_CORE_OUTBOUND_H_
#define WRITEBACK_AGENT_CORE_OUTBOUND_H_

#include <cstddef>

#include "absl/time/time.h"
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
  // Flow control for bulk senders (reconciliation scans): waits up to
  // `timeout` until at most `max_queued` messages wait to be written.
  // Returns false on timeout; true when there is room or the stream has
  // ended (Send is then a no-op, so nothing piles up). Thread-safe. The
  // default (fakes) has room at once.
  virtual bool WaitForRoom(size_t max_queued, absl::Duration timeout) {
    (void)max_queued, (void)timeout;
    return true;
  }
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_CORE_OUTBOUND_H_
