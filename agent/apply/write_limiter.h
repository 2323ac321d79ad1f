// The local policy's write caps (DESIGN §5, issue 3): a per-DC rate that
// THROTTLES (callers wait, nothing fails) and an agent-wide volume cap per
// sliding window that REFUSES.
//
//   WriteLimiter limiter({.per_second = 50, .per_window = 10000,
//                         .window = absl::Hours(1)}, clock);
//   while (absl::Duration d = limiter.Delay(dc); d > absl::ZeroDuration()) Sleep(d);
//   if (absl::Status s = limiter.CheckVolume(); !s.ok()) ...  // refuse the job
//   limiter.Record(dc);  // the modify is sent now
//
// Rate: a token bucket per DC URL holding at most max(1, per_second) tokens
// (one second of burst), refilled at per_second tokens a second; each write
// takes one. Volume: the writes recorded in the last `window`, whatever the
// DC. Zero disables either cap. Time comes from the injected Clock.
//
// Thread-compatible: one thread at a time (the applier's).
#ifndef WRITEBACK_AGENT_APPLY_WRITE_LIMITER_H_
#define WRITEBACK_AGENT_APPLY_WRITE_LIMITER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/base/clock.h"

namespace writeback::agent {

class WriteLimiter {
 public:
  struct Options {
    // Writes a second per DC; 0: unlimited.
    uint32_t per_second = 0;
    // Writes per `window`, agent-wide; 0: no cap.
    uint32_t per_window = 0;
    absl::Duration window = absl::Hours(1);
  };

  // `clock` is not owned and must outlive the limiter.
  WriteLimiter(Options options, Clock* clock);

  // How long a write to `dc` must wait for its token (zero: now).
  absl::Duration Delay(const std::string& dc) const;

  // OK, or kResourceExhausted "volume cap reached: N writes in the last S s"
  // when `per_window` writes were recorded within the last `window`.
  absl::Status CheckVolume();

  // A write to `dc` is sent now: takes its token and counts it.
  void Record(const std::string& dc);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
  };
  // The bucket of `dc` refilled up to now (a full one when new).
  Bucket Refilled(const std::string& dc, absl::Time now) const;
  double Capacity() const;

  const Options options_;
  Clock* const clock_;
  std::map<std::string, Bucket> buckets_;
  std::deque<absl::Time> recent_;  // send times within the window, oldest first
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_WRITE_LIMITER_H_
