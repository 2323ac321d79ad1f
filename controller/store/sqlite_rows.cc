#include "controller/store/sqlite_rows.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/status_macros.h"

namespace writeback::controller::rows {
namespace {

using writeback::v1::AttributeMap;
using writeback::v1::ProvisioningRecord;

std::string Serialize(const AttributeMap& map) {
  std::string bytes;
  map.SerializeToString(&bytes);
  return bytes;
}

absl::StatusOr<AttributeMap> ParseAttributes(const std::string& bytes, std::string_view column,
                                             const std::string& cloud_id) {
  AttributeMap map;
  if (!map.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("mailbox ", cloud_id, ": stored ", std::string(column),
                                            " attributes do not parse; restore the store "
                                            "from a backup or re-add the mailbox"));
  }
  return map;
}

}  // namespace

namespace {

std::vector<std::string> MailboxColumnNames() {
  return absl::StrSplit(kMailboxColumns, ", ");
}

}  // namespace

const std::string& InsertMailboxSql() {
  static const std::string* const sql = [] {
    std::vector<std::string> params;
    for (size_t i = 1; i <= MailboxColumnNames().size(); ++i) params.push_back(absl::StrCat("?", i));
    return new std::string(absl::StrCat("INSERT INTO mailboxes (", kMailboxColumns, ") VALUES (",
                                        absl::StrJoin(params, ", "), ")"));
  }();
  return *sql;
}

const std::string& UpdateMailboxSql() {
  static const std::string* const sql = [] {
    std::vector<std::string> names = MailboxColumnNames();
    std::vector<std::string> sets;
    for (size_t i = 1; i < names.size(); ++i) sets.push_back(absl::StrCat(names[i], " = ?", i + 1));
    return new std::string(absl::StrCat("UPDATE mailboxes SET ", absl::StrJoin(sets, ", "),
                                        " WHERE ", names[0], " = ?1"));
  }();
  return *sql;
}

void BindMailbox(Statement& st, const MailboxRecord& m) {
  st.BindText(1, m.cloud_id);
  st.BindText(2, m.forest);
  st.BindBlob(3, m.source_anchor);
  st.BindBlob(4, Serialize(m.desired));
  if (m.last_known.has_value()) {
    st.BindBlob(5, Serialize(*m.last_known));
  } else {
    st.BindNull(5);
  }
  st.BindInt(6, static_cast<int64_t>(m.desired_gen));
  st.BindInt(7, static_cast<int64_t>(m.applied_gen));
  st.BindInt(8, m.status);
  st.BindInt(9, m.attempts);
  st.BindInt(10, m.next_attempt_ms);
  st.BindText(11, m.last_error);
  st.BindText(12, m.dn);
  st.BindText(13, m.inflight_id);
  st.BindText(14, m.inflight_session);
  st.BindInt(15, static_cast<int64_t>(m.inflight_gen));
  st.BindInt(16, m.updated_ms);
  if (m.inflight_job.job_id().empty()) {
    st.BindNull(17);
  } else {
    st.BindBlob(17, m.inflight_job.SerializeAsString());
  }
  if (m.unconfirmed.jobs().empty()) {
    st.BindNull(18);
  } else {
    st.BindBlob(18, m.unconfirmed.SerializeAsString());
  }
  st.BindInt(19, m.verify_read ? 1 : 0);
  st.BindInt(20, m.known_ms);
  st.BindText(21, absl::StrJoin(m.corrections_ms, ","));
  st.BindInt(22, m.hold_id);
  st.BindInt(23, static_cast<int64_t>(m.guard_gen));
  st.BindInt(24, m.guard_counted_ms);
  st.BindInt(25, m.guard_approved ? 1 : 0);
  st.BindText(26, absl::StrJoin(m.adopt_on_read, ","));
}

absl::StatusOr<MailboxRecord> ReadMailbox(const Statement& st) {
  MailboxRecord m;
  m.cloud_id = st.Text(0);
  m.forest = st.Text(1);
  m.source_anchor = st.Blob(2);
  WB_ASSIGN_OR_RETURN(m.desired, ParseAttributes(st.Blob(3), "desired", m.cloud_id));
  if (!st.IsNull(4)) {
    WB_ASSIGN_OR_RETURN(m.last_known, ParseAttributes(st.Blob(4), "last-known", m.cloud_id));
  }
  m.desired_gen = static_cast<uint64_t>(st.Int(5));
  m.applied_gen = static_cast<uint64_t>(st.Int(6));
  int64_t status = st.Int(7);
  if (!writeback::v1::MailboxStatus_IsValid(static_cast<int>(status))) {
    return absl::DataLossError(
        absl::StrCat("mailbox ", m.cloud_id, ": stored status ", status, " is not known"));
  }
  m.status = static_cast<writeback::v1::MailboxStatus>(status);
  m.attempts = static_cast<uint32_t>(st.Int(8));
  m.next_attempt_ms = st.Int(9);
  m.last_error = st.Text(10);
  m.dn = st.Text(11);
  m.inflight_id = st.Text(12);
  m.inflight_session = st.Text(13);
  m.inflight_gen = static_cast<uint64_t>(st.Int(14));
  m.updated_ms = st.Int(15);
  if (!st.IsNull(16) && !m.inflight_job.ParseFromString(st.Blob(16))) {
    return absl::DataLossError(absl::StrCat("mailbox ", m.cloud_id,
                                            ": stored in-flight job does not parse; restore "
                                            "the store from a backup"));
  }
  if (!st.IsNull(17) && !m.unconfirmed.ParseFromString(st.Blob(17))) {
    return absl::DataLossError(absl::StrCat("mailbox ", m.cloud_id,
                                            ": stored unconfirmed jobs do not parse; restore "
                                            "the store from a backup"));
  }
  m.verify_read = st.Int(18) != 0;
  m.known_ms = st.Int(19);
  for (absl::string_view t : absl::StrSplit(st.Text(20), ',', absl::SkipEmpty())) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(t, &ms)) {
      return absl::DataLossError(absl::StrCat("mailbox ", m.cloud_id,
                                              ": stored corrections do not parse; restore the "
                                              "store from a backup"));
    }
    m.corrections_ms.push_back(ms);
  }
  m.hold_id = st.Int(21);
  m.guard_gen = static_cast<uint64_t>(st.Int(22));
  m.guard_counted_ms = st.Int(23);
  m.guard_approved = st.Int(24) != 0;
  m.adopt_on_read = absl::StrSplit(st.Text(25), ',', absl::SkipEmpty());
  return m;
}

absl::StatusOr<int64_t> InsertLog(SqliteDb& db, const ProvisioningRecord& record) {
  ProvisioningRecord stored = record;
  stored.clear_id();  // the row's id is authoritative
  std::string bytes;
  stored.SerializeToString(&bytes);
  WB_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare("INSERT INTO provisioning_log "
                                 "(time_ms, mailbox_id, forest, agent_id, outcome, job_id, record, "
                                 "kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  st.BindInt(1, record.time_ms());
  st.BindText(2, record.mailbox_id());
  st.BindText(3, record.forest());
  st.BindText(4, record.agent_id());
  st.BindInt(5, record.outcome());
  st.BindText(6, record.job_id());
  st.BindBlob(7, bytes);
  st.BindText(8, record.kind());
  WB_RETURN_IF_ERROR(st.Run());
  return db.last_insert_rowid();
}

absl::StatusOr<ProvisioningRecord> ReadLog(const Statement& st) {
  ProvisioningRecord record;
  int64_t id = st.Int(0);
  if (!record.ParseFromString(st.Blob(1))) {
    return absl::DataLossError(absl::StrCat("provisioning log record ", id,
                                            " does not parse; restore the store from a "
                                            "backup"));
  }
  record.set_id(id);
  return record;
}

std::string DescribeAnchor(const std::string& anchor) {
  return absl::StrCat("source anchor ", absl::BytesToHexString(anchor));
}

}  // namespace writeback::controller::rows
