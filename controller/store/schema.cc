#include "controller/store/schema.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller {
namespace {

// Version 1: forests, agents, mailboxes and the provisioning log.
//
// Mailboxes keep their attribute maps as serialized writeback.v1.AttributeMap
// BLOBs (last_known NULL until the onboarding read). Log records keep the
// whole ProvisioningRecord as a BLOB plus the columns ListLog filters on.
// AUTOINCREMENT: a log id is never reused, even after old records are pruned.
//
// The mailbox indexes end in (updated_ms, cloud_id), DueMailboxes' order, so
// its two arms (PENDING; RETRY_WAIT filtered on next_attempt_ms) are merged
// in index order and a batch reads about `limit` rows, not every due mailbox.
constexpr std::string_view kSchemaV1 = R"sql(
PRAGMA application_id = 2002938673;

CREATE TABLE forests (
  name       TEXT    PRIMARY KEY NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE forest_scope_ous (
  forest   TEXT    NOT NULL REFERENCES forests(name) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  dn       TEXT    NOT NULL,
  PRIMARY KEY (forest, position)
) WITHOUT ROWID;

CREATE TABLE agents (
  agent_id     TEXT    PRIMARY KEY NOT NULL,
  forest       TEXT    NOT NULL,
  version      TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX agents_by_forest ON agents (forest, agent_id);

CREATE TABLE mailboxes (
  cloud_id         TEXT    PRIMARY KEY NOT NULL,
  forest           TEXT    NOT NULL REFERENCES forests(name),
  source_anchor    BLOB    NOT NULL,
  desired          BLOB    NOT NULL,
  last_known       BLOB,
  desired_gen      INTEGER NOT NULL,
  applied_gen      INTEGER NOT NULL,
  status           INTEGER NOT NULL,
  attempts         INTEGER NOT NULL,
  next_attempt_ms  INTEGER NOT NULL,
  last_error       TEXT    NOT NULL,
  dn               TEXT    NOT NULL,
  inflight_id      TEXT    NOT NULL,
  inflight_session TEXT    NOT NULL,
  inflight_gen     INTEGER NOT NULL,
  updated_ms       INTEGER NOT NULL,
  UNIQUE (forest, source_anchor)
);
CREATE INDEX mailboxes_due ON mailboxes (forest, status, updated_ms, cloud_id);
CREATE INDEX mailboxes_by_status ON mailboxes (status, updated_ms, cloud_id);

CREATE TABLE provisioning_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms    INTEGER NOT NULL,
  mailbox_id TEXT    NOT NULL,
  forest     TEXT    NOT NULL,
  agent_id   TEXT    NOT NULL,
  outcome    INTEGER NOT NULL,
  job_id     TEXT    NOT NULL,
  record     BLOB    NOT NULL
);
CREATE INDEX log_by_time ON provisioning_log (time_ms);
CREATE INDEX log_by_mailbox ON provisioning_log (mailbox_id, time_ms);
CREATE INDEX log_by_forest ON provisioning_log (forest, time_ms);
CREATE INDEX log_by_agent ON provisioning_log (agent_id, time_ms);
)sql";

// Version 2: what may have been written although no answer came (DESIGN §4
// redelivery). inflight_job: the serialized writeback.v1.Job out with an agent;
// unconfirmed: a serialized writeback.v1.JobBatch of jobs whose session was
// lost or whose controller stopped; verify_read: a verification read is due.
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE mailboxes ADD COLUMN inflight_job BLOB;
ALTER TABLE mailboxes ADD COLUMN unconfirmed BLOB;
ALTER TABLE mailboxes ADD COLUMN verify_read INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 3: the audit trail of Admin API calls that change something (the
// whole writeback.v1.AuditRecord as a BLOB plus the columns ListAudit
// filters on); a forest's pause (operator or failure-ratio guard).
//
// Also the provisioning log's `kind` ("job", "read", "lost", "removed") as a
// column ListLog filters on; rows written before version 3 get it from their
// record (BackfillLogKind).
//
// Reconciliation (DESIGN §6): drift records (the whole writeback.v1.DriftRecord
// plus the columns ListDrift filters on); each mailbox's known_ms (when an
// answer last told what AD holds) and its recent corrections (Unix ms,
// comma-separated) for the dual-writer rule; the high-water marks of each
// forest's last complete pass per DC invocation id. The anchor lookup uses
// the UNIQUE (forest, source_anchor) index of version 1.
// And the mass-change guard (controller/dispatch/mass_change_guard.h): a
// forest's threshold and window overrides (NULL: the controller's defaults),
// each mailbox's guard marks (hold_id, guard_gen, guard_counted_ms indexed by
// forest for the window count, guard_approved) and the holds table.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE admin_audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  method  TEXT    NOT NULL,
  record  BLOB    NOT NULL
);
CREATE INDEX admin_audit_by_time ON admin_audit (time_ms);
ALTER TABLE forests ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE forests ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE forests ADD COLUMN paused_at_ms INTEGER NOT NULL DEFAULT 0;

ALTER TABLE provisioning_log ADD COLUMN kind TEXT NOT NULL DEFAULT '';
CREATE INDEX log_by_kind ON provisioning_log (kind, time_ms);

ALTER TABLE mailboxes ADD COLUMN known_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN corrections TEXT NOT NULL DEFAULT '';

CREATE TABLE drift (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms    INTEGER NOT NULL,
  mailbox_id TEXT    NOT NULL,
  forest     TEXT    NOT NULL,
  attribute  TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  record     BLOB    NOT NULL
);
CREATE INDEX drift_by_time ON drift (time_ms);
CREATE INDEX drift_by_mailbox ON drift (mailbox_id, attribute, time_ms);
CREATE INDEX drift_by_forest ON drift (forest, time_ms);

CREATE TABLE scan_marks (
  forest        TEXT    NOT NULL,
  agent_id      TEXT    NOT NULL,
  invocation_id TEXT    NOT NULL,
  dc            TEXT    NOT NULL,
  usn           INTEGER NOT NULL,
  time_ms       INTEGER NOT NULL,
  PRIMARY KEY (forest, agent_id, invocation_id)
) WITHOUT ROWID;
ALTER TABLE forests ADD COLUMN mass_change_threshold INTEGER;
ALTER TABLE forests ADD COLUMN mass_change_window_s INTEGER;
ALTER TABLE mailboxes ADD COLUMN hold_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN guard_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN guard_counted_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN guard_approved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN adopt_on_read TEXT NOT NULL DEFAULT '';
CREATE INDEX mailboxes_guard_window ON mailboxes (forest, guard_counted_ms);
CREATE INDEX mailboxes_by_hold ON mailboxes (hold_id) WHERE hold_id != 0;
CREATE TABLE holds (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  forest     TEXT    NOT NULL,
  opened_ms  INTEGER NOT NULL,
  reason     TEXT    NOT NULL,
  state      TEXT    NOT NULL,
  decided_ms INTEGER NOT NULL DEFAULT 0,
  decided_by TEXT    NOT NULL DEFAULT '',
  mailboxes  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX holds_by_forest ON holds (forest, state, id);
)sql";

// Version 4: trust (DESIGN §7; controller/store/trust_store.h): join tokens
// (only the SHA-256 of their secret), every certificate the controller CA
// issued (for revocation checks and status), and agent revocations
// (certificates issued at or before revoked_ms are refused).
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE join_tokens (
  token_id      TEXT    PRIMARY KEY NOT NULL,
  forest        TEXT    NOT NULL,
  secret_sha256 TEXT    NOT NULL,
  created_ms    INTEGER NOT NULL,
  expires_ms    INTEGER NOT NULL,
  created_by    TEXT    NOT NULL,
  used_ms       INTEGER NOT NULL DEFAULT 0,
  used_by       TEXT    NOT NULL DEFAULT '',
  revoked_ms    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX join_tokens_by_time ON join_tokens (created_ms);
CREATE TABLE certificates (
  serial        TEXT    PRIMARY KEY NOT NULL,
  agent_id      TEXT    NOT NULL,
  forest        TEXT    NOT NULL,
  issuer        TEXT    NOT NULL,
  not_before_ms INTEGER NOT NULL,
  not_after_ms  INTEGER NOT NULL,
  issued_ms     INTEGER NOT NULL,
  via           TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX certificates_by_agent ON certificates (agent_id, issued_ms);
CREATE TABLE agent_revocations (
  agent_id   TEXT    PRIMARY KEY NOT NULL,
  revoked_ms INTEGER NOT NULL,
  revoked_by TEXT    NOT NULL,
  reason     TEXT    NOT NULL
) WITHOUT ROWID;
)sql";

// Version 5: the number of mailboxes per forest and status, kept by triggers,
// so that GetStatus and the metrics read a few rows instead of counting
// every mailbox (measured: with 200,000 mailboxes, a GetStatus polled every
// 50 ms took 60% of the controller's CPU and held the store meanwhile).
// Every way a mailbox row comes, goes or changes forest or status passes a
// trigger (no statement REPLACEs a mailbox row: that would skip the delete
// trigger). Rows whose count fell to 0 stay, and CountByStatus skips them.
constexpr std::string_view kSchemaV5 = R"sql(
CREATE TABLE mailbox_counts (
  forest TEXT    NOT NULL,
  status INTEGER NOT NULL,
  n      INTEGER NOT NULL,
  PRIMARY KEY (forest, status)
) WITHOUT ROWID;
INSERT INTO mailbox_counts (forest, status, n)
  SELECT forest, status, COUNT(*) FROM mailboxes GROUP BY forest, status;
CREATE TRIGGER mailbox_counts_insert AFTER INSERT ON mailboxes BEGIN
  INSERT INTO mailbox_counts (forest, status, n) VALUES (new.forest, new.status, 1)
    ON CONFLICT (forest, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER mailbox_counts_delete AFTER DELETE ON mailboxes BEGIN
  UPDATE mailbox_counts SET n = n - 1 WHERE forest = old.forest AND status = old.status;
END;
CREATE TRIGGER mailbox_counts_update AFTER UPDATE OF forest, status ON mailboxes
  WHEN old.forest IS NOT new.forest OR old.status IS NOT new.status BEGIN
  UPDATE mailbox_counts SET n = n - 1 WHERE forest = old.forest AND status = old.status;
  INSERT INTO mailbox_counts (forest, status, n) VALUES (new.forest, new.status, 1)
    ON CONFLICT (forest, status) DO UPDATE SET n = n + 1;
END;
)sql";

// Fills provisioning_log.kind from each older row's serialized record, a
// thousand rows per statement pair (the migration is one transaction).
absl::Status BackfillLogKind(SqliteDb& db) {
  constexpr int64_t kBatch = 1000;
  int64_t after = 0;
  while (true) {
    std::vector<std::pair<int64_t, std::string>> kinds;
    {
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT id, record FROM provisioning_log WHERE id > ?1 "
                                     "ORDER BY id LIMIT ?2"));
      st.BindInt(1, after);
      st.BindInt(2, kBatch);
      while (true) {
        WB_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        after = st.Int(0);
        writeback::v1::ProvisioningRecord record;
        if (!record.ParseFromString(st.Blob(1))) {
          return absl::DataLossError(absl::StrCat("provisioning log record ", after,
                                                  " does not parse; restore the store from a "
                                                  "backup"));
        }
        kinds.emplace_back(after, record.kind());
      }
    }
    for (const auto& [id, kind] : kinds) {
      WB_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("UPDATE provisioning_log SET kind = ?2 WHERE id = ?1"));
      st.BindInt(1, id);
      st.BindText(2, kind);
      WB_RETURN_IF_ERROR(st.Run());
    }
    if (static_cast<int64_t>(kinds.size()) < kBatch) return absl::OkStatus();
  }
}

static_assert(kStoreApplicationId == 2002938673, "kSchemaV1 spells the application id");

constexpr SchemaMigration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3, BackfillLogKind},
    {4, kSchemaV4},
    {5, kSchemaV5},
};

absl::StatusOr<int64_t> ReadPragma(SqliteDb& db, const std::string& sql) {
  WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  WB_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

// Everything but the schema steps themselves, inside the open transaction.
absl::Status MigrateLocked(SqliteDb& db, absl::Span<const SchemaMigration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InternalError(absl::StrCat("schema step ", i, " has version ",
                                              migrations[i].version, ", expected ", i + 1));
    }
  }
  const int latest = static_cast<int>(migrations.size());
  WB_ASSIGN_OR_RETURN(int64_t version, ReadPragma(db, "PRAGMA user_version"));
  WB_ASSIGN_OR_RETURN(int64_t app_id, ReadPragma(db, "PRAGMA application_id"));
  WB_ASSIGN_OR_RETURN(int64_t objects, ReadPragma(db, "SELECT COUNT(*) FROM sqlite_master"));
  if (app_id != 0 && app_id != kStoreApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store database \"", db.path(), "\" belongs to another application (application_id ",
        app_id, "); point the controller at its own store file"));
  }
  if (version == 0 && objects > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("store database \"", db.path(),
                     "\" has tables but no writeback schema version; it is not a writeback "
                     "store: point the controller at its own store file"));
  }
  if (version > latest) {
    return absl::FailedPreconditionError(
        absl::StrCat("store database \"", db.path(), "\" has schema version ", version,
                     ", newer than the versions this controller knows (up to ", latest,
                     "); run the newer controller, or restore a backup taken before the upgrade"));
  }
  for (int v = static_cast<int>(version) + 1; v <= latest; ++v) {
    WB_RETURN_IF_ERROR(db.Exec(migrations[v - 1].sql));
    if (migrations[v - 1].backfill != nullptr) WB_RETURN_IF_ERROR(migrations[v - 1].backfill(db));
    WB_RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA user_version = ", v)));
  }
  if (version < latest) {
    WB_LOG(INFO) << "store schema migrated path=" << db.path() << " from=" << version
                 << " to=" << latest;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const SchemaMigration> SchemaMigrations() { return kMigrations; }

int LatestSchemaVersion() { return static_cast<int>(SchemaMigrations().size()); }

absl::StatusOr<int> ReadSchemaVersion(SqliteDb& db) {
  WB_ASSIGN_OR_RETURN(int64_t version, ReadPragma(db, "PRAGMA user_version"));
  return static_cast<int>(version);
}

absl::Status MigrateSchema(SqliteDb& db, absl::Span<const SchemaMigration> migrations) {
  WB_RETURN_IF_ERROR(db.Begin(SqliteDb::kImmediate));
  absl::Status status = MigrateLocked(db, migrations);
  if (status.ok()) status = db.Commit();
  if (!status.ok()) db.Rollback();
  return status;
}

}  // namespace writeback::controller
