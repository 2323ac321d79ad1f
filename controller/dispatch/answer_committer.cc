#include "controller/dispatch/answer_committer.h"

#include <iterator>
#include <utility>

namespace writeback::controller {

std::vector<absl::Duration> AnswerCommitter::DefaultRetryDelays() {
  return {absl::Milliseconds(100), absl::Milliseconds(500), absl::Seconds(2)};
}

AnswerCommitter::AnswerCommitter(Commit commit, std::vector<absl::Duration> retry_delays)
    : commit_(std::move(commit)), retry_delays_(std::move(retry_delays)) {
  thread_ = std::thread([this] { Run(); });
}

AnswerCommitter::~AnswerCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;  // Run() empties the queue before it returns
  }
  thread_.join();
}

void AnswerCommitter::Submit(std::vector<MailboxUpdate> updates, Done done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back({std::move(updates), std::move(done)});
  ++submitted_;
}

void AnswerCommitter::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = submitted_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_ >= target; };
  mu_.Await(absl::Condition(&done));
}

uint64_t AnswerCommitter::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

void AnswerCommitter::Run() {
  while (true) {
    std::deque<Batch> batches;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stop_; };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, nothing left
      batches.swap(queue_);
    }
    std::vector<MailboxUpdate> all;
    for (Batch& b : batches) {
      for (MailboxUpdate& u : b.updates) all.push_back(std::move(u));
    }
    Written written = CommitWithRetries(all);
    size_t at = 0;
    for (Batch& b : batches) {
      const size_t n = b.updates.size();
      if (!written.ok()) {
        b.done(written.status());
      } else {
        b.done(std::vector<absl::StatusOr<MailboxRecord>>(
            std::make_move_iterator(written->begin() + at),
            std::make_move_iterator(written->begin() + at + n)));
      }
      at += n;
    }
    absl::MutexLock lock(&mu_);
    finished_ += batches.size();
  }
}

AnswerCommitter::Written AnswerCommitter::CommitWithRetries(
    const std::vector<MailboxUpdate>& all) {
  for (size_t attempt = 0;; ++attempt) {
    {
      absl::MutexLock lock(&mu_);
      ++commits_;
    }
    Written written = commit_(all);
    if (written.ok() || attempt == retry_delays_.size()) return written;
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), retry_delays_[attempt])) {
      return written;  // stopping: the next start redelivers the work
    }
  }
}

}  // namespace writeback::controller
