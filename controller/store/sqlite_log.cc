// SqliteStore's provisioning log and audit trail: appends, filtered queries,
// paging and retention pruning (the rest of the store is sqlite_store.cc).
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "controller/store/sqlite_rows.h"
#include "controller/store/sqlite_store.h"

namespace writeback::controller {
namespace {

using writeback::v1::ListProvisioningLogRequest;
using writeback::v1::ProvisioningRecord;

constexpr uint32_t kDefaultLogLimit = 100;

}  // namespace

absl::Status SqliteStore::AppendAudit(writeback::v1::AuditRecord* record) {
  if (record == nullptr) return absl::InvalidArgumentError("AppendAudit: record is null");
  int64_t id = 0;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    writeback::v1::AuditRecord stored = *record;
    stored.clear_id();  // the row's id is authoritative
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO admin_audit (time_ms, method, record) VALUES (?1, ?2, ?3)"));
    st.BindInt(1, record->time_ms());
    st.BindText(2, record->method());
    st.BindBlob(3, stored.SerializeAsString());
    WB_RETURN_IF_ERROR(st.Run());
    id = db.last_insert_rowid();
    return absl::OkStatus();
  }));
  record->set_id(id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<writeback::v1::AuditRecord>> SqliteStore::ListAudit(
    const writeback::v1::ListAuditLogRequest& filter) {
  std::vector<writeback::v1::AuditRecord> records;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    // Zero or empty filters match everything (?N = 0 / '' short-circuits).
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT id, record FROM admin_audit WHERE (?1 = '' OR method = ?1) "
                   "AND (?2 = 0 OR time_ms >= ?2) AND (?3 = 0 OR time_ms < ?3) "
                   "ORDER BY time_ms DESC, id DESC LIMIT ?4"));
    st.BindText(1, filter.method());
    st.BindInt(2, filter.since_ms());
    st.BindInt(3, filter.until_ms());
    st.BindInt(4, filter.limit() == 0 ? kDefaultLogLimit : filter.limit());
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      writeback::v1::AuditRecord record;
      if (!record.ParseFromString(st.Blob(1))) {
        return absl::DataLossError(absl::StrCat("audit record ", st.Int(0),
                                                " does not parse; restore the store from a "
                                                "backup"));
      }
      record.set_id(st.Int(0));
      records.push_back(std::move(record));
    }
  }));
  return records;
}

absl::Status SqliteStore::AppendLog(ProvisioningRecord* record) {
  if (record == nullptr) return absl::InvalidArgumentError("AppendLog: record is null");
  int64_t id = 0;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(id, rows::InsertLog(db, *record));
    return absl::OkStatus();
  }));
  record->set_id(id);
  return absl::OkStatus();
}

namespace {

// The WHERE conditions of a log query with their parameters numbered from 1;
// the few shapes this yields are cached like any other statement.
class LogQuery {
 public:
  explicit LogQuery(const ListProvisioningLogRequest& filter) {
    AddText("mailbox_id", filter.mailbox_id());
    AddText("forest", filter.forest());
    AddText("agent_id", filter.agent_id());
    AddText("kind", filter.kind());
    AddInt("outcome =", filter.outcome());
    AddInt("time_ms >=", filter.since_ms());
    AddInt("time_ms <", filter.until_ms());
  }
  void AddInt(const char* condition, int64_t value) {
    if (value == 0) return;
    conditions_.push_back(absl::StrCat(condition, " ?", conditions_.size() + 1));
    binders_.push_back([value](Statement& st, int i) { st.BindInt(i, value); });
  }
  // "SELECT id, record FROM provisioning_log WHERE ... <order> LIMIT ?N".
  std::string Sql(const char* order) const {
    std::string sql = "SELECT id, record FROM provisioning_log ";
    if (!conditions_.empty()) {
      absl::StrAppend(&sql, "WHERE ", absl::StrJoin(conditions_, " AND "));
    }
    absl::StrAppend(&sql, " ORDER BY ", order, " LIMIT ?", conditions_.size() + 1);
    return sql;
  }
  // Binds the conditions' parameters and the limit.
  void Bind(Statement& st, int64_t limit) const {
    for (size_t i = 0; i < binders_.size(); ++i) binders_[i](st, static_cast<int>(i) + 1);
    st.BindInt(static_cast<int>(binders_.size()) + 1, limit);
  }

 private:
  void AddText(const char* column, const std::string& value) {
    if (value.empty()) return;
    conditions_.push_back(absl::StrCat(column, " = ?", conditions_.size() + 1));
    binders_.push_back([&value](Statement& st, int i) { st.BindText(i, value); });
  }

  std::vector<std::string> conditions_;
  std::vector<std::function<void(Statement&, int)>> binders_;
};

absl::Status ReadLogRows(Statement& st, std::vector<ProvisioningRecord>* records) {
  while (true) {
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    WB_ASSIGN_OR_RETURN(ProvisioningRecord record, rows::ReadLog(st));
    records->push_back(std::move(record));
  }
}

}  // namespace

absl::StatusOr<std::vector<ProvisioningRecord>> SqliteStore::ListLog(
    const ListProvisioningLogRequest& filter) {
  LogQuery query(filter);
  const std::string sql = query.Sql("time_ms DESC, id DESC");
  const int64_t limit = filter.limit() == 0 ? kDefaultLogLimit : filter.limit();
  std::vector<ProvisioningRecord> records;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    query.Bind(st, limit);
    return ReadLogRows(st, &records);
  }));
  return records;
}

absl::StatusOr<std::vector<ProvisioningRecord>> SqliteStore::ListLogAfter(
    const ListProvisioningLogRequest& filter, int64_t after_id, size_t page_size) {
  if (page_size == 0) return absl::InvalidArgumentError("ListLogAfter: page_size is 0");
  LogQuery query(filter);
  query.AddInt("id >", after_id);
  const std::string sql = query.Sql("id");
  std::vector<ProvisioningRecord> records;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    query.Bind(st, static_cast<int64_t>(page_size));
    return ReadLogRows(st, &records);
  }));
  return records;
}

absl::StatusOr<int64_t> SqliteStore::PruneLog(int64_t before_ms) {
  return PruneTable("provisioning_log", before_ms);
}

absl::StatusOr<int64_t> SqliteStore::PruneAudit(int64_t before_ms) {
  return PruneTable("admin_audit", before_ms);
}

absl::StatusOr<int64_t> SqliteStore::PruneTable(const char* table, int64_t before_ms) {
  // The oldest kPruneBatch rows per transaction (by the time index), so a
  // large prune never holds the write lock for long.
  const std::string sql =
      absl::StrCat("DELETE FROM ", table, " WHERE id IN (SELECT id FROM ", table,
                   " WHERE time_ms < ?1 ORDER BY time_ms LIMIT ?2)");
  int64_t deleted = 0;
  while (true) {
    int64_t batch = 0;
    WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
      WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
      st.BindInt(1, before_ms);
      st.BindInt(2, kPruneBatch);
      WB_RETURN_IF_ERROR(st.Run());
      batch = db.changes();
      return absl::OkStatus();
    }));
    deleted += batch;
    if (batch < kPruneBatch) return deleted;
  }
}

}  // namespace writeback::controller
