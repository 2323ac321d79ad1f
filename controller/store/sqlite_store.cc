#include "controller/store/sqlite_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "controller/store/schema.h"
#include "controller/store/sqlite_mailbox_rows.h"
#include "controller/store/sqlite_rows.h"

namespace writeback::controller {
namespace {

using writeback::v1::ListProvisioningLogRequest;
using writeback::v1::MailboxStatus;
using writeback::v1::ProvisioningRecord;

// SQLite's LIMIT: a negative value means none.
int64_t SqlLimit(size_t limit) { return limit == 0 ? -1 : static_cast<int64_t>(limit); }

std::string SelectMailboxes(const std::string& where_and_order) {
  return absl::StrCat("SELECT ", rows::kMailboxColumns, " FROM mailboxes ", where_and_order);
}

absl::Status ForestNotRegistered(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("forest \"", std::string(name),
                                          "\" is not registered; add it with writebackctl "
                                          "forest add"));
}

absl::Status MailboxNotRegistered(std::string_view cloud_id) {
  return absl::NotFoundError(absl::StrCat("mailbox ", std::string(cloud_id), " is not registered"));
}

// The columns ForestRow reads, after "FROM forests f LEFT JOIN
// forest_scope_ous s".
constexpr char kForestColumns[] =
    "SELECT f.name, f.created_ms, s.dn, f.paused, f.pause_reason, f.paused_at_ms, "
    "f.mass_change_threshold, f.mass_change_window_s FROM forests f ";

std::optional<uint32_t> OptionalUint(const Statement& st, int column) {
  if (st.IsNull(column)) return std::nullopt;
  return static_cast<uint32_t>(st.Int(column));
}

void BindOptional(Statement& st, int index, std::optional<uint32_t> value) {
  if (value.has_value()) {
    st.BindInt(index, *value);
  } else {
    st.BindNull(index);
  }
}

// A forest from a row of kForestColumns; the scope OUs are gathered by the
// caller.
ForestRecord ForestRow(const Statement& st) {
  ForestRecord f;
  f.name = st.Text(0);
  f.created_ms = st.Int(1);
  f.paused = st.Int(3) != 0;
  f.pause_reason = st.Text(4);
  f.paused_at_ms = st.Int(5);
  f.mass_change_threshold = OptionalUint(st, 6);
  f.mass_change_window_s = OptionalUint(st, 7);
  return f;
}

absl::StatusOr<bool> ForestExists(SqliteDb& db, std::string_view name) {
  WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT 1 FROM forests WHERE name = ?1"));
  st.BindText(1, name);
  return st.Step();
}

absl::StatusOr<std::vector<MailboxRecord>> ReadMailboxes(Statement& st) {
  std::vector<MailboxRecord> out;
  while (true) {
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    WB_ASSIGN_OR_RETURN(MailboxRecord m, rows::ReadMailbox(st));
    out.push_back(std::move(m));
  }
}

// Explains why writing `m` broke a uniqueness constraint: its cloud id is
// taken (when `new_mailbox`), or its anchor belongs to another mailbox.
absl::Status DescribeConflict(SqliteDb& db, const MailboxRecord& m, bool new_mailbox) {
  if (new_mailbox) {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT 1 FROM mailboxes WHERE cloud_id = ?1"));
    st.BindText(1, m.cloud_id);
    WB_ASSIGN_OR_RETURN(bool taken, st.Step());
    if (taken) {
      return absl::AlreadyExistsError(absl::StrCat("mailbox ", m.cloud_id, " already exists"));
    }
  }
  WB_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT cloud_id FROM mailboxes WHERE forest = ?1 AND source_anchor = ?2"));
  st.BindText(1, m.forest);
  st.BindBlob(2, m.source_anchor);
  WB_ASSIGN_OR_RETURN(bool held, st.Step());
  std::string holder = held ? st.Text(0) : "(unknown)";
  return absl::AlreadyExistsError(
      absl::StrCat(rows::DescribeAnchor(m.source_anchor), " already belongs to mailbox ", holder,
                   " in forest \"", m.forest, "\"; ", new_mailbox ? "cannot add " : "cannot move ",
                   m.cloud_id, new_mailbox ? "" : " onto it"));
}

// Writes `m`, new or replacing its row. Returns a failure of the
// transaction (which must roll back). Sets `*refused` when this mailbox
// cannot be written (unknown forest, taken cloud id or anchor): nothing was
// written for it and the transaction may go on.
absl::Status WriteMailbox(SqliteDb& db, const MailboxRecord& m, bool new_mailbox,
                          bool forest_kept, absl::Status* refused) {
  *refused = absl::OkStatus();
  if (!forest_kept) {  // a kept forest is registered: forests in use cannot be removed
    WB_ASSIGN_OR_RETURN(bool forest_known, ForestExists(db, m.forest));
    if (!forest_known) {
      *refused = ForestNotRegistered(m.forest);
      return absl::OkStatus();
    }
  }
  const std::string& sql = new_mailbox ? rows::InsertMailboxSql() : rows::UpdateMailboxSql();
  int rc;
  absl::Status status;
  {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    rows::BindMailbox(st, m);
    status = st.Run();
    rc = st.last_result_code();
  }
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    // SQLite undid just this statement; the transaction is intact.
    *refused = DescribeConflict(db, m, new_mailbox);
    return absl::OkStatus();
  }
  return status;
}

// One read-modify-write. Sets `*result` to the record as written or to this
// mailbox's error (not found, mutate's error, a taken anchor), in which case
// nothing was written for it. Returns a failure of the transaction.
absl::Status UpdateOne(SqliteDb& db, std::string_view cloud_id,
                       const std::function<absl::Status(MailboxRecord&)>& mutate,
                       absl::StatusOr<MailboxRecord>* result) {
  if (!mutate) {
    *result = absl::InvalidArgumentError(
        absl::StrCat("mailbox ", std::string(cloud_id), ": no mutate given"));
    return absl::OkStatus();
  }
  MailboxRecord updated;
  {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(SelectMailboxes("WHERE cloud_id = ?1")));
    st.BindText(1, cloud_id);
    WB_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) {
      *result = MailboxNotRegistered(cloud_id);
      return absl::OkStatus();
    }
    WB_ASSIGN_OR_RETURN(updated, rows::ReadMailbox(st));
  }
  // What the checks below compare, instead of a copy of the whole record
  // (its attribute maps made the copy a tenth of an answer's cost).
  const writeback::v1::MailboxStatus was_status = updated.status;
  const int64_t was_hold = updated.hold_id;
  const std::string was_forest = updated.forest;
  if (absl::Status s = mutate(updated); !s.ok()) {
    *result = std::move(s);
    return absl::OkStatus();
  }
  if (updated.cloud_id != cloud_id) {
    *result = absl::InvalidArgumentError(
        absl::StrCat("mailbox ", std::string(cloud_id),
                     ": an update may not change the cloud id (to ", updated.cloud_id, ")"));
    return absl::OkStatus();
  }
  // A mailbox is HELD only under an open hold: a placement round that judged
  // against a hold an operator decided meanwhile must not strand it there.
  if (updated.status == writeback::v1::HELD &&
      (was_status != writeback::v1::HELD || was_hold != updated.hold_id)) {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT state FROM holds WHERE id = ?1"));
    st.BindInt(1, updated.hold_id);
    WB_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found || st.Text(0) != "open") {
      *result = absl::FailedPreconditionError(absl::StrCat(
          "mailbox ", updated.cloud_id, ": hold ", updated.hold_id,
          found ? " was decided meanwhile" : " does not exist", "; it is judged again"));
      return absl::OkStatus();
    }
  }
  absl::Status refused;
  WB_RETURN_IF_ERROR(WriteMailbox(db, updated, /*new_mailbox=*/false,
                                  /*forest_kept=*/updated.forest == was_forest, &refused));
  if (refused.ok()) {
    *result = std::move(updated);
  } else {
    *result = std::move(refused);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  WB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  WB_RETURN_IF_ERROR(MigrateSchema(*db));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
}

absl::Status SqliteStore::Transact(SqliteDb::TransactionMode mode, const Body& body) {
  absl::MutexLock lock(&mu_);
  SqliteDb& db = *db_;
  WB_RETURN_IF_ERROR(db.Begin(mode));
  // Rolls back on every way out but a commit, a throwing mutate included.
  struct RollbackUnlessCommitted {
    SqliteDb& db;
    bool committed = false;
    ~RollbackUnlessCommitted() {
      if (!committed) db.Rollback();
    }
  } guard{db};
  WB_RETURN_IF_ERROR(body(db));
  const absl::Time commit_start = absl::Now();
  WB_RETURN_IF_ERROR(db.Commit());
  guard.committed = true;
  if (commit_observer_ && mode == SqliteDb::kImmediate) {
    commit_observer_(absl::Now() - commit_start);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::AddForest(const ForestRecord& forest) {
  if (forest.name.empty() || forest.name != absl::AsciiStrToLower(forest.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forest name \"", forest.name, "\" must be a non-empty DNS name in lower case"));
  }
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(bool exists, ForestExists(db, forest.name));
    if (exists) {
      return absl::AlreadyExistsError(
          absl::StrCat("forest \"", forest.name, "\" is already registered"));
    }
    {
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("INSERT INTO forests (name, created_ms, "
                                     "mass_change_threshold, mass_change_window_s) "
                                     "VALUES (?1, ?2, ?3, ?4)"));
      st.BindText(1, forest.name);
      st.BindInt(2, forest.created_ms);
      BindOptional(st, 3, forest.mass_change_threshold);
      BindOptional(st, 4, forest.mass_change_window_s);
      WB_RETURN_IF_ERROR(st.Run());
    }
    for (size_t i = 0; i < forest.scope_ous.size(); ++i) {
      WB_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("INSERT INTO forest_scope_ous (forest, position, dn) VALUES (?1, ?2, ?3)"));
      st.BindText(1, forest.name);
      st.BindInt(2, static_cast<int64_t>(i));
      st.BindText(3, forest.scope_ous[i]);
      WB_RETURN_IF_ERROR(st.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<ForestRecord> SqliteStore::GetForest(std::string_view name) {
  std::vector<ForestRecord> found;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat(kForestColumns,
                                                "LEFT JOIN forest_scope_ous s ON s.forest = "
                                                "f.name WHERE f.name = ?1 ORDER BY s.position")));
    st.BindText(1, name);
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      if (found.empty()) found.push_back(ForestRow(st));
      if (!st.IsNull(2)) found.back().scope_ous.push_back(st.Text(2));
    }
  }));
  if (found.empty()) return ForestNotRegistered(name);
  return std::move(found.front());
}

absl::StatusOr<std::vector<ForestRecord>> SqliteStore::ListForests() {
  std::vector<ForestRecord> forests;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat(kForestColumns,
                                                "LEFT JOIN forest_scope_ous s ON s.forest = "
                                                "f.name ORDER BY f.name, s.position")));
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      if (forests.empty() || forests.back().name != st.Text(0)) forests.push_back(ForestRow(st));
      if (!st.IsNull(2)) forests.back().scope_ous.push_back(st.Text(2));
    }
  }));
  return forests;
}

absl::Status SqliteStore::SetForestPause(std::string_view name, bool paused,
                                         const std::string& reason, int64_t at_ms) {
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("UPDATE forests SET paused = ?2, pause_reason = ?3, "
                                   "paused_at_ms = ?4 WHERE name = ?1"));
    st.BindText(1, name);
    st.BindInt(2, paused ? 1 : 0);
    st.BindText(3, paused ? reason : "");
    st.BindInt(4, paused ? at_ms : 0);
    WB_RETURN_IF_ERROR(st.Run());
    if (db.changes() == 0) return ForestNotRegistered(name);
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::SetForestGuardPolicy(std::string_view name,
                                               std::optional<uint32_t> threshold,
                                               std::optional<uint32_t> window_s) {
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("UPDATE forests SET mass_change_threshold = ?2, "
                                   "mass_change_window_s = ?3 WHERE name = ?1"));
    st.BindText(1, name);
    BindOptional(st, 2, threshold);
    BindOptional(st, 3, window_s);
    WB_RETURN_IF_ERROR(st.Run());
    if (db.changes() == 0) return ForestNotRegistered(name);
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::UpsertAgent(const AgentRecord& agent) {
  if (agent.agent_id.empty()) return absl::InvalidArgumentError("agent id must not be empty");
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO agents (agent_id, forest, version, state, last_seen_ms) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (agent_id) DO UPDATE SET "
                   "forest = excluded.forest, version = excluded.version, "
                   "state = excluded.state, last_seen_ms = excluded.last_seen_ms"));
    st.BindText(1, agent.agent_id);
    st.BindText(2, agent.forest);
    st.BindText(3, agent.version);
    st.BindText(4, agent.state);
    st.BindInt(5, agent.last_seen_ms);
    return st.Run();
  });
}

absl::StatusOr<std::vector<AgentRecord>> SqliteStore::ListAgents(std::string_view forest) {
  std::vector<AgentRecord> agents;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    std::string sql =
        absl::StrCat("SELECT agent_id, forest, version, state, last_seen_ms FROM agents ",
                     forest.empty() ? "" : "WHERE forest = ?1 ", "ORDER BY agent_id");
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    if (!forest.empty()) st.BindText(1, forest);
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      agents.push_back({st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4)});
    }
  }));
  return agents;
}

absl::Status SqliteStore::AddMailbox(const MailboxRecord& mailbox) {
  if (mailbox.cloud_id.empty()) {
    return absl::InvalidArgumentError("mailbox cloud id must not be empty");
  }
  if (mailbox.source_anchor.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("mailbox ", mailbox.cloud_id, ": source anchor must not be empty"));
  }
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    absl::Status refused;
    WB_RETURN_IF_ERROR(WriteMailbox(db, mailbox, /*new_mailbox=*/true, /*forest_kept=*/false, &refused));
    return refused;
  });
}

absl::StatusOr<MailboxRecord> SqliteStore::RemoveMailbox(std::string_view cloud_id,
                                                         const ProvisioningRecord& log) {
  std::optional<MailboxRecord> removed;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    {
      WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(SelectMailboxes("WHERE cloud_id = ?1")));
      st.BindText(1, cloud_id);
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return MailboxNotRegistered(cloud_id);
      WB_ASSIGN_OR_RETURN(removed, rows::ReadMailbox(st));
    }
    {
      WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("DELETE FROM mailboxes WHERE cloud_id = ?1"));
      st.BindText(1, cloud_id);
      WB_RETURN_IF_ERROR(st.Run());
    }
    ProvisioningRecord record = log;
    record.set_mailbox_id(removed->cloud_id);
    if (record.forest().empty()) record.set_forest(removed->forest);
    return rows::InsertLog(db, record).status();
  }));
  return std::move(*removed);
}

absl::StatusOr<MailboxRecord> SqliteStore::GetMailbox(std::string_view cloud_id) {
  std::optional<MailboxRecord> found;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(SelectMailboxes("WHERE cloud_id = ?1")));
    st.BindText(1, cloud_id);
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    WB_ASSIGN_OR_RETURN(found, rows::ReadMailbox(st));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return MailboxNotRegistered(cloud_id);
  return std::move(*found);
}

absl::StatusOr<MailboxRecord> SqliteStore::UpdateMailbox(
    std::string_view cloud_id, const std::function<absl::Status(MailboxRecord&)>& mutate) {
  absl::StatusOr<MailboxRecord> result;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_RETURN_IF_ERROR(UpdateOne(db, cloud_id, mutate, &result));
    return result.status();  // an error rolls back: nothing written
  }));
  return result;
}

absl::StatusOr<std::vector<absl::StatusOr<MailboxRecord>>> SqliteStore::UpdateMailboxes(
    const std::vector<MailboxUpdate>& updates) {
  std::vector<absl::StatusOr<MailboxRecord>> results;
  if (updates.empty()) return results;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    results.clear();
    results.reserve(updates.size());
    for (const MailboxUpdate& update : updates) {
      absl::StatusOr<MailboxRecord> result;
      std::optional<ProvisioningRecord> log = update.log;
      std::vector<writeback::v1::DriftRecord> drift;
      std::function<absl::Status(MailboxRecord&)> mutate;
      if (update.mutate_drift) {
        mutate = [&update, &log, &drift](MailboxRecord& m) {
          drift.clear();
          return update.mutate_drift(m, log.has_value() ? &*log : nullptr, &drift);
        };
      } else if (update.mutate) {
        mutate = [&update, &log](MailboxRecord& m) {
          return update.mutate(m, log.has_value() ? &*log : nullptr);
        };
      }
      WB_RETURN_IF_ERROR(UpdateOne(db, update.cloud_id, mutate, &result));
      if (result.ok() && log.has_value()) {
        if (log->mailbox_id().empty()) log->set_mailbox_id(result->cloud_id);
        if (log->forest().empty()) log->set_forest(result->forest);
        WB_RETURN_IF_ERROR(rows::InsertLog(db, *log).status());
      }
      if (result.ok()) {
        for (writeback::v1::DriftRecord& d : drift) {
          if (d.mailbox_id().empty()) d.set_mailbox_id(result->cloud_id);
          if (d.forest().empty()) d.set_forest(result->forest);
          WB_RETURN_IF_ERROR(rows::InsertDrift(db, d).status());
        }
      }
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  }));
  return results;
}

absl::StatusOr<std::vector<MailboxRecord>> SqliteStore::ListMailboxes(std::string_view forest,
                                                                      size_t limit) {
  std::vector<MailboxRecord> mailboxes;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(SelectMailboxes(forest.empty() ? "ORDER BY cloud_id LIMIT ?2"
                                                                  : "WHERE forest = ?1 "
                                                                    "ORDER BY cloud_id LIMIT ?2")));
    if (!forest.empty()) st.BindText(1, forest);
    st.BindInt(2, SqlLimit(limit));
    WB_ASSIGN_OR_RETURN(mailboxes, ReadMailboxes(st));
    return absl::OkStatus();
  }));
  return mailboxes;
}

absl::StatusOr<std::vector<MailboxRecord>> SqliteStore::DueMailboxes(std::string_view forest,
                                                                     int64_t now_ms, size_t limit) {
  std::vector<MailboxRecord> mailboxes;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    // Two index-ordered arms merged by SQLite (see schema.cc), no sort.
    const std::string in_forest = forest.empty() ? "" : "forest = ?1 AND ";
    std::string sql = absl::StrCat(
        SelectMailboxes(absl::StrCat("WHERE ", in_forest, "status = ", v1::PENDING)), " UNION ALL ",
        SelectMailboxes(absl::StrCat("WHERE ", in_forest, "status = ", v1::RETRY_WAIT,
                                     " AND next_attempt_ms <= ?2")),
        " ORDER BY updated_ms, cloud_id LIMIT ?3");
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    if (!forest.empty()) st.BindText(1, forest);
    st.BindInt(2, now_ms);
    st.BindInt(3, SqlLimit(limit));
    WB_ASSIGN_OR_RETURN(mailboxes, ReadMailboxes(st));
    return absl::OkStatus();
  }));
  return mailboxes;
}

absl::StatusOr<int> SqliteStore::ResetInFlight(int64_t not_before_ms) {
  int reset = 0;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    std::vector<std::string> ids;
    {
      WB_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(absl::StrCat("SELECT cloud_id FROM mailboxes WHERE status = ", v1::IN_FLIGHT)));
      while (true) {
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ids.push_back(st.Text(0));
      }
    }
    reset = 0;
    for (const std::string& id : ids) {
      absl::StatusOr<MailboxRecord> result;
      WB_RETURN_IF_ERROR(UpdateOne(
          db, id,
          [not_before_ms](MailboxRecord& m) {
            ReleaseInFlight(not_before_ms,
                            "the controller stopped while the work was out; redelivered once "
                            "no agent can still be writing it",
                            &m);
            return absl::OkStatus();
          },
          &result));
      WB_RETURN_IF_ERROR(result.status());
      ++reset;
    }
    return absl::OkStatus();
  }));
  return reset;
}

absl::StatusOr<std::vector<std::pair<MailboxStatus, int64_t>>> SqliteStore::CountByStatus(
    std::string_view forest) {
  std::vector<std::pair<MailboxStatus, int64_t>> counts;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    // mailbox_counts: kept by triggers (schema.cc, version 5).
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(absl::StrCat("SELECT status, SUM(n) FROM mailbox_counts ",
                                forest.empty() ? "" : "WHERE forest = ?1 ",
                                "GROUP BY status HAVING SUM(n) > 0 ORDER BY status")));
    if (!forest.empty()) st.BindText(1, forest);
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      counts.emplace_back(static_cast<MailboxStatus>(st.Int(0)), st.Int(1));
    }
  }));
  return counts;
}

}  // namespace writeback::controller

namespace writeback::controller::store_internal {

int64_t SqlLimitOf(size_t limit) { return SqlLimit(limit); }
std::string SelectMailboxSql(const std::string& where_and_order) {
  return SelectMailboxes(where_and_order);
}
absl::StatusOr<std::vector<MailboxRecord>> ReadMailboxRows(Statement& st) {
  return ReadMailboxes(st);
}
absl::Status WriteMailboxRow(SqliteDb& db, const MailboxRecord& m, bool new_mailbox,
                             absl::Status* refused) {
  return WriteMailbox(db, m, new_mailbox, /*forest_kept=*/false, refused);
}
absl::Status UpdateMailboxRow(SqliteDb& db, std::string_view cloud_id,
                              const std::function<absl::Status(MailboxRecord&)>& mutate,
                              absl::StatusOr<MailboxRecord>* result) {
  return UpdateOne(db, cloud_id, mutate, result);
}

}  // namespace writeback::controller::store_internal
