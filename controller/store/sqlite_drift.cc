// SqliteStore's reconciliation state (DESIGN §5–6): drift records (appended
// with their mailbox's update in UpdateMailboxes), their queries and
// retention, the anchor lookup scan pages need, and the high-water marks of
// each forest's last complete pass.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "controller/store/sqlite_rows.h"
#include "controller/store/sqlite_store.h"

namespace writeback::controller {
namespace {

using writeback::v1::DriftRecord;
using writeback::v1::DriftSummary;
using writeback::v1::ListDriftRequest;

constexpr int64_t kDefaultDriftLimit = 100;
constexpr int64_t kDefaultSummaryLimit = 1000;

// The WHERE clause every drift query shares: empty or zero filters match
// anything (?N = '' / ?N = 0 short-circuits), parameters ?1..?6.
constexpr char kDriftWhere[] =
    "WHERE (?1 = '' OR mailbox_id = ?1) AND (?2 = '' OR forest = ?2) "
    "AND (?3 = '' OR attribute = ?3) AND (?4 = 0 OR time_ms >= ?4) "
    "AND (?5 = 0 OR time_ms < ?5) AND (?6 = '' OR action = ?6) ";

void BindDriftFilter(Statement& st, const ListDriftRequest& filter) {
  st.BindText(1, filter.cloud_id());
  st.BindText(2, filter.forest());
  st.BindText(3, filter.attribute());
  st.BindInt(4, filter.since_ms());
  st.BindInt(5, filter.until_ms());
  st.BindText(6, filter.action());
}

absl::StatusOr<DriftRecord> ReadDrift(int64_t id, const std::string& bytes) {
  DriftRecord record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(
        absl::StrCat("drift record ", id, " does not parse; restore the store from a backup"));
  }
  record.set_id(id);
  return record;
}

}  // namespace

namespace rows {

absl::StatusOr<int64_t> InsertDrift(SqliteDb& db, const DriftRecord& record) {
  DriftRecord stored = record;
  stored.clear_id();  // the row's id is authoritative
  WB_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare("INSERT INTO drift (time_ms, mailbox_id, forest, attribute, "
                                 "action, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.BindInt(1, record.time_ms());
  st.BindText(2, record.mailbox_id());
  st.BindText(3, record.forest());
  st.BindText(4, record.attribute());
  st.BindText(5, record.action());
  st.BindBlob(6, stored.SerializeAsString());
  WB_RETURN_IF_ERROR(st.Run());
  return db.last_insert_rowid();
}

}  // namespace rows

absl::StatusOr<std::vector<MailboxRecord>> SqliteStore::FindMailboxesByAnchor(
    std::string_view forest, const std::vector<std::string>& anchors) {
  std::vector<MailboxRecord> found;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    found.clear();
    for (const std::string& anchor : anchors) {
      // The UNIQUE (forest, source_anchor) index answers this.
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare(absl::StrCat("SELECT ", rows::kMailboxColumns,
                                                  " FROM mailboxes WHERE forest = ?1 AND "
                                                  "source_anchor = ?2")));
      st.BindText(1, forest);
      st.BindBlob(2, anchor);
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) continue;
      WB_ASSIGN_OR_RETURN(MailboxRecord m, rows::ReadMailbox(st));
      found.push_back(std::move(m));
    }
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<DriftRecord>> SqliteStore::ListDrift(const ListDriftRequest& filter) {
  std::vector<DriftRecord> records;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    records.clear();
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat("SELECT id, record FROM drift ", kDriftWhere,
                                                "ORDER BY time_ms DESC, id DESC LIMIT ?7")));
    BindDriftFilter(st, filter);
    st.BindInt(7, filter.limit() == 0 ? kDefaultDriftLimit : filter.limit());
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      WB_ASSIGN_OR_RETURN(DriftRecord r, ReadDrift(st.Int(0), st.Blob(1)));
      records.push_back(std::move(r));
    }
  }));
  return records;
}

absl::StatusOr<std::vector<DriftSummary>> SqliteStore::SummarizeDrift(
    const ListDriftRequest& filter) {
  std::vector<DriftSummary> rows_out;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    rows_out.clear();
    std::vector<int64_t> newest;
    {
      WB_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(absl::StrCat("SELECT mailbox_id, forest, attribute, COUNT(*), MAX(id), "
                                  "MAX(time_ms) FROM drift ",
                                  kDriftWhere,
                                  "GROUP BY mailbox_id, forest, attribute "
                                  "ORDER BY MAX(time_ms) DESC, MAX(id) DESC LIMIT ?7")));
      BindDriftFilter(st, filter);
      st.BindInt(7, filter.limit() == 0 ? kDefaultSummaryLimit : filter.limit());
      while (true) {
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        DriftSummary s;
        s.set_cloud_id(st.Text(0));
        s.set_forest(st.Text(1));
        s.set_attribute(st.Text(2));
        s.set_drift_count(static_cast<uint32_t>(st.Int(3)));
        newest.push_back(st.Int(4));
        s.set_last_time_ms(st.Int(5));
        rows_out.push_back(std::move(s));
      }
    }
    for (size_t i = 0; i < rows_out.size(); ++i) {
      DriftRecord last;
      {
        WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT id, record FROM drift WHERE id = ?1"));
        st.BindInt(1, newest[i]);
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) continue;
        WB_ASSIGN_OR_RETURN(last, ReadDrift(st.Int(0), st.Blob(1)));
      }
      *rows_out[i].mutable_last_found() = last.found();
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT status FROM mailboxes WHERE cloud_id = ?1"));
      st.BindText(1, rows_out[i].cloud_id());
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      rows_out[i].set_in_conflict(row && st.Int(0) == writeback::v1::CONFLICT_HOLD &&
                                  last.action() == "conflict");
    }
    return absl::OkStatus();
  }));
  return rows_out;
}

absl::StatusOr<int64_t> SqliteStore::PruneDrift(int64_t before_ms) {
  return PruneTable("drift", before_ms);
}

absl::StatusOr<std::vector<ScanMark>> SqliteStore::ListScanMarks(std::string_view forest,
                                                                 std::string_view agent_id) {
  std::vector<ScanMark> marks;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    marks.clear();
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("SELECT invocation_id, dc, usn, time_ms FROM scan_marks "
                                   "WHERE forest = ?1 AND agent_id = ?2 ORDER BY invocation_id"));
    st.BindText(1, forest);
    st.BindText(2, agent_id);
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      marks.push_back({st.Text(0), st.Text(1), st.Int(2), st.Int(3)});
    }
  }));
  return marks;
}

absl::Status SqliteStore::SaveScanMarks(std::string_view forest, std::string_view agent_id,
                                        const std::vector<ScanMark>& marks) {
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    {
      WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("DELETE FROM scan_marks WHERE forest = ?1 AND "
                                                   "agent_id = ?2"));
      st.BindText(1, forest);
      st.BindText(2, agent_id);
      WB_RETURN_IF_ERROR(st.Run());
    }
    for (const ScanMark& mark : marks) {
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("INSERT OR REPLACE INTO scan_marks (forest, agent_id, "
                                     "invocation_id, dc, usn, time_ms) VALUES (?1, ?2, ?3, ?4, "
                                     "?5, ?6)"));
      st.BindText(1, forest);
      st.BindText(2, agent_id);
      st.BindText(3, mark.invocation_id);
      st.BindText(4, mark.dc);
      st.BindInt(5, mark.usn);
      st.BindInt(6, mark.time_ms);
      WB_RETURN_IF_ERROR(st.Run());
    }
    return absl::OkStatus();
  });
}

}  // namespace writeback::controller
