// What the Dispatcher tells an observer (metrics, controller/metrics/) about
// sessions, accepted changes and answers. Calls come from gRPC and the
// dispatcher thread, never under the dispatcher's lock; implementations are
// thread-safe and quick (no store access, no blocking).
//
//   Dispatcher::Options options;
//   options.observer = &controller_metrics;   // not owned; outlives the
//   Dispatcher
#ifndef WRITEBACK_CONTROLLER_DISPATCH_DISPATCH_OBSERVER_H_
#define WRITEBACK_CONTROLLER_DISPATCH_DISPATCH_OBSERVER_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

class DispatchObserver {
 public:
  virtual ~DispatchObserver() = default;
  // An agent stream was accepted (Attach) or ended (Detach).
  virtual void SessionStarted(const std::string& agent_id, const std::string& forest) = 0;
  virtual void SessionEnded(const std::string& agent_id, const std::string& forest) = 0;
  // A change of `cloud_id` was committed at desired generation `gen`
  // (Dispatcher::Accepted, from the Admin API). Called again for the same
  // generation when an edit changed nothing.
  virtual void ChangeAccepted(const std::string& cloud_id, uint64_t gen, absl::Time at) = 0;
  // The session that was given `job` answered it with `result`.
  virtual void JobAnswered(const std::string& forest, const writeback::v1::Job& job,
                           const writeback::v1::JobResult& result, absl::Time at) = 0;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_DISPATCH_OBSERVER_H_
