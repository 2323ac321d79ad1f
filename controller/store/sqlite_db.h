// A thin layer over one SQLite connection for the store: errors become
// absl::Status, prepared statements are cached, transactions are explicit.
// SqliteStore is its only user outside tests; read sqlite_store.h first.
//
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
//   WB_RETURN_IF_ERROR(db->Begin(SqliteDb::kImmediate));
//   WB_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT name FROM forests"));
//   while (true) {
//     WB_ASSIGN_OR_RETURN(bool row, st.Step());
//     if (!row) break;
//     names.push_back(st.Text(0));
//   }
//   WB_RETURN_IF_ERROR(db->Commit());  // or db->Rollback()
//
// Not thread-safe and not copyable: the owner serializes every call (one
// connection, one mutex) and destroys all Statements before the SqliteDb.
#ifndef WRITEBACK_CONTROLLER_STORE_SQLITE_DB_H_
#define WRITEBACK_CONTROLLER_STORE_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace writeback::controller {

class SqliteDb;

// One use of a cached prepared statement. Parameters are 1-based, columns
// 0-based, as in SQLite. Destroying it resets the statement (releasing its
// read snapshot) and clears its bindings. Movable, not copyable.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding never fails by itself; a bad index is reported by Step().
  void BindInt(int index, int64_t value);
  void BindText(int index, std::string_view value);
  // An empty value binds a zero-length BLOB, never NULL.
  void BindBlob(int index, std::string_view value);
  void BindNull(int index);

  // Runs the statement to its next row: true when a row is ready, false when
  // done. Errors carry sqlite3_errmsg; see last_result_code() for details.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring any rows.
  absl::Status Run();
  // The extended SQLite result code of the last Step (SQLITE_OK if none),
  // e.g. SQLITE_CONSTRAINT_UNIQUE, for callers that translate it.
  int last_result_code() const { return last_rc_; }

  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  friend class SqliteDb;
  Statement(sqlite3_stmt* stmt, SqliteDb* db) : stmt_(stmt), db_(db) {}

  sqlite3_stmt* stmt_;
  SqliteDb* db_;
  int bind_rc_ = 0;  // first binding error, reported by Step()
  int last_rc_ = 0;
};

class SqliteDb {
 public:
  enum TransactionMode { kDeferred, kImmediate };

  // How long a statement waits for another connection's lock before it
  // fails with kUnavailable.
  static constexpr int kDefaultBusyTimeoutMs = 5000;

  // Opens the database file at `path`, creating it (mode 0600) if absent,
  // and configures the connection: WAL journal, synchronous=FULL, foreign
  // keys on, the busy timeout. An empty path is kInvalidArgument; a path
  // whose directory does not exist is kFailedPrecondition naming the
  // directory. ":memory:" opens a private in-memory database (no WAL).
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(
      const std::string& path, int busy_timeout_ms = kDefaultBusyTimeoutMs);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more parameterless statements (DDL, PRAGMAs).
  absl::Status Exec(std::string_view sql);
  // The cached prepared statement for `sql`. The previous use of the same
  // text must have been destroyed.
  absl::StatusOr<Statement> Prepare(const std::string& sql);

  // BEGIN [IMMEDIATE]. Immediate takes the write lock up front, so a write
  // transaction never fails half-way with SQLITE_BUSY.
  absl::Status Begin(TransactionMode mode);
  absl::Status Commit();
  // Rolls back the open transaction, if SQLite has not already done so.
  void Rollback();

  int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const;
  const std::string& path() const { return path_; }

  // The status for SQLite result code `rc` while doing `what`:
  // BUSY/LOCKED/FULL/IOERR/CANTOPEN -> kUnavailable (retry later),
  // CORRUPT/NOTADB -> kDataLoss, READONLY/PERM -> kFailedPrecondition,
  // CONSTRAINT -> kAlreadyExists, anything else kInternal. The message names
  // the database file and carries sqlite3_errmsg.
  absl::Status Error(int rc, std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Configure(int busy_timeout_ms);
  absl::Status Error(int rc, std::string_view what, const std::string& detail) const;

  sqlite3* db_;
  std::string path_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_STORE_SQLITE_DB_H_
