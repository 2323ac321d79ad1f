// Time as an injected dependency, so logic is tested with a simulated clock.
//
//   FakeClock clock(absl::FromUnixSeconds(1000));
//   Lease lease(&clock, absl::Seconds(5));
//   clock.Advance(absl::Seconds(6));   // the lease is now expired
//
// Thread-safe.
#ifndef WRITEBACK_COMMON_BASE_CLOCK_H_
#define WRITEBACK_COMMON_BASE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace writeback {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real clock. Never null; not owned by the caller.
  static Clock* Real();
};

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_CLOCK_H_
