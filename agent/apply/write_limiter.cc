#include "agent/apply/write_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace writeback::agent {

WriteLimiter::WriteLimiter(Options options, Clock* clock)
    : options_(options), clock_(clock) {}

double WriteLimiter::Capacity() const {
  return std::max(1.0, static_cast<double>(options_.per_second));
}

WriteLimiter::Bucket WriteLimiter::Refilled(const std::string& dc, absl::Time now) const {
  auto it = buckets_.find(dc);
  if (it == buckets_.end()) return Bucket{Capacity(), now};
  Bucket b = it->second;
  const double elapsed = absl::ToDoubleSeconds(std::max(absl::ZeroDuration(), now - b.refilled));
  b.tokens = std::min(Capacity(), b.tokens + elapsed * options_.per_second);
  b.refilled = now;
  return b;
}

absl::Duration WriteLimiter::Delay(const std::string& dc) const {
  if (options_.per_second == 0) return absl::ZeroDuration();
  const Bucket b = Refilled(dc, clock_->Now());
  if (b.tokens >= 1.0) return absl::ZeroDuration();
  // Round up to a whole microsecond so that the token is there after waiting.
  const double seconds = (1.0 - b.tokens) / options_.per_second;
  return absl::Ceil(absl::Seconds(seconds), absl::Microseconds(1));
}

absl::Status WriteLimiter::CheckVolume() {
  if (options_.per_window == 0) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  while (!recent_.empty() && recent_.front() <= now - options_.window) recent_.pop_front();
  if (recent_.size() < options_.per_window) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "volume cap reached: ", recent_.size(), " writes in the last ",
      absl::ToInt64Seconds(options_.window), " s (max_writes_per_window ",
      options_.per_window, "); nothing written; the job may be retried once the window has "
      "room, or raise the cap if this volume is expected"));
}

void WriteLimiter::Record(const std::string& dc) {
  const absl::Time now = clock_->Now();
  if (options_.per_second > 0) {
    Bucket b = Refilled(dc, now);
    b.tokens -= 1.0;
    buckets_[dc] = b;
  }
  if (options_.per_window > 0) recent_.push_back(now);
}

}  // namespace writeback::agent
