// The provisioning log and audit trail of SqliteStore beyond ListLog (see
// sqlite_store_test.cc): paging oldest first, retention pruning, and the kind
// column filled in for records written before schema version 3.
#include <memory>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/schema.h"
#include "controller/store/sqlite_db.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using testing::TempDir;
using writeback::testing::StatusIs;
using writeback::v1::ListProvisioningLogRequest;
using writeback::v1::ProvisioningRecord;

ProvisioningRecord Record(const std::string& job_id, int64_t time_ms, const std::string& kind,
                          const std::string& mailbox = "m1") {
  ProvisioningRecord r;
  r.set_job_id(job_id);
  r.set_time_ms(time_ms);
  r.set_kind(kind);
  r.set_mailbox_id(mailbox);
  r.set_forest("corp.example.com");
  r.set_agent_id("a1");
  return r;
}

std::vector<std::string> JobIds(const std::vector<ProvisioningRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.job_id());
  return ids;
}

class SqliteLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::Open(path_);
    ASSERT_OK(opened);
    store_ = std::move(*opened);
  }

  void Append(ProvisioningRecord r) { ASSERT_OK(store_->AppendLog(&r)); }

  void AppendAudit(int64_t time_ms) {
    writeback::v1::AuditRecord r;
    r.set_time_ms(time_ms);
    r.set_method("UpdateMailbox");
    ASSERT_OK(store_->AppendAudit(&r));
  }

  // Every page of ListLogAfter, concatenated.
  std::vector<ProvisioningRecord> AllPages(const ListProvisioningLogRequest& filter,
                                           size_t page_size, int* pages) {
    std::vector<ProvisioningRecord> all;
    int64_t after = 0;
    *pages = 0;
    while (true) {
      auto page = store_->ListLogAfter(filter, after, page_size);
      EXPECT_OK(page);
      if (!page.ok()) return all;
      ++*pages;
      for (auto& r : *page) {
        after = r.id();
        all.push_back(std::move(r));
      }
      if (page->size() < page_size) return all;
    }
  }

  TempDir dir_;
  std::string path_ = dir_.File("state.db");
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteLogTest, ListLogAfterPagesThroughEveryRecordOldestFirst) {
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    // Times out of id order: paging follows ids, the order they were written.
    Append(Record("j" + std::to_string(i), 1000 - i, "job"));
    expected.push_back("j" + std::to_string(i));
  }
  int pages = 0;
  auto all = AllPages({}, 10, &pages);
  EXPECT_THAT(JobIds(all), ElementsAreArray(expected));
  EXPECT_EQ(pages, 3);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].id(), all[i - 1].id());
}

TEST_F(SqliteLogTest, ListLogAfterAppliesEveryFilterAndIgnoresTheLimit) {
  Append(Record("j1", 100, "job", "m1"));
  Append(Record("r1", 200, "read", "m2"));
  Append(Record("l1", 300, "lost", "m1"));
  Append(Record("j2", 400, "job", "m2"));
  Append(Record("x1", 500, "removed", "m1"));
  ListProvisioningLogRequest filter;
  filter.set_mailbox_id("m1");
  filter.set_limit(1);
  int pages = 0;
  EXPECT_THAT(JobIds(AllPages(filter, 2, &pages)), ElementsAre("j1", "l1", "x1"));
  filter.Clear();
  filter.set_kind("job");
  EXPECT_THAT(JobIds(AllPages(filter, 1, &pages)), ElementsAre("j1", "j2"));
  filter.Clear();
  filter.set_since_ms(200);
  filter.set_until_ms(500);
  EXPECT_THAT(JobIds(AllPages(filter, 100, &pages)), ElementsAre("r1", "l1", "j2"));
  EXPECT_EQ(pages, 1);
}

TEST_F(SqliteLogTest, ListLogAfterRefusesAnEmptyPage) {
  EXPECT_THAT(store_->ListLogAfter({}, 0, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteLogTest, PruneLogDeletesOnlyOlderRecordsAndCountsThem) {
  Append(Record("old1", 100, "job"));
  Append(Record("old2", 199, "read"));
  Append(Record("edge", 200, "job"));
  Append(Record("new", 300, "lost"));
  auto pruned = store_->PruneLog(200);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 2);
  EXPECT_THAT(JobIds(*store_->ListLog({})), ElementsAre("new", "edge"));
  EXPECT_EQ(*store_->PruneLog(200), 0);
}

TEST_F(SqliteLogTest, PruneLogCrossesBatchBoundaries) {
  const int64_t total = SqliteStore::kPruneBatch * 2 + 7;
  for (int64_t i = 0; i < total; ++i) Append(Record("old", i + 1, "job"));
  Append(Record("kept", total + 100, "job"));
  auto pruned = store_->PruneLog(total + 1);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, total);
  EXPECT_THAT(JobIds(*store_->ListLog({})), ElementsAre("kept"));
}

TEST_F(SqliteLogTest, AuditTrailIsKeptAndFilteredNewestFirst) {
  auto add = [&](int64_t time_ms, const std::string& method) {
    writeback::v1::AuditRecord r;
    r.set_time_ms(time_ms);
    r.set_method(method);
    r.set_caller("peer");
    r.set_result("OK");
    ASSERT_OK(store_->AppendAudit(&r));
    EXPECT_GT(r.id(), 0);
  };
  add(100, "AddForest");
  add(200, "UpdateMailbox");
  add(300, "UpdateMailbox");
  store_.reset();  // reopened: the trail is durable
  SetUp();
  auto all = store_->ListAudit({});
  ASSERT_OK(all);
  ASSERT_THAT(*all, SizeIs(3));
  EXPECT_EQ((*all)[0].time_ms(), 300);
  EXPECT_EQ((*all)[2].method(), "AddForest");
  writeback::v1::ListAuditLogRequest filter;
  filter.set_method("UpdateMailbox");
  filter.set_since_ms(150);
  filter.set_until_ms(300);
  auto some = store_->ListAudit(filter);
  ASSERT_OK(some);
  ASSERT_THAT(*some, SizeIs(1));
  EXPECT_EQ((*some)[0].time_ms(), 200);
}

TEST_F(SqliteLogTest, ListLogReturnsAHundredWhenNoLimitIsGiven) {
  for (int i = 0; i < 120; ++i) {
    ProvisioningRecord r;
    r.set_time_ms(i);
    r.set_kind("job");
    ASSERT_OK(store_->AppendLog(&r));
  }
  EXPECT_THAT(*store_->ListLog({}), SizeIs(100));
}

TEST_F(SqliteLogTest, PruneAuditDeletesOnlyOlderRecords) {
  AppendAudit(100);
  AppendAudit(200);
  AppendAudit(300);
  auto pruned = store_->PruneAudit(250);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 2);
  auto left = store_->ListAudit({});
  ASSERT_OK(left);
  ASSERT_THAT(*left, SizeIs(1));
  EXPECT_EQ((*left)[0].time_ms(), 300);
  // The provisioning log is not touched by the audit's retention.
  EXPECT_THAT(*store_->ListLog({}), IsEmpty());
}

// A store written before version 3 has no kind column: the migration fills
// it from each record, so the kind filter finds old records too.
TEST(SqliteLogMigrationTest, KindOfRecordsWrittenBeforeVersion3IsFilledIn) {
  TempDir dir;
  const std::string path = dir.File("v2.db");
  {
    auto db = SqliteDb::Open(path);
    ASSERT_OK(db);
    ASSERT_OK(MigrateSchema(**db, SchemaMigrations().subspan(0, 2)));
    int id = 0;
    for (const char* kind : {"job", "lost", "read", "removed", "job"}) {
      ++id;
      ProvisioningRecord r = Record(absl::StrCat("w", id), id * 100, kind);
      auto st = (*db)->Prepare(
          "INSERT INTO provisioning_log (time_ms, mailbox_id, forest, agent_id, outcome, job_id, "
          "record) VALUES (?1, 'm1', 'corp.example.com', 'a1', 0, ?2, ?3)");
      ASSERT_OK(st);
      st->BindInt(1, r.time_ms());
      st->BindText(2, r.job_id());
      st->BindBlob(3, r.SerializeAsString());
      ASSERT_OK(st->Run());
    }
  }
  auto store = SqliteStore::Open(path);
  ASSERT_OK(store);
  ListProvisioningLogRequest filter;
  filter.set_kind("job");
  EXPECT_THAT(JobIds(*(*store)->ListLog(filter)), ElementsAre("w5", "w1"));
  filter.set_kind("lost");
  EXPECT_THAT(JobIds(*(*store)->ListLog(filter)), ElementsAre("w2"));
  filter.set_kind("removed");
  EXPECT_THAT(JobIds(*(*store)->ListLog(filter)), ElementsAre("w4"));
}

}  // namespace
}  // namespace writeback::controller
