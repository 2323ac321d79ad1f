#include "common/base/backoff.h"

#include <algorithm>
#include <cmath>

namespace writeback {

absl::Duration Backoff::ForAttempt(uint32_t attempt) {
  double base = absl::ToDoubleMilliseconds(options_.initial) *
                std::pow(options_.multiplier, std::min<uint32_t>(attempt, 64));
  double capped = std::min(base, absl::ToDoubleMilliseconds(options_.max));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return absl::Milliseconds(capped * jitter(rng_));
}

absl::Duration Backoff::Next() { return ForAttempt(attempt_++); }

}  // namespace writeback
