// A SessionSink that records what the dispatcher sends to one agent.
#ifndef WRITEBACK_TESTS_CONTROLLER_DISPATCH_FAKE_SINK_H_
#define WRITEBACK_TESTS_CONTROLLER_DISPATCH_FAKE_SINK_H_

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/dispatch/session_sink.h"

namespace writeback::controller {

// Records what the dispatcher sends to one agent.
class FakeSink : public SessionSink {
 public:
  void Send(writeback::v1::ControllerMessage m) override {
    absl::MutexLock lock(&mu_);
    if (!m.has_heartbeat()) kinds_.push_back(m.body_case());
    if (m.has_heartbeat() || m.has_welcome()) return;
    sent_.push_back(std::move(m));
  }
  // Every non-heartbeat message kind in the order sent, the Welcome included.
  std::vector<writeback::v1::ControllerMessage::BodyCase> kinds() {
    absl::MutexLock lock(&mu_);
    return kinds_;
  }
  void Abort(const std::string& reason) override {
    absl::MutexLock lock(&mu_);
    aborted_ = true;
  }
  // Waits (hang guard 10 s) until `n` work messages were sent.
  std::vector<writeback::v1::ControllerMessage> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sent_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return sent_;
  }
  size_t Count() {
    absl::MutexLock lock(&mu_);
    return sent_.size();
  }
  bool aborted() {
    absl::MutexLock lock(&mu_);
    return aborted_;
  }

 private:
  absl::Mutex mu_;
  std::vector<writeback::v1::ControllerMessage> sent_ ABSL_GUARDED_BY(mu_);
  std::vector<writeback::v1::ControllerMessage::BodyCase> kinds_ ABSL_GUARDED_BY(mu_);
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_TESTS_CONTROLLER_DISPATCH_FAKE_SINK_H_
