// Group commit of agent answers (DESIGN §2 "accepted means committed" is
// about the Admin API; answers are acknowledged to nobody, so they may wait
// a moment for the disk). Every JobResults message used to be its own store
// transaction, run on the stream's reactor thread: one fsync per message, and
// the stream read nothing more until it was done. The committer takes
// batches from any thread, returns at once, and writes everything that
// queued up while the previous transaction was on its way in ONE
// UpdateMailboxes call, so the fsyncs per answer fall as the load rises.
//
//   AnswerCommitter committer(
//       [store](const std::vector<MailboxUpdate>& u) { return store->UpdateMailboxes(u); });
//   committer.Submit(std::move(updates), [](const auto& written) { ... });
//   committer.Flush();  // everything submitted so far is committed and told
//
// Batches are committed in submission order, and each batch's `done` runs on
// the committer's thread after its commit, in the same order. A failed
// transaction is tried again with the same batches after `retry_delays`
// (a store that was busy or out of disk for a moment loses nothing; the
// answers' credit stays held meanwhile, so no new work goes out). When the
// last try fails too, or the committer is stopping, every batch in it fails:
// the work stays IN_FLIGHT in the store until the controller's next start
// puts it back in line (ResetInFlight). Thread-safe; the destructor flushes.
#ifndef WRITEBACK_CONTROLLER_DISPATCH_ANSWER_COMMITTER_H_
#define WRITEBACK_CONTROLLER_DISPATCH_ANSWER_COMMITTER_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/store.h"

namespace writeback::controller {

class AnswerCommitter {
 public:
  // What UpdateMailboxes answered for one batch's updates, in order.
  using Written = absl::StatusOr<std::vector<absl::StatusOr<MailboxRecord>>>;
  using Done = std::function<void(const Written&)>;

  // One transaction: Store::UpdateMailboxes.
  using Commit = std::function<Written(const std::vector<MailboxUpdate>&)>;

  // The waits before each further try of a failed transaction.
  static std::vector<absl::Duration> DefaultRetryDelays();

  explicit AnswerCommitter(Commit commit,
                           std::vector<absl::Duration> retry_delays = DefaultRetryDelays());
  ~AnswerCommitter();
  AnswerCommitter(const AnswerCommitter&) = delete;
  AnswerCommitter& operator=(const AnswerCommitter&) = delete;

  void Submit(std::vector<MailboxUpdate> updates, Done done);
  // Returns when every batch submitted before the call is committed and its
  // `done` has returned.
  void Flush();
  // Transactions so far, tries of a failed one included (for tests:
  // several batches, fewer commits).
  uint64_t commits() const;

 private:
  struct Batch {
    std::vector<MailboxUpdate> updates;
    Done done;
  };
  void Run();
  // Commits `all`, trying again after each retry delay while it fails and
  // the committer is not stopping.
  Written CommitWithRetries(const std::vector<MailboxUpdate>& all);

  const Commit commit_;
  const std::vector<absl::Duration> retry_delays_;
  mutable absl::Mutex mu_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t finished_ ABSL_GUARDED_BY(mu_) = 0;  // batches committed and told
  uint64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_DISPATCH_ANSWER_COMMITTER_H_
