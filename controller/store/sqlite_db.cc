#include "controller/store/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace writeback::controller {
namespace {

// A path SQLite treats as something other than a file name.
bool IsSpecialPath(const std::string& path) {
  return path == ":memory:" || absl::StartsWith(path, "file:");
}

// SQLite creates the file with the process umask; the store should not be
// world-readable, and the -wal/-shm files inherit the main file's mode.
absl::Status CreateOwnerOnly(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create store database \"", path, "\": ", std::strerror(err)));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bind_rc_(other.bind_rc_),
      last_rc_(other.last_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindText(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.empty() ? "" : value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindBlob(int index, std::string_view value) {
  // sqlite3_bind_blob with a null pointer would bind NULL.
  int rc = value.empty()
               ? sqlite3_bind_zeroblob(stmt_, index, 0)
               : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    last_rc_ = bind_rc_;
    return db_->Error(bind_rc_, absl::StrCat("binding parameters of \"", sqlite3_sql(stmt_), "\""));
  }
  last_rc_ = sqlite3_step(stmt_);
  if (last_rc_ == SQLITE_ROW) return true;
  if (last_rc_ == SQLITE_DONE) return false;
  return db_->Error(last_rc_, absl::StrCat("running \"", sqlite3_sql(stmt_), "\""));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

std::string Statement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), size);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         int busy_timeout_ms) {
  if (path.empty()) return absl::InvalidArgumentError("store database path is empty");
  if (!IsSpecialPath(path)) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return absl::FailedPreconditionError(absl::StrCat("cannot open store database \"", path,
                                                        "\": directory \"", parent.string(),
                                                        "\" does not exist; create it first"));
    }
    absl::Status created = CreateOwnerOnly(path);
    if (!created.ok()) return created;
  }
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (handle == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a SQLite connection");
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(handle, path));
  if (rc != SQLITE_OK) return db->Error(rc, "opening the database");
  absl::Status configured = db->Configure(busy_timeout_ms);
  if (!configured.ok()) return configured;
  return db;
}

absl::Status SqliteDb::Configure(int busy_timeout_ms) {
  sqlite3_extended_result_codes(db_, 1);
  int rc = sqlite3_busy_timeout(db_, busy_timeout_ms);
  if (rc != SQLITE_OK) return Error(rc, "setting the busy timeout");
  // The first read of the file: a file that is not a database fails here.
  std::string mode;
  {
    absl::StatusOr<Statement> wal = Prepare("PRAGMA journal_mode=WAL");
    if (!wal.ok()) return wal.status();
    absl::StatusOr<bool> row = wal->Step();
    if (!row.ok()) return row.status();
    if (*row) mode = absl::AsciiStrToLower(wal->Text(0));
  }
  if (mode != "wal" && !(path_ == ":memory:" && mode == "memory")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store database \"", path_, "\": cannot switch to WAL journal mode (got \"", mode,
        "\"); the file system must support shared memory (not a network share)"));
  }
  // 64 MiB of page cache instead of SQLite's 2 MiB: a batch of answers
  // touches a few pages per mailbox, so with the default the transaction
  // spilled dirty pages to the WAL before its commit and read back pages it
  // had just evicted.
  return Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
              "PRAGMA temp_store=MEMORY;");
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status SqliteDb::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Error(rc, absl::StrCat("running \"", text.substr(0, 200), "\""), detail);
}

absl::StatusOr<Statement> SqliteDb::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, absl::StrCat("preparing \"", sql, "\""));
    it = statements_.emplace(sql, stmt).first;
  }
  return Statement(it->second, this);
}

absl::Status SqliteDb::Begin(TransactionMode mode) {
  return Exec(mode == kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

absl::Status SqliteDb::Commit() { return Exec("COMMIT"); }

void SqliteDb::Rollback() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR) already rolled the transaction back.
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

absl::Status SqliteDb::Error(int rc, std::string_view what) const {
  // errmsg describes the most recent failed call; else the code's own text.
  return Error(rc, what,
               sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
}

absl::Status SqliteDb::Error(int rc, std::string_view what, const std::string& detail) const {
  std::string message = absl::StrCat("store database \"", path_, "\": ", std::string(what), ": ",
                                     detail, " (SQLite code ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          absl::StrCat(message, "; another process holds the database lock, retry"));
    case SQLITE_FULL:
      return absl::UnavailableError(absl::StrCat(message, "; free disk space, then retry"));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(absl::StrCat(message, "; restore the store from a backup"));
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::FailedPreconditionError(
          absl::StrCat(message,
                       "; the controller needs write access to the file and its "
                       "directory"));
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace writeback::controller
