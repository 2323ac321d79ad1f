// The Scanner's threading rules with the in-memory scan directory and a fake
// stream: one scan at a time, abandonment, pages only for the current
// session, flow control.
#include "agent/reconcile/scanner.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/reconcile/scan_fake_directory.h"

namespace writeback::agent {
namespace {

namespace v1 = writeback::v1;
using ::testing::HasSubstr;
using testing::ScanFakeDirectory;

constexpr char kScope[] = "OU=Mailboxes,DC=corp,DC=example,DC=test";

class FakeStream : public Outbound {
 public:
  void Send(v1::AgentMessage m) override {
    absl::MutexLock lock(&mu_);
    pages_.push_back(m.scan_page());
  }
  void Cancel() override {}
  void Close() override {}
  bool WaitForRoom(size_t max_queued, absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    max_queued_ = max_queued;
    auto open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !full_; };
    return mu_.AwaitWithTimeout(absl::Condition(&open), timeout);
  }
  void SetFull(bool full) {
    absl::MutexLock lock(&mu_);
    full_ = full;
  }
  // Waits (hang guard 10 s) for the last page of `scan_id`; returns every
  // page of that scan.
  std::vector<v1::ScanPage> WaitForLast(const std::string& scan_id) {
    absl::MutexLock lock(&mu_);
    auto last = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& p : pages_) {
        if (p.scan_id() == scan_id && p.last()) return true;
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&last), absl::Seconds(10));
    return Of(scan_id);
  }
  std::vector<v1::ScanPage> Of(const std::string& scan_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<v1::ScanPage> out;
    for (const auto& p : pages_) {
      if (p.scan_id() == scan_id) out.push_back(p);
    }
    return out;
  }
  std::vector<v1::ScanPage> Pages(const std::string& scan_id) {
    absl::MutexLock lock(&mu_);
    return Of(scan_id);
  }
  size_t max_queued() {
    absl::MutexLock lock(&mu_);
    return max_queued_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::ScanPage> pages_ ABSL_GUARDED_BY(mu_);
  bool full_ ABSL_GUARDED_BY(mu_) = false;
  size_t max_queued_ ABSL_GUARDED_BY(mu_) = 0;
};

class ScannerTest : public ::testing::Test {
 protected:
  ScannerTest() {
    for (int i = 1; i <= 12; ++i) {
      dir_.AddUser(absl::StrCat("CN=u", i, ",", kScope), i, {{"objectGUID", {std::string(16, 'a' + i)}}});
    }
    Scanner::Options options;
    options.policy.scope_ous = {kScope};
    options.open_directory = [this]() -> absl::StatusOr<std::unique_ptr<DirectorySet>> {
      opened_++;
      return std::make_unique<DirectorySet>(&dir_);
    };
    options.on_finished = [this](const ScanSummary&) { finished_++; };
    scanner_ = std::make_unique<Scanner>(std::move(options));
  }
  ~ScannerTest() override { scanner_->Stop(); }

  Scanner::Session Session() {
    return {stream_, [this] { return current_.load(); }};
  }
  static v1::ScanRequest Request(const std::string& id) {
    v1::ScanRequest r;
    r.set_scan_id(id);
    r.set_page_size(5);
    return r;
  }
  void WaitFinished(int n) {
    for (int i = 0; i < 1000 && finished_.load() < n; ++i) absl::SleepFor(absl::Milliseconds(10));
  }

  ScanFakeDirectory dir_;
  std::shared_ptr<FakeStream> stream_ = std::make_shared<FakeStream>();
  std::atomic<bool> current_{true};
  std::atomic<int> opened_{0};
  std::atomic<int> finished_{0};
  std::unique_ptr<Scanner> scanner_;
};

TEST_F(ScannerTest, RunsAScanOnItsOwnDirectoryAndSendsItsPages) {
  scanner_->Start(Request("a"), Session());
  std::vector<v1::ScanPage> pages = stream_->WaitForLast("a");
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_TRUE(pages[2].last());
  EXPECT_EQ(pages[2].marks_size(), 1);
  EXPECT_EQ(opened_.load(), 1);
  EXPECT_EQ(stream_->max_queued(), 4u);  // flow control asked before sending
  // The controller may ask again as soon as it has the last page, even
  // before the scan's thread has wound down.
  scanner_->Start(Request("b"), Session());
  std::vector<v1::ScanPage> b = stream_->WaitForLast("b");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2].failure(), v1::OUTCOME_UNSPECIFIED) << b[2].diagnostic();
}

TEST_F(ScannerTest, SecondScanWhileOneRunsIsRefusedRetryable) {
  dir_.Hold();
  scanner_->Start(Request("a"), Session());
  ASSERT_TRUE(dir_.WaitForSearches(1));
  EXPECT_TRUE(scanner_->running());
  scanner_->Start(Request("b"), Session());
  std::vector<v1::ScanPage> refused = stream_->WaitForLast("b");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].failure(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(refused[0].diagnostic(), HasSubstr("a scan is already running"));
  EXPECT_EQ(opened_.load(), 1);  // b never opened a connection
  dir_.Release();
  std::vector<v1::ScanPage> a = stream_->WaitForLast("a");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2].failure(), v1::OUTCOME_UNSPECIFIED);
  WaitFinished(1);
  // Once it finished, the next scan runs.
  scanner_->Start(Request("c"), Session());
  EXPECT_EQ(stream_->WaitForLast("c").size(), 3u);
}

TEST_F(ScannerTest, AbandonedScanClosesItsConnectionAndSendsNothing) {
  dir_.Hold();
  scanner_->Start(Request("a"), Session());
  ASSERT_TRUE(dir_.WaitForSearches(1));
  scanner_->Abandon();
  EXPECT_EQ(dir_.close_calls(), 1);  // the search in progress is cut
  EXPECT_FALSE(scanner_->running());
  // A new session's scan may start while the old one winds down.
  scanner_->Start(Request("b"), Session());
  ASSERT_TRUE(dir_.WaitForSearches(2));
  dir_.Release();
  EXPECT_EQ(stream_->WaitForLast("b").size(), 3u);
  WaitFinished(2);
  EXPECT_TRUE(stream_->Pages("a").empty());
}

TEST_F(ScannerTest, NoPageGoesOutOnceTheSessionIsNoLongerCurrent) {
  dir_.Hold();
  scanner_->Start(Request("a"), Session());
  ASSERT_TRUE(dir_.WaitForSearches(1));
  current_ = false;  // the session ended (the Agent's epoch moved on)
  dir_.Release();
  WaitFinished(1);
  ASSERT_EQ(finished_.load(), 1);
  EXPECT_TRUE(stream_->Pages("a").empty());
}

TEST_F(ScannerTest, WaitsForRoomInTheStreamBeforeEachPage) {
  stream_->SetFull(true);
  scanner_->Start(Request("a"), Session());
  ASSERT_TRUE(dir_.WaitForSearches(1));
  absl::SleepFor(absl::Milliseconds(500));  // the scan is blocked on the full stream
  EXPECT_TRUE(stream_->Pages("a").empty());
  EXPECT_TRUE(scanner_->running());
  stream_->SetFull(false);
  EXPECT_EQ(stream_->WaitForLast("a").size(), 3u);
}

TEST_F(ScannerTest, ConnectionThatCannotOpenFailsTheScan) {
  Scanner::Options options;
  options.policy.scope_ous = {kScope};
  options.open_directory = []() -> absl::StatusOr<std::unique_ptr<DirectorySet>> {
    return absl::UnavailableError("no domain controller answered");
  };
  Scanner scanner(std::move(options));
  scanner.Start(Request("x"), Session());
  std::vector<v1::ScanPage> pages = stream_->WaitForLast("x");
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].failure(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(pages[0].diagnostic(), HasSubstr("no domain controller answered"));
  scanner.Stop();
}

}  // namespace
}  // namespace writeback::agent
