// The outgoing side of a gRPC callback reactor in test tools: a stream allows
// one write in flight, so further messages wait here in order.
//
//   if (Message* first = out_.Push(std::move(m))) StartWrite(first);
//   void OnWriteDone(bool ok) override {
//     if (Message* next = out_.Done(ok)) StartWrite(next);
//   }
//
// Thread-safe. The pointer handed out stays valid until the Done() that ends
// its write (a deque keeps its elements in place as it grows).
#ifndef WRITEBACK_TESTS_HARNESS_WRITE_QUEUE_H_
#define WRITEBACK_TESTS_HARNESS_WRITE_QUEUE_H_

#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace writeback::testing {

template <typename Message>
class WriteQueue {
 public:
  // Queues `message`; returns it when no write is in progress (the caller
  // starts writing it), nullptr otherwise.
  Message* Push(Message message) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(message));
    if (writing_) return nullptr;
    writing_ = true;
    return &queue_.front();
  }
  // The write in progress ended; returns the next message to write, or
  // nullptr when there is none (idle). After a failed write the stream is
  // done: what was queued is dropped.
  Message* Done(bool ok) {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) queue_.clear();
    if (queue_.empty()) {
      writing_ = false;
      return nullptr;
    }
    return &queue_.front();
  }

 private:
  absl::Mutex mu_;
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_WRITE_QUEUE_H_
