// RetentionPruner with a fake clock over a real SQLite store.
#include "controller/retention/retention.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::TempDir;

constexpr absl::Duration kDay = absl::Hours(24);

class RetentionPrunerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::Open(dir_.File("state.db"));
    ASSERT_OK(opened);
    store_ = std::move(*opened);
  }

  // A provisioning log record and an audit record, `age` before the clock.
  void AddBoth(const std::string& name, absl::Duration age) {
    writeback::v1::ProvisioningRecord log;
    log.set_job_id(name);
    log.set_kind("job");
    log.set_time_ms(absl::ToUnixMillis(clock_.Now() - age));
    ASSERT_OK(store_->AppendLog(&log));
    writeback::v1::AuditRecord audit;
    audit.set_method(name);
    audit.set_time_ms(absl::ToUnixMillis(clock_.Now() - age));
    ASSERT_OK(store_->AppendAudit(&audit));
  }

  std::vector<std::string> LogNames() {
    std::vector<std::string> names;
    auto records = store_->ListLog({});
    EXPECT_OK(records);
    if (records.ok()) for (const auto& r : *records) names.push_back(r.job_id());
    return names;
  }
  std::vector<std::string> AuditNames() {
    std::vector<std::string> names;
    auto records = store_->ListAudit({});
    EXPECT_OK(records);
    if (records.ok()) for (const auto& r : *records) names.push_back(r.method());
    return names;
  }

  // Polls (real time) until `done` holds; false after a 10 s hang guard.
  template <typename F>
  bool Eventually(F done) {
    absl::Time guard = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() > guard) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(RetentionPrunerTest, RunOnceDeletesWhatIsOlderThanEachRetention) {
  AddBoth("40 days", 40 * kDay);
  AddBoth("31 days", 31 * kDay);
  AddBoth("29 days", 29 * kDay);
  AddBoth("1 day", kDay);
  RetentionPruner::Options options;
  options.provisioning_log = 30 * kDay;
  options.audit_log = 35 * kDay;
  RetentionPruner pruner(store_.get(), &clock_, options);

  auto pruned = pruner.RunOnce();
  ASSERT_OK(pruned);
  EXPECT_EQ(pruned->provisioning_log, 2);
  EXPECT_EQ(pruned->audit_log, 1);
  EXPECT_THAT(LogNames(), ElementsAre("1 day", "29 days"));
  EXPECT_THAT(AuditNames(), ElementsAre("1 day", "29 days", "31 days"));
}

TEST_F(RetentionPrunerTest, ZeroRetentionKeepsForever) {
  AddBoth("ten years", 3650 * kDay);
  RetentionPruner::Options options;
  options.provisioning_log = absl::ZeroDuration();
  options.audit_log = absl::ZeroDuration();
  RetentionPruner pruner(store_.get(), &clock_, options);
  auto pruned = pruner.RunOnce();
  ASSERT_OK(pruned);
  EXPECT_EQ(pruned->provisioning_log, 0);
  EXPECT_EQ(pruned->audit_log, 0);
  EXPECT_THAT(LogNames(), ElementsAre("ten years"));
  EXPECT_THAT(AuditNames(), ElementsAre("ten years"));
}

TEST_F(RetentionPrunerTest, PrunesAtStartThenOnceEveryIntervalOfTheClock) {
  AddBoth("old", 31 * kDay);
  RetentionPruner::Options options;
  options.provisioning_log = 30 * kDay;
  options.audit_log = 30 * kDay;
  options.interval = absl::Hours(1);
  options.tick = absl::Milliseconds(2);
  RetentionPruner pruner(store_.get(), &clock_, options);
  pruner.Start();
  EXPECT_TRUE(Eventually([&] { return LogNames().empty() && AuditNames().empty(); }))
      << "the first pass runs at start";

  // Becomes older than 30 days 30 minutes from now: the next pass is due
  // only an hour after the first.
  AddBoth("ageing", 30 * kDay - absl::Minutes(30));
  clock_.Advance(absl::Minutes(40));
  absl::SleepFor(absl::Milliseconds(100));  // many ticks: no pass is due yet
  EXPECT_THAT(LogNames(), ElementsAre("ageing"));
  clock_.Advance(absl::Minutes(20));
  EXPECT_TRUE(Eventually([&] { return LogNames().empty() && AuditNames().empty(); }))
      << "the hourly pass";
  pruner.Stop();
}

TEST_F(RetentionPrunerTest, StopReturnsPromptlyAndTwice) {
  RetentionPruner::Options options;
  options.tick = absl::Hours(1);  // Stop must wake the wait, not outlast it
  RetentionPruner pruner(store_.get(), &clock_, options);
  pruner.Start();
  absl::Time start = absl::Now();
  pruner.Stop();
  pruner.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace writeback::controller

namespace writeback::controller {
namespace {

// Drift records (reconciliation) follow the provisioning log's retention.
TEST_F(RetentionPrunerTest, DriftRecordsAreKeptAsLongAsTheProvisioningLog) {
  ForestRecord forest;
  forest.name = "corp.example.test";
  forest.scope_ous = {"OU=Mailboxes,DC=corp"};
  ASSERT_OK(store_->AddForest(forest));
  ASSERT_OK(store_->AddMailbox(testing::NewMailbox("m1", forest.name, testing::Anchor(1))));
  MailboxUpdate update;
  update.cloud_id = "m1";
  update.mutate_drift = [this](MailboxRecord&, writeback::v1::ProvisioningRecord*,
                               std::vector<writeback::v1::DriftRecord>* drift) {
    for (auto [name, age] : {std::pair<const char*, absl::Duration>{"old", 31 * kDay},
                             {"recent", 29 * kDay}}) {
      writeback::v1::DriftRecord d;
      d.set_attribute(name);
      d.set_time_ms(absl::ToUnixMillis(clock_.Now() - age));
      drift->push_back(d);
    }
    return absl::OkStatus();
  };
  ASSERT_OK(store_->UpdateMailboxes({update}));
  RetentionPruner::Options options;
  options.provisioning_log = 30 * kDay;
  RetentionPruner pruner(store_.get(), &clock_, options);
  auto pruned = pruner.RunOnce();
  ASSERT_OK(pruned);
  EXPECT_EQ(pruned->drift, 1);
  auto left = store_->ListDrift({});
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].attribute(), "recent");
}

}  // namespace
}  // namespace writeback::controller
