// Exponential backoff with full jitter, as gRPC's connection backoff:
// delay(n) = random in [d/2, d] with d = min(initial * multiplier^n, max).
//
//   Backoff backoff({.initial = absl::Milliseconds(500), .max = absl::Seconds(30)});
//   absl::Duration wait = backoff.Next();   // after each failure
//   backoff.Reset();                        // after a success
//
// Not thread-safe; one per retry loop.
#ifndef WRITEBACK_COMMON_BASE_BACKOFF_H_
#define WRITEBACK_COMMON_BASE_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace writeback {

class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Seconds(1);
    absl::Duration max = absl::Seconds(120);
    double multiplier = 1.6;
  };
  explicit Backoff(Options options, uint64_t seed = std::random_device{}())
      : options_(options), rng_(seed) {}

  // The delay before the next attempt; grows with each call.
  absl::Duration Next();
  // The delay for attempt number `attempt` (0-based) without changing state.
  absl::Duration ForAttempt(uint32_t attempt);
  void Reset() { attempt_ = 0; }

 private:
  Options options_;
  std::mt19937_64 rng_;
  uint32_t attempt_ = 0;
};

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_BACKOFF_H_
