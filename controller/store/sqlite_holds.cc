// SqliteStore's part for the mass-change guard: the window count, and the
// holds table with its decisions (store.h; schema version 3).
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "controller/store/sqlite_rows.h"
#include "controller/store/sqlite_store.h"

namespace writeback::controller {
namespace {

constexpr char kHoldColumns[] =
    "id, forest, opened_ms, reason, state, decided_ms, decided_by, mailboxes";

HoldRecord HoldRow(const Statement& st) {
  HoldRecord h;
  h.id = st.Int(0);
  h.forest = st.Text(1);
  h.opened_ms = st.Int(2);
  h.reason = st.Text(3);
  h.state = st.Text(4);
  h.decided_ms = st.Int(5);
  h.decided_by = st.Text(6);
  h.mailboxes = st.Int(7);
  return h;
}

absl::StatusOr<int64_t> CountHeld(SqliteDb& db, int64_t hold_id) {
  WB_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare(absl::StrCat("SELECT COUNT(*) FROM mailboxes WHERE hold_id = ?1 "
                                              "AND status = ",
                                              writeback::v1::HELD)));
  st.BindInt(1, hold_id);
  WB_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

// Reads hold `id`; an open hold's count is what it holds now.
absl::StatusOr<std::optional<HoldRecord>> ReadHold(SqliteDb& db, int64_t id) {
  std::optional<HoldRecord> hold;
  {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat("SELECT ", kHoldColumns, " FROM holds WHERE id = ?1")));
    st.BindInt(1, id);
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return hold;
    hold = HoldRow(st);
  }
  if (hold->state == "open") {
    WB_ASSIGN_OR_RETURN(hold->mailboxes, CountHeld(db, id));
  }
  return hold;
}

absl::StatusOr<int64_t> OpenHoldId(SqliteDb& db, std::string_view forest) {
  WB_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT id FROM holds WHERE forest = ?1 AND state = 'open' ORDER BY id LIMIT 1"));
  st.BindText(1, forest);
  WB_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

}  // namespace

absl::StatusOr<GuardWindowState> SqliteStore::GuardWindow(std::string_view forest,
                                                          int64_t since_ms) {
  GuardWindowState state;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("SELECT COUNT(*) FROM mailboxes WHERE forest = ?1 AND "
                                   "guard_counted_ms > ?2"));
    st.BindText(1, forest);
    st.BindInt(2, since_ms);
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    state.counted = row ? st.Int(0) : 0;
    WB_ASSIGN_OR_RETURN(state.open_hold_id, OpenHoldId(db, forest));
    return absl::OkStatus();
  }));
  return state;
}

absl::StatusOr<HoldRecord> SqliteStore::OpenHold(std::string_view forest,
                                                 const std::string& reason, int64_t at_ms) {
  std::optional<HoldRecord> hold;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(int64_t id, OpenHoldId(db, forest));
    if (id == 0) {
      {
        WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT 1 FROM forests WHERE name = ?1"));
        st.BindText(1, forest);
        WB_ASSIGN_OR_RETURN(bool known, st.Step());
        if (!known) {
          return absl::NotFoundError(
              absl::StrCat("forest \"", std::string(forest), "\" is not registered"));
        }
      }
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("INSERT INTO holds (forest, opened_ms, reason, state) "
                                     "VALUES (?1, ?2, ?3, 'open')"));
      st.BindText(1, forest);
      st.BindInt(2, at_ms);
      st.BindText(3, reason);
      WB_RETURN_IF_ERROR(st.Run());
      id = db.last_insert_rowid();
    }
    WB_ASSIGN_OR_RETURN(hold, ReadHold(db, id));
    return absl::OkStatus();
  }));
  return std::move(*hold);
}

absl::StatusOr<std::vector<HoldRecord>> SqliteStore::ListHolds(std::string_view forest,
                                                               std::string_view state) {
  std::vector<HoldRecord> holds;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    holds.clear();
    {
      WB_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(absl::StrCat("SELECT ", kHoldColumns,
                                  " FROM holds WHERE (?1 = '' OR forest = ?1) AND "
                                  "(?2 = '' OR state = ?2) ORDER BY id DESC")));
      st.BindText(1, forest);
      st.BindText(2, state);
      while (true) {
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        holds.push_back(HoldRow(st));
      }
    }
    for (HoldRecord& h : holds) {
      if (h.state == "open") {
        WB_ASSIGN_OR_RETURN(h.mailboxes, CountHeld(db, h.id));
      }
    }
    return absl::OkStatus();
  }));
  return holds;
}

absl::StatusOr<HoldRecord> SqliteStore::DecideHold(int64_t hold_id, const std::string& state,
                                                   const std::string& decided_by, int64_t at_ms,
                                                   const HeldDecision& decide) {
  if (state != "approved" && state != "rejected") {
    return absl::InvalidArgumentError(
        absl::StrCat("hold ", hold_id, ": a decision is \"approved\" or \"rejected\", not \"",
                     state, "\""));
  }
  std::optional<HoldRecord> decided;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(std::optional<HoldRecord> hold, ReadHold(db, hold_id));
    if (!hold.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "hold ", hold_id, " does not exist; `writebackctl hold list` shows the holds"));
    }
    if (hold->state != "open") {
      return absl::FailedPreconditionError(
          absl::StrCat("hold ", hold_id, " was already ", hold->state, " by ", hold->decided_by,
                       "; only an open hold can be decided"));
    }
    std::vector<MailboxRecord> held;
    {
      WB_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(absl::StrCat("SELECT ", rows::kMailboxColumns,
                                  " FROM mailboxes WHERE hold_id = ?1 AND status = ",
                                  writeback::v1::HELD, " ORDER BY cloud_id")));
      st.BindInt(1, hold_id);
      while (true) {
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        WB_ASSIGN_OR_RETURN(MailboxRecord m, rows::ReadMailbox(st));
        held.push_back(std::move(m));
      }
    }
    for (const MailboxRecord& before : held) {
      MailboxRecord m = before;
      writeback::v1::ProvisioningRecord log;
      WB_RETURN_IF_ERROR(decide(m, &log));
      if (m.cloud_id != before.cloud_id || m.forest != before.forest ||
          m.source_anchor != before.source_anchor || m.status == writeback::v1::HELD ||
          m.hold_id != 0) {
        return absl::InternalError(absl::StrCat(
            "hold ", hold_id, ": deciding mailbox ", before.cloud_id,
            " must release it and keep its identity"));
      }
      {
        WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(rows::UpdateMailboxSql()));
        rows::BindMailbox(st, m);
        WB_RETURN_IF_ERROR(st.Run());
      }
      if (!log.kind().empty()) {
        if (log.mailbox_id().empty()) log.set_mailbox_id(m.cloud_id);
        if (log.forest().empty()) log.set_forest(m.forest);
        WB_RETURN_IF_ERROR(rows::InsertLog(db, log).status());
      }
    }
    {
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("UPDATE holds SET state = ?2, decided_ms = ?3, "
                                     "decided_by = ?4, mailboxes = ?5 WHERE id = ?1"));
      st.BindInt(1, hold_id);
      st.BindText(2, state);
      st.BindInt(3, at_ms);
      st.BindText(4, decided_by);
      st.BindInt(5, static_cast<int64_t>(held.size()));
      WB_RETURN_IF_ERROR(st.Run());
    }
    WB_ASSIGN_OR_RETURN(decided, ReadHold(db, hold_id));
    return absl::OkStatus();
  }));
  return std::move(*decided);
}

}  // namespace writeback::controller
