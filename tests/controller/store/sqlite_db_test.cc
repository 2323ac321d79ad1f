// SqliteDb: connection settings, bindings and the error codes callers retry on.
#include "controller/store/sqlite_db.h"

#include <sqlite3.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using writeback::testing::StatusIs;

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(path_, /*busy_timeout_ms=*/50);
    ASSERT_OK(db);
    db_ = std::move(*db);
  }

  std::string QueryText(const std::string& sql) {
    auto st = db_->Prepare(sql);
    EXPECT_OK(st);
    auto row = st->Step();
    EXPECT_OK(row);
    return row.ok() && *row ? st->Text(0) : "";
  }

  TempDir dir_;
  std::string path_ = dir_.File("state.db");
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(SqliteDbTest, ConnectionIsDurableByConfiguration) {
  EXPECT_EQ(QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText("PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(QueryText("PRAGMA foreign_keys"), "1");
}

TEST_F(SqliteDbTest, EmptyPathIsRefused) {
  EXPECT_THAT(SqliteDb::Open(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteDbTest, AnEmptyBlobIsNotNull) {
  ASSERT_OK(db_->Exec("CREATE TABLE t (id INTEGER, b BLOB)"));
  {
    auto insert = db_->Prepare("INSERT INTO t VALUES (?1, ?2)");
    ASSERT_OK(insert);
    insert->BindInt(1, 1);
    insert->BindBlob(2, "");
    ASSERT_OK(insert->Run());
  }
  {
    auto insert = db_->Prepare("INSERT INTO t VALUES (?1, ?2)");
    ASSERT_OK(insert);
    insert->BindInt(1, 2);
    insert->BindNull(2);
    ASSERT_OK(insert->Run());
  }
  auto select = db_->Prepare("SELECT b FROM t ORDER BY id");
  ASSERT_OK(select);
  ASSERT_TRUE(*select->Step());
  EXPECT_FALSE(select->IsNull(0));
  EXPECT_EQ(select->Blob(0), "");
  ASSERT_TRUE(*select->Step());
  EXPECT_TRUE(select->IsNull(0));
}

TEST_F(SqliteDbTest, ABadParameterIndexIsReportedByStep) {
  auto st = db_->Prepare("SELECT ?1");
  ASSERT_OK(st);
  st->BindInt(7, 1);
  EXPECT_THAT(st->Step(), StatusIs(absl::StatusCode::kInternal, HasSubstr("binding")));
}

TEST_F(SqliteDbTest, ALockHeldElsewhereIsUnavailable) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_THAT(db_->Begin(SqliteDb::kImmediate),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry")));
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_OK(db_->Begin(SqliteDb::kImmediate));
  db_->Rollback();
}

TEST_F(SqliteDbTest, ErrorCodesTellTheCallerWhatToDo) {
  EXPECT_THAT(db_->Error(SQLITE_BUSY, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(db_->Error(SQLITE_FULL, "x"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("free disk space")));
  EXPECT_THAT(db_->Error(SQLITE_IOERR_FSYNC, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(db_->Error(SQLITE_CORRUPT, "x"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(db_->Error(SQLITE_READONLY, "x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(db_->Error(SQLITE_MISUSE, "doing x"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr(path_ + "\": doing x")));
}

}  // namespace
}  // namespace writeback::controller
