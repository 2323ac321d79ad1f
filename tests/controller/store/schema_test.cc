// Schema migrations of the SQLite store, on real files.
#include "controller/store/schema.h"

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_db.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using writeback::testing::StatusIs;

class SchemaTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteDb> OpenDb() {
    auto db = SqliteDb::Open(path_);
    EXPECT_OK(db);
    return db.ok() ? std::move(*db) : nullptr;
  }

  int Version(SqliteDb& db) {
    auto version = ReadSchemaVersion(db);
    EXPECT_OK(version);
    return version.ok() ? *version : -1;
  }

  bool HasTable(SqliteDb& db, const std::string& name) {
    auto st = db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    EXPECT_OK(st);
    st->BindText(1, name);
    auto row = st->Step();
    EXPECT_OK(row);
    return row.ok() && *row;
  }

  TempDir dir_;
  std::string path_ = dir_.File("state.db");
};

TEST_F(SchemaTest, VersionsAreNumberedFromOneWithoutGaps) {
  auto steps = SchemaMigrations();
  ASSERT_FALSE(steps.empty());
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
  EXPECT_EQ(LatestSchemaVersion(), static_cast<int>(steps.size()));
}

TEST_F(SchemaTest, EmptyDatabaseIsMigratedToTheLatestVersion) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Version(*db), 0);
  ASSERT_OK(MigrateSchema(*db));
  EXPECT_EQ(Version(*db), LatestSchemaVersion());
  for (const char* table :
       {"forests", "forest_scope_ous", "agents", "mailboxes", "provisioning_log"}) {
    EXPECT_TRUE(HasTable(*db, table)) << table;
  }
}

TEST_F(SchemaTest, MigratingAnUpToDateDatabaseChangesNothing) {
  {
    auto store = SqliteStore::Open(path_);
    ASSERT_OK(store);
    ASSERT_OK((*store)->AddForest({"corp.example.com", {}, 1}));
  }
  auto store = SqliteStore::Open(path_);
  ASSERT_OK(store);
  EXPECT_OK((*store)->GetForest("corp.example.com"));
}

TEST_F(SchemaTest, OnlyTheMissingStepsAreAppliedInOrder) {
  // Re-running a step would fail: CREATE TABLE of an existing table.
  const SchemaMigration v1[] = {{1, "CREATE TABLE t1 (x INTEGER)"}};
  const SchemaMigration v2[] = {{1, "CREATE TABLE t1 (x INTEGER)"},
                                {2, "CREATE TABLE t2 (y INTEGER); INSERT INTO t1 VALUES (1);"}};
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  ASSERT_OK(MigrateSchema(*db, v1));
  EXPECT_EQ(Version(*db), 1);
  ASSERT_OK(MigrateSchema(*db, v2));
  EXPECT_EQ(Version(*db), 2);
  EXPECT_TRUE(HasTable(*db, "t2"));
  ASSERT_OK(MigrateSchema(*db, v2));
  EXPECT_EQ(Version(*db), 2);
}

TEST_F(SchemaTest, AFailingStepLeavesTheDatabaseAsItWas) {
  const SchemaMigration steps[] = {{1, "CREATE TABLE t1 (x INTEGER)"},
                                   {2, "CREATE TABLE t2 (y INTEGER); NOT SQL AT ALL"}};
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(MigrateSchema(*db, steps),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("NOT SQL")));
  EXPECT_EQ(Version(*db), 0);
  EXPECT_FALSE(HasTable(*db, "t1"));
  EXPECT_FALSE(HasTable(*db, "t2"));
}

TEST_F(SchemaTest, StepsOutOfOrderAreAProgrammingError) {
  const SchemaMigration steps[] = {{2, "CREATE TABLE t2 (y INTEGER)"}};
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(MigrateSchema(*db, steps), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(Version(*db), 0);
}

TEST_F(SchemaTest, NewerSchemaIsRefusedAndLeftAlone) {
  ASSERT_OK(SqliteStore::Open(path_));
  const int newer = LatestSchemaVersion() + 1;
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec(absl::StrCat("PRAGMA user_version = ", newer)));
  }
  EXPECT_THAT(SqliteStore::Open(path_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("schema version ", newer, ", newer than"))));
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Version(*db), newer);
}

TEST_F(SchemaTest, AnotherApplicationsDatabaseIsRefused) {
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec("CREATE TABLE songs (title TEXT)"));
  }
  EXPECT_THAT(SqliteStore::Open(path_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a writeback store")));
}

TEST_F(SchemaTest, AForeignApplicationIdIsRefused) {
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec("PRAGMA application_id = 42"));
  }
  EXPECT_THAT(SqliteStore::Open(path_), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                 HasSubstr("belongs to another application")));
}

TEST_F(SchemaTest, AFileThatIsNotADatabaseIsDataLoss) {
  std::ofstream(path_) << std::string(4096, 'x');
  EXPECT_THAT(SqliteStore::Open(path_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("state.db")));
}

}  // namespace
}  // namespace writeback::controller
