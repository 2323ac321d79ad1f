// The Store on one SQLite file: the controller's embedded default (DESIGN §8).
//
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
//                       SqliteStore::Open("/var/lib/writeback/state.db"));
//
// Open() creates the file (mode 0600) when it is absent and migrates its
// schema (schema.h). The connection runs in WAL mode with synchronous=FULL,
// foreign keys on and a busy timeout, so a method that returned OK survives
// a crash or power loss.
//
// Contract beyond store.h:
// - Every method is one transaction: writes use BEGIN IMMEDIATE, reads a
//   deferred BEGIN; any error rolls back. UpdateMailboxes is one commit for
//   the whole batch (group commit).
// - Records are stored as given: the caller stamps MailboxRecord::updated_ms,
//   ForestRecord::created_ms and ProvisioningRecord::time_ms from its clock.
// - A mutate runs inside the transaction with the store locked: it must be
//   quick and must not call the store (that would deadlock). It may change
//   any field but the cloud id (kInvalidArgument). A
//   mutate that moves a mailbox onto an anchor already held in its forest
//   fails like AddMailbox does (kAlreadyExists naming the holder).
// - A log record's empty mailbox_id / forest are filled from the mailbox it
//   accompanies. Its id is assigned in the database (ListLog returns it); the
//   batch's MailboxUpdate::log values are copied per transaction (mutate
//   sees and may annotate the copy); the caller's are not changed.
// - Drift records and scan marks (sqlite_drift.cc): MailboxUpdate's drift
//   records are inserted after its mailbox in the same transaction. ListDrift
//   treats limit 0 as 100, SummarizeDrift as 1000; PruneDrift deletes
//   kPruneBatch rows per transaction.
// - Limits: ListMailboxes and DueMailboxes treat 0 as "no limit"; ListLog
//   treats 0 as 100. ListLog's time range is [since_ms, until_ms); so is
//   ListLogAfter's. PruneLog and PruneAudit delete kPruneBatch rows per
//   transaction.
// - Errors: kNotFound / kAlreadyExists / kInvalidArgument as store.h says,
//   with messages an operator can act on; SQLite failures become kUnavailable
//   (busy, disk full, I/O: retry later), kDataLoss (corrupt file) or
//   kInternal, naming the file and carrying sqlite3_errmsg.
//
// Thread-safe: one connection behind one mutex, so calls run one at a time.
// Not copyable or movable.
#ifndef WRITEBACK_CONTROLLER_STORE_SQLITE_STORE_H_
#define WRITEBACK_CONTROLLER_STORE_SQLITE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/sqlite_db.h"
#include "controller/store/store.h"
#include "controller/store/trust_store.h"

namespace writeback::controller {

class SqliteStore : public Store, public TrustStore {
 public:
  // Rows PruneLog / PruneAudit delete per transaction.
  static constexpr int64_t kPruneBatch = 1000;

  // Opens or creates the store at `path`. kFailedPrecondition when the
  // directory does not exist, the file is not a writeback store, or its
  // schema is newer than this binary; kUnavailable / kDataLoss for SQLite
  // failures.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  // Called with the duration of each write transaction's COMMIT (the
  // synchronous=FULL fsync), under the store's lock: keep it quick (a
  // histogram observation). Set before the store is shared between threads.
  void SetCommitObserver(std::function<void(absl::Duration)> observer) {
    absl::MutexLock lock(&mu_);
    commit_observer_ = std::move(observer);
  }

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override = default;

  absl::Status AddForest(const ForestRecord& forest) override;
  absl::StatusOr<ForestRecord> GetForest(std::string_view name) override;
  absl::StatusOr<std::vector<ForestRecord>> ListForests() override;
  absl::Status SetForestPause(std::string_view name, bool paused, const std::string& reason,
                              int64_t at_ms) override;
  absl::Status SetForestGuardPolicy(std::string_view name, std::optional<uint32_t> threshold,
                                    std::optional<uint32_t> window_s) override;

  // In sqlite_holds.cc.
  absl::StatusOr<GuardWindowState> GuardWindow(std::string_view forest,
                                               int64_t since_ms) override;
  absl::StatusOr<HoldRecord> OpenHold(std::string_view forest, const std::string& reason,
                                      int64_t at_ms) override;
  absl::StatusOr<std::vector<HoldRecord>> ListHolds(std::string_view forest,
                                                    std::string_view state) override;
  absl::StatusOr<HoldRecord> DecideHold(int64_t hold_id, const std::string& state,
                                        const std::string& decided_by, int64_t at_ms,
                                        const HeldDecision& decide) override;

  absl::Status UpsertAgent(const AgentRecord& agent) override;
  absl::StatusOr<std::vector<AgentRecord>> ListAgents(std::string_view forest) override;

  absl::Status AddMailbox(const MailboxRecord& mailbox) override;
  absl::StatusOr<MailboxRecord> RemoveMailbox(
      std::string_view cloud_id, const writeback::v1::ProvisioningRecord& log) override;
  absl::StatusOr<MailboxRecord> GetMailbox(std::string_view cloud_id) override;
  absl::StatusOr<MailboxRecord> UpdateMailbox(
      std::string_view cloud_id,
      const std::function<absl::Status(MailboxRecord&)>& mutate) override;
  absl::StatusOr<std::vector<absl::StatusOr<MailboxRecord>>> UpdateMailboxes(
      const std::vector<MailboxUpdate>& updates) override;
  absl::StatusOr<std::vector<MailboxRecord>> ListMailboxes(std::string_view forest,
                                                           size_t limit) override;
  absl::StatusOr<std::vector<MailboxRecord>> DueMailboxes(std::string_view forest, int64_t now_ms,
                                                          size_t limit) override;
  absl::StatusOr<int> ResetInFlight(int64_t not_before_ms) override;
  // In sqlite_import.cc.
  absl::StatusOr<std::vector<absl::StatusOr<bool>>> ImportMailboxes(
      const std::vector<MailboxImport>& entries, bool commit) override;
  absl::StatusOr<std::vector<MailboxRecord>> ListMailboxesInStatus(
      std::string_view forest, const std::vector<writeback::v1::MailboxStatus>& statuses,
      size_t limit) override;
  absl::StatusOr<std::vector<std::pair<writeback::v1::MailboxStatus, int64_t>>> CountByStatus(
      std::string_view forest) override;

  absl::Status AppendAudit(writeback::v1::AuditRecord* record) override;
  absl::StatusOr<std::vector<writeback::v1::AuditRecord>> ListAudit(
      const writeback::v1::ListAuditLogRequest& filter) override;
  absl::Status AppendLog(writeback::v1::ProvisioningRecord* record) override;
  absl::StatusOr<std::vector<writeback::v1::ProvisioningRecord>> ListLog(
      const writeback::v1::ListProvisioningLogRequest& filter) override;
  absl::StatusOr<std::vector<writeback::v1::ProvisioningRecord>> ListLogAfter(
      const writeback::v1::ListProvisioningLogRequest& filter, int64_t after_id,
      size_t page_size) override;
  absl::StatusOr<int64_t> PruneLog(int64_t before_ms) override;
  absl::StatusOr<int64_t> PruneAudit(int64_t before_ms) override;

  // In sqlite_drift.cc.
  absl::StatusOr<std::vector<MailboxRecord>> FindMailboxesByAnchor(
      std::string_view forest, const std::vector<std::string>& anchors) override;
  absl::StatusOr<std::vector<writeback::v1::DriftRecord>> ListDrift(
      const writeback::v1::ListDriftRequest& filter) override;
  absl::StatusOr<std::vector<writeback::v1::DriftSummary>> SummarizeDrift(
      const writeback::v1::ListDriftRequest& filter) override;
  absl::StatusOr<int64_t> PruneDrift(int64_t before_ms) override;
  absl::StatusOr<std::vector<ScanMark>> ListScanMarks(std::string_view forest,
                                                     std::string_view agent_id) override;
  absl::Status SaveScanMarks(std::string_view forest, std::string_view agent_id,
                             const std::vector<ScanMark>& marks) override;

  // In sqlite_trust.cc (TrustStore).
  absl::Status AddJoinToken(const JoinTokenRecord& token) override;
  absl::StatusOr<std::optional<JoinTokenRecord>> GetJoinToken(std::string_view id) override;
  absl::StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(std::string_view forest) override;
  absl::StatusOr<JoinTokenRecord> RevokeJoinToken(std::string_view id, int64_t at_ms) override;
  absl::StatusOr<JoinTokenRecord> RedeemJoinToken(std::string_view id,
                                                  const CertificateRecord& cert,
                                                  int64_t at_ms) override;
  absl::Status AddCertificate(const CertificateRecord& cert) override;
  absl::StatusOr<std::optional<CertificateRecord>> GetCertificate(
      std::string_view serial) override;
  absl::StatusOr<std::vector<CertificateRecord>> LatestCertificates() override;
  absl::Status RevokeAgent(const RevocationRecord& revocation) override;
  absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      std::string_view agent_id) override;
  absl::StatusOr<std::vector<RevocationRecord>> ListRevocations() override;

 private:
  using Body = std::function<absl::Status(SqliteDb&)>;

  explicit SqliteStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  // Runs `body` in one transaction under the mutex; commits when it returns
  // OK, rolls back otherwise.
  absl::Status Transact(SqliteDb::TransactionMode mode, const Body& body) ABSL_LOCKS_EXCLUDED(mu_);
  // PruneLog / PruneAudit on `table` (which has id and time_ms columns).
  absl::StatusOr<int64_t> PruneTable(const char* table, int64_t before_ms);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  std::function<void(absl::Duration)> commit_observer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_STORE_SQLITE_STORE_H_
