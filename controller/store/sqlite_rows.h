// Conversions between the store's records and the rows of schema version 1
// (schema.cc), used by SqliteStore. Attribute maps and log records are kept
// as serialized protobuf BLOBs; a BLOB that does not parse is kDataLoss.
#ifndef WRITEBACK_CONTROLLER_STORE_SQLITE_ROWS_H_
#define WRITEBACK_CONTROLLER_STORE_SQLITE_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/store/sqlite_db.h"
#include "controller/store/store.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller::rows {

// The mailboxes columns, in the order BindMailbox binds and ReadMailbox reads.
inline constexpr char kMailboxColumns[] =
    "cloud_id, forest, source_anchor, desired, last_known, desired_gen, applied_gen, status, "
    "attempts, next_attempt_ms, last_error, dn, inflight_id, inflight_session, inflight_gen, "
    "updated_ms, inflight_job, unconfirmed, verify_read, known_ms, corrections, hold_id, "
    "guard_gen, guard_counted_ms, guard_approved, adopt_on_read";
// Inserts a mailbox bound with BindMailbox (built from kMailboxColumns).
const std::string& InsertMailboxSql();
// Rewrites the row of the mailbox bound with BindMailbox, by cloud id (?1).
const std::string& UpdateMailboxSql();

// Binds every field of `mailbox` to parameters 1..N in kMailboxColumns order
// (so ?1 is the cloud id).
void BindMailbox(Statement& st, const MailboxRecord& mailbox);
// Reads a row whose first columns are kMailboxColumns.
absl::StatusOr<MailboxRecord> ReadMailbox(const Statement& st);

// Inserts `record` (its id ignored) into provisioning_log; returns the new id.
absl::StatusOr<int64_t> InsertLog(SqliteDb& db, const writeback::v1::ProvisioningRecord& record);
// Reads a row whose columns are (id, record).
absl::StatusOr<writeback::v1::ProvisioningRecord> ReadLog(const Statement& st);

// "source anchor <hex>" for messages.
std::string DescribeAnchor(const std::string& anchor);

// In sqlite_drift.cc: appends one drift record; returns its id.
absl::StatusOr<int64_t> InsertDrift(SqliteDb& db, const writeback::v1::DriftRecord& record);

}  // namespace writeback::controller::rows

#endif  // WRITEBACK_CONTROLLER_STORE_SQLITE_ROWS_H_
