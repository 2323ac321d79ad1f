// AnswerCommitter: answers that queue up while a transaction is on its way
// share the next one, in order, each batch told its own part.
#include "controller/dispatch/answer_committer.h"

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;

std::vector<MailboxUpdate> Updates(std::vector<std::string> ids) {
  std::vector<MailboxUpdate> out;
  for (std::string& id : ids) out.push_back({std::move(id), nullptr, std::nullopt});
  return out;
}

// A store that records each transaction's mailboxes and, for the first one,
// waits until released.
struct Recorder {
  absl::Mutex mu;
  std::vector<std::vector<std::string>> transactions;
  absl::Notification first_started, release_first;
  bool fail = false;  // every transaction fails
  int fail_first = 0;  // so many transactions fail, then they work

  AnswerCommitter::Written Commit(const std::vector<MailboxUpdate>& updates) {
    bool first;
    {
      absl::MutexLock lock(&mu);
      first = transactions.empty();
      transactions.emplace_back();
      for (const MailboxUpdate& u : updates) transactions.back().push_back(u.cloud_id);
    }
    if (first) {
      first_started.Notify();
      release_first.WaitForNotification();
    }
    bool failing;
    {
      absl::MutexLock lock(&mu);
      failing = fail || static_cast<int>(transactions.size()) <= fail_first;
    }
    if (failing) return absl::UnavailableError("disk gone");
    std::vector<absl::StatusOr<MailboxRecord>> out;
    for (const MailboxUpdate& u : updates) {
      if (u.cloud_id == "gone") {
        out.push_back(absl::NotFoundError("gone"));
        continue;
      }
      MailboxRecord m;
      m.cloud_id = u.cloud_id;
      out.push_back(m);
    }
    return out;
  }
};

std::vector<std::string> Told(const AnswerCommitter::Written& w) {
  std::vector<std::string> ids;
  if (!w.ok()) return {std::string(w.status().message())};
  for (const auto& r : *w) ids.push_back(r.ok() ? r->cloud_id : "error");
  return ids;
}

TEST(AnswerCommitterTest, BatchesQueuedDuringACommitShareTheNextTransactionInOrder) {
  Recorder store;
  AnswerCommitter committer([&](const auto& u) { return store.Commit(u); });
  std::vector<std::vector<std::string>> told;  // only the committer thread appends
  auto done = [&](const AnswerCommitter::Written& w) { told.push_back(Told(w)); };

  committer.Submit(Updates({"a"}), done);
  store.first_started.WaitForNotification();  // "a" is being written
  committer.Submit(Updates({"b", "c"}), done);
  committer.Submit(Updates({"gone"}), done);
  committer.Submit(Updates({"d"}), done);
  store.release_first.Notify();
  committer.Flush();

  EXPECT_THAT(store.transactions,
              ElementsAre(ElementsAre("a"), ElementsAre("b", "c", "gone", "d")));
  EXPECT_EQ(committer.commits(), 2u);
  EXPECT_THAT(told, ElementsAre(ElementsAre("a"), ElementsAre("b", "c"), ElementsAre("error"),
                                ElementsAre("d")));
}

const std::vector<absl::Duration> kQuickRetries = {absl::Milliseconds(1), absl::Milliseconds(1)};

TEST(AnswerCommitterTest, AFailedTransactionIsTriedAgainWithTheSameBatches) {
  Recorder store;
  store.fail_first = 2;
  AnswerCommitter committer([&](const auto& u) { return store.Commit(u); }, kQuickRetries);
  std::vector<std::vector<std::string>> told;
  auto done = [&](const AnswerCommitter::Written& w) { told.push_back(Told(w)); };
  committer.Submit(Updates({"a"}), done);
  store.first_started.WaitForNotification();
  committer.Submit(Updates({"b"}), done);  // queued behind the failing one
  store.release_first.Notify();
  committer.Flush();
  // "a" alone three times (two failures, then success), then "b".
  EXPECT_THAT(store.transactions, ElementsAre(ElementsAre("a"), ElementsAre("a"),
                                              ElementsAre("a"), ElementsAre("b")));
  EXPECT_EQ(committer.commits(), 4u);
  EXPECT_THAT(told, ElementsAre(ElementsAre("a"), ElementsAre("b")));  // each told once, ok
}

TEST(AnswerCommitterTest, ATransactionThatKeepsFailingFailsEveryBatchInIt) {
  Recorder store;
  store.fail = true;
  AnswerCommitter committer([&](const auto& u) { return store.Commit(u); }, kQuickRetries);
  std::vector<std::vector<std::string>> told;
  auto done = [&](const AnswerCommitter::Written& w) { told.push_back(Told(w)); };
  committer.Submit(Updates({"a"}), done);
  store.first_started.WaitForNotification();
  committer.Submit(Updates({"b"}), done);
  committer.Submit(Updates({"c"}), done);
  store.release_first.Notify();
  committer.Flush();
  EXPECT_THAT(told, ElementsAre(ElementsAre("disk gone"), ElementsAre("disk gone"),
                                ElementsAre("disk gone")));
  // "a" tried three times (two retries), then "b" and "c" together three times.
  EXPECT_EQ(committer.commits(), 6u);
}

TEST(AnswerCommitterTest, TheDestructorRecordsWhatIsStillQueued) {
  Recorder store;
  int told = 0;
  {
    AnswerCommitter committer([&](const auto& u) { return store.Commit(u); });
    committer.Submit(Updates({"a"}), [&](const auto&) { ++told; });
    store.first_started.WaitForNotification();
    committer.Submit(Updates({"b"}), [&](const auto&) { ++told; });
    store.release_first.Notify();
  }
  EXPECT_EQ(told, 2);
  EXPECT_THAT(store.transactions, ElementsAre(ElementsAre("a"), ElementsAre("b")));
}

}  // namespace
}  // namespace writeback::controller
