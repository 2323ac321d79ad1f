// Mailbox row helpers of sqlite_store.cc shared with the other files of the
// SQLite store (sqlite_import.cc). Internal to controller/store: each runs
// inside a transaction the caller holds (SqliteStore::Transact).
#ifndef WRITEBACK_CONTROLLER_STORE_SQLITE_MAILBOX_ROWS_H_
#define WRITEBACK_CONTROLLER_STORE_SQLITE_MAILBOX_ROWS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/store/sqlite_db.h"
#include "controller/store/store.h"

namespace writeback::controller::store_internal {

// SQLite's LIMIT for a size_t limit where 0 means none.
int64_t SqlLimitOf(size_t limit);
// "SELECT <mailbox columns> FROM mailboxes " + where_and_order.
std::string SelectMailboxSql(const std::string& where_and_order);
// Every row of a statement made from SelectMailboxSql.
absl::StatusOr<std::vector<MailboxRecord>> ReadMailboxRows(Statement& st);
// Inserts (new_mailbox) or replaces `m`. Sets *refused (nothing written for
// it, the transaction intact) for an unknown forest or a taken cloud id or
// anchor; returns a failure of the transaction.
absl::Status WriteMailboxRow(SqliteDb& db, const MailboxRecord& m, bool new_mailbox,
                             absl::Status* refused);
// One read-modify-write (as UpdateMailbox): *result is the record as written
// or this mailbox's error; returns a failure of the transaction.
absl::Status UpdateMailboxRow(SqliteDb& db, std::string_view cloud_id,
                              const std::function<absl::Status(MailboxRecord&)>& mutate,
                              absl::StatusOr<MailboxRecord>* result);

}  // namespace writeback::controller::store_internal

#endif  // WRITEBACK_CONTROLLER_STORE_SQLITE_MAILBOX_ROWS_H_
