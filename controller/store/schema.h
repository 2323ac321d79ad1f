// Versioned schema of the SQLite store. The database's version is its
// `PRAGMA user_version` (0 for a new file); step N brings version N-1 to N.
// SqliteStore::Open() runs MigrateSchema(), which applies every missing step
// in order inside ONE transaction, so a failed upgrade leaves the file as it
// was.
//
// Changing the schema: append a step with the next version to
// SchemaMigrations() in schema.cc; never edit a released step.
//
// A database written by a newer binary (a version this binary does not know)
// is refused with kFailedPrecondition rather than guessed at; so is a SQLite
// file that belongs to another application.
#ifndef WRITEBACK_CONTROLLER_STORE_SCHEMA_H_
#define WRITEBACK_CONTROLLER_STORE_SCHEMA_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "controller/store/sqlite_db.h"

namespace writeback::controller {

struct SchemaMigration {
  int version;           // the version this step produces; 1, 2, ... in order
  std::string_view sql;  // one or more statements
  // Runs after `sql` in the same transaction, for data SQL alone cannot
  // derive (for example a column filled from a serialized record). Optional.
  absl::Status (*backfill)(SqliteDb& db) = nullptr;
};

// Written to PRAGMA application_id with step 1, so the store can tell its own
// files from other SQLite databases ("wbk1").
inline constexpr int kStoreApplicationId = 0x77626b31;

// The steps this binary knows, in order. Version 1 is the initial schema.
absl::Span<const SchemaMigration> SchemaMigrations();
// The version SchemaMigrations() ends at.
int LatestSchemaVersion();

// The database's current schema version (0 when never migrated).
absl::StatusOr<int> ReadSchemaVersion(SqliteDb& db);

// Brings `db` up to the last of `migrations` (which must be numbered 1, 2,
// ... without gaps) in one immediate transaction. Errors: kFailedPrecondition
// when the database is newer than the last step or is not a store database;
// the SQLite error of a failing step (nothing applied).
absl::Status MigrateSchema(SqliteDb& db,
                           absl::Span<const SchemaMigration> migrations = SchemaMigrations());

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_STORE_SCHEMA_H_
