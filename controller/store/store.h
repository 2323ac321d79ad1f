// The controller's durable state: forests, agents, mailboxes and the
// provisioning log (DESIGN §3, §8). Read this header first in controller/store.
//
//   std::unique_ptr<Store> store = *SqliteStore::Open("/var/lib/writeback/state.db");
//   WB_RETURN_IF_ERROR(store->AddForest({.name = "corp.example.com", .scope_ous = {...}}));
//   auto updated = store->UpdateMailbox(id, [&](MailboxRecord& m) {
//     m.desired_gen++;  // any change; returning an error writes nothing
//     return absl::OkStatus();
//   });
//
// Every method is one transaction: when it returns OK the change is durable
// (committed with synchronous=FULL). Implementations are thread-safe.
#ifndef WRITEBACK_CONTROLLER_STORE_STORE_H_
#define WRITEBACK_CONTROLLER_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "writeback/v1/admin.pb.h"
#include "writeback/v1/agent.pb.h"
#include "writeback/v1/types.pb.h"

namespace writeback::controller {

struct ForestRecord {
  std::string name;                    // DNS name, lower case
  std::vector<std::string> scope_ous;  // OU DNs
  int64_t created_ms = 0;
  // A paused forest gets no new work (SetForestPause).
  bool paused = false;
  std::string pause_reason;
  int64_t paused_at_ms = 0;
  // Mass-change guard overrides (SetForestGuardPolicy); unset: the
  // controller's defaults. A threshold of 0 disables the guard.
  std::optional<uint32_t> mass_change_threshold = std::nullopt;
  std::optional<uint32_t> mass_change_window_s = std::nullopt;
};

// A hold of the mass-change guard (controller/dispatch/mass_change_guard.h).
struct HoldRecord {
  int64_t id = 0;
  std::string forest;
  int64_t opened_ms = 0;
  std::string reason;  // threshold, window and count that opened it
  std::string state;   // "open", "approved", "rejected"
  int64_t decided_ms = 0;
  std::string decided_by;
  // Open: mailboxes HELD under it now; decided: how many it held then.
  int64_t mailboxes = 0;
};

// What the mass-change guard needs of a forest at the start of a round.
struct GuardWindowState {
  // Mailboxes whose guard_counted_ms lies in the window.
  int64_t counted = 0;
  // The forest's open hold; 0 when none.
  int64_t open_hold_id = 0;
};

struct AgentRecord {
  std::string agent_id;
  std::string forest;
  std::string version;
  std::string state;  // "connected", "disconnected"
  int64_t last_seen_ms = 0;
};

struct MailboxRecord {
  std::string cloud_id;       // GUID string
  std::string forest;
  std::string source_anchor;  // 16 raw bytes; unique per forest
  writeback::v1::AttributeMap desired;
  // What AD held at the last ack or read; nullopt until the onboarding read.
  std::optional<writeback::v1::AttributeMap> last_known;
  uint64_t desired_gen = 0;
  uint64_t applied_gen = 0;
  writeback::v1::MailboxStatus status = writeback::v1::PENDING;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;  // for RETRY_WAIT
  std::string last_error;
  std::string dn;
  // The job or read out with an agent; empty when none.
  std::string inflight_id;
  std::string inflight_session;
  uint64_t inflight_gen = 0;
  int64_t updated_ms = 0;
  // The job out with an agent (when inflight_id names one), kept durable so
  // that after a lost session or a controller restart it is known what may
  // have been written.
  writeback::v1::Job inflight_job;
  // Jobs whose write may have reached AD although no answer came (their
  // session was lost, or the controller stopped while they were out). Values
  // found in AD that one of them carried are not a dual writer's. Cleared by
  // the next answer that tells what AD holds.
  writeback::v1::JobBatch unconfirmed;
  // A read is due to verify the object once the redelivered work is done.
  bool verify_read = false;
  // When the controller last learned what AD holds (an answer to a job or a
  // read), Unix ms: a reconciliation observation read before then is stale
  // (DESIGN §6: observations never override newer knowledge).
  int64_t known_ms = 0;
  // Unix ms of this mailbox's recent corrections (drift found and written
  // again), oldest first, for the dual-writer rule (reconcile/correction.h).
  std::vector<int64_t> corrections_ms;
  // Mass-change guard (mass_change_guard.h). hold_id: the hold a HELD
  // mailbox waits under (0 otherwise). guard_gen: the newest generation the
  // guard let through (placed or approved). guard_counted_ms: when the
  // mailbox last counted against its forest's window (0: never).
  // guard_approved: an operator approved its held change; the next job goes
  // out without counting.
  int64_t hold_id = 0;
  // Attributes whose desired values are taken from the next successful read
  // of the object (a rejected mass change: what AD holds then stands, even
  // if a dual writer changed it since last_known was learned).
  std::vector<std::string> adopt_on_read;
  uint64_t guard_gen = 0;
  int64_t guard_counted_ms = 0;
  bool guard_approved = false;
};

// The fence rule for work whose answer will never come (DESIGN §4): the
// mailbox goes to RETRY_WAIT no earlier than `not_before_ms`, the job it had
// out joins `unconfirmed`, and a verification read is scheduled. `why` becomes
// last_error. Used for a lost session and at controller start-up.
void ReleaseInFlight(int64_t not_before_ms, const std::string& why, MailboxRecord* mailbox);

// Work `work_id` (a read when `job` is null, else *job) goes out on
// `session_id` at the mailbox's desired generation: IN_FLIGHT, the job kept
// with the mailbox (inflight_job).
void MarkInFlight(const std::string& work_id, const std::string& session_id,
                  const writeback::v1::Job* job, MailboxRecord* mailbox);
// Planning found nothing to write: IN_SYNC at desired_gen, attempts and
// last error cleared.
void MarkInSync(MailboxRecord* mailbox);

// One change of one mailbox within a batch (see UpdateMailboxes).
struct MailboxUpdate {
  std::string cloud_id;
  // Changes the record in place; an error leaves this mailbox untouched.
  // `log` points at the transaction's copy of `log` below (nullptr when
  // unset), so that mutate can add what it decided (for example a note in
  // its diagnostic) before it is written.
  std::function<absl::Status(MailboxRecord&, writeback::v1::ProvisioningRecord* log)> mutate;
  // Appended to the provisioning log in the same transaction when set and
  // `mutate` succeeded. Its id is assigned by the store.
  std::optional<writeback::v1::ProvisioningRecord> log;
  // Used instead of `mutate` when set: the same, and it may also append
  // drift records to `drift`, written in the same transaction when it
  // succeeds (their empty mailbox_id / forest are filled from the mailbox;
  // ids are assigned by the store).
  std::function<absl::Status(MailboxRecord&, writeback::v1::ProvisioningRecord* log,
                             std::vector<writeback::v1::DriftRecord>* drift)>
      mutate_drift = nullptr;
};

// One mailbox of an import (Store::ImportMailboxes).
struct MailboxImport {
  // Inserted as given when its cloud id is not registered.
  MailboxRecord added;
  // Applied to the stored record when it is; an error refuses the entry.
  std::function<absl::Status(MailboxRecord&)> update;
};

// Where a reconciliation pass got to on one DC (agent.proto UsnMark).
struct ScanMark {
  std::string invocation_id;
  std::string dc;
  int64_t usn = 0;
  int64_t time_ms = 0;  // when the pass that read it completed
};

class Store {
 public:
  virtual ~Store() = default;

  // Forests. AddForest fails with kAlreadyExists for a taken name.
  virtual absl::Status AddForest(const ForestRecord& forest) = 0;
  // kNotFound names the forest.
  virtual absl::StatusOr<ForestRecord> GetForest(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<ForestRecord>> ListForests() = 0;
  // Pauses (with `reason`, at `at_ms`) or resumes a forest. kNotFound names
  // the forest.
  virtual absl::Status SetForestPause(std::string_view name, bool paused,
                                      const std::string& reason, int64_t at_ms) = 0;
  // Sets the forest's mass-change overrides to the given values (nullopt:
  // back to the controller's default). kNotFound names the forest.
  virtual absl::Status SetForestGuardPolicy(std::string_view name,
                                            std::optional<uint32_t> threshold,
                                            std::optional<uint32_t> window_s) = 0;

  // Mass-change holds (sqlite_holds.cc). The forest's count of mailboxes
  // counted after `since_ms` and its open hold.
  virtual absl::StatusOr<GuardWindowState> GuardWindow(std::string_view forest,
                                                       int64_t since_ms) = 0;
  // Returns the forest's open hold, opening one (with `reason`, at `at_ms`)
  // when there is none. kNotFound names an unknown forest.
  virtual absl::StatusOr<HoldRecord> OpenHold(std::string_view forest, const std::string& reason,
                                              int64_t at_ms) = 0;
  // Holds of `forest` (all if empty) in `state` (any if empty), newest first.
  virtual absl::StatusOr<std::vector<HoldRecord>> ListHolds(std::string_view forest,
                                                            std::string_view state) = 0;
  // Decides an open hold in one transaction: every mailbox HELD under it is
  // passed to `decide` (which must move it out of HELD and clear hold_id;
  // it may fill the log record, which is appended when its kind is set),
  // then the hold becomes `state` ("approved" or "rejected") with
  // decided_ms, decided_by and the count. kNotFound for an unknown id;
  // kFailedPrecondition when it is not open; an error of `decide` writes
  // nothing.
  using HeldDecision =
      std::function<absl::Status(MailboxRecord&, writeback::v1::ProvisioningRecord* log)>;
  virtual absl::StatusOr<HoldRecord> DecideHold(int64_t hold_id, const std::string& state,
                                                const std::string& decided_by, int64_t at_ms,
                                                const HeldDecision& decide) = 0;

  // Agents as last seen (informational).
  virtual absl::Status UpsertAgent(const AgentRecord& agent) = 0;
  virtual absl::StatusOr<std::vector<AgentRecord>> ListAgents(std::string_view forest) = 0;

  // Adds a new mailbox. kNotFound for an unknown forest; kAlreadyExists when
  // the cloud id is taken or the anchor already belongs to another mailbox of
  // the forest (the message names that mailbox's cloud id).
  virtual absl::Status AddMailbox(const MailboxRecord& mailbox) = 0;
  // Deletes a mailbox (it left writeback) and appends `log` in the same
  // transaction. Returns the record as it was; kNotFound names the cloud id.
  virtual absl::StatusOr<MailboxRecord> RemoveMailbox(
      std::string_view cloud_id, const writeback::v1::ProvisioningRecord& log) = 0;
  // kNotFound names the cloud id.
  virtual absl::StatusOr<MailboxRecord> GetMailbox(std::string_view cloud_id) = 0;
  // Read-modify-write of one mailbox in one transaction. Returns the record as
  // written, or mutate's error (nothing written), or kNotFound.
  virtual absl::StatusOr<MailboxRecord> UpdateMailbox(
      std::string_view cloud_id, const std::function<absl::Status(MailboxRecord&)>& mutate) = 0;
  // Several read-modify-writes (and their log records) in ONE transaction, so
  // a batch of results costs one commit. Returns one entry per update, in
  // order: the record as written, or that update's error. The call itself
  // fails only when the transaction fails, and then nothing is written.
  virtual absl::StatusOr<std::vector<absl::StatusOr<MailboxRecord>>> UpdateMailboxes(
      const std::vector<MailboxUpdate>& updates) = 0;
  // Mailboxes of `forest` (all forests if empty) ordered by cloud id.
  virtual absl::StatusOr<std::vector<MailboxRecord>> ListMailboxes(std::string_view forest,
                                                                   size_t limit) = 0;
  // Mailboxes of `forest` that need work now: status PENDING, or RETRY_WAIT
  // with next_attempt_ms <= now_ms; oldest updated first; at most `limit`.
  virtual absl::StatusOr<std::vector<MailboxRecord>> DueMailboxes(std::string_view forest,
                                                                  int64_t now_ms,
                                                                  size_t limit) = 0;
  // At start-up (fenced, DESIGN §4): every IN_FLIGHT mailbox is released
  // with ReleaseInFlight(not_before_ms, ...), `not_before_ms` being the moment
  // any agent that held its job must have stopped writing. Returns how many.
  virtual absl::StatusOr<int> ResetInFlight(int64_t not_before_ms) = 0;
  // Adds or updates every entry in ONE transaction (sqlite_import.cc): an
  // entry whose added.cloud_id is registered goes through `update`, the
  // others are inserted (kNotFound for an unknown forest, kAlreadyExists for
  // an anchor another mailbox holds, also one an earlier entry took). Returns
  // one result per entry, in order: true when added, false when updated, or
  // the entry's error. Commits only when `commit` and every entry succeeded;
  // otherwise nothing is written. The call itself fails only when the
  // transaction does.
  virtual absl::StatusOr<std::vector<absl::StatusOr<bool>>> ImportMailboxes(
      const std::vector<MailboxImport>& entries, bool commit) = 0;
  // Mailboxes of `forest` (all if empty) in one of `statuses`, by cloud id;
  // limit 0: all.
  virtual absl::StatusOr<std::vector<MailboxRecord>> ListMailboxesInStatus(
      std::string_view forest, const std::vector<writeback::v1::MailboxStatus>& statuses,
      size_t limit) = 0;
  // Counts mailboxes by status for `forest` (all if empty).
  virtual absl::StatusOr<std::vector<std::pair<writeback::v1::MailboxStatus, int64_t>>>
  CountByStatus(std::string_view forest) = 0;

  // Audit trail of Admin API calls. AppendAudit assigns record->id; ListAudit
  // returns newest first, filtered as the request says (limit 0 means 100).
  virtual absl::Status AppendAudit(writeback::v1::AuditRecord* record) = 0;
  virtual absl::StatusOr<std::vector<writeback::v1::AuditRecord>> ListAudit(
      const writeback::v1::ListAuditLogRequest& filter) = 0;

  // Provisioning log. AppendLog assigns record->id.
  virtual absl::Status AppendLog(writeback::v1::ProvisioningRecord* record) = 0;
  // Newest first, filtered as the request says; limit 0 means 100.
  virtual absl::StatusOr<std::vector<writeback::v1::ProvisioningRecord>> ListLog(
      const writeback::v1::ListProvisioningLogRequest& filter) = 0;
  // Oldest first (by id): at most `page_size` records with id > `after_id`
  // matching the filter (its limit is ignored). Pages through the whole log
  // without holding it in memory: pass the last id of one page to get the
  // next; a page shorter than `page_size` is the last.
  virtual absl::StatusOr<std::vector<writeback::v1::ProvisioningRecord>> ListLogAfter(
      const writeback::v1::ListProvisioningLogRequest& filter, int64_t after_id,
      size_t page_size) = 0;
  // Retention: deletes provisioning log / audit records older than
  // `before_ms` (time_ms < before_ms), in bounded batches, each its own
  // transaction, so that writers wait at most one batch. Returns how many
  // were deleted.
  virtual absl::StatusOr<int64_t> PruneLog(int64_t before_ms) = 0;
  virtual absl::StatusOr<int64_t> PruneAudit(int64_t before_ms) = 0;

  // Reconciliation (DESIGN §6).
  // The mailboxes of `forest` whose source anchor is one of `anchors` (an
  // indexed lookup; anchors without a mailbox are simply absent).
  virtual absl::StatusOr<std::vector<MailboxRecord>> FindMailboxesByAnchor(
      std::string_view forest, const std::vector<std::string>& anchors) = 0;
  // Drift records, newest first, filtered as the request says (its summary
  // flag is ignored; limit 0 means 100).
  virtual absl::StatusOr<std::vector<writeback::v1::DriftRecord>> ListDrift(
      const writeback::v1::ListDriftRequest& filter) = 0;
  // One row per mailbox and attribute of the matching drift records, the
  // most recently drifted first (limit 0 means 1000).
  virtual absl::StatusOr<std::vector<writeback::v1::DriftSummary>> SummarizeDrift(
      const writeback::v1::ListDriftRequest& filter) = 0;
  // Retention of drift records, as PruneLog.
  virtual absl::StatusOr<int64_t> PruneDrift(int64_t before_ms) = 0;
  // The high-water marks of the last complete pass that `agent_id` ran for
  // the forest, one per DC invocation id; SaveScanMarks replaces them all
  // (only when a pass completed). Per agent, because each agent scans its
  // own scope OUs: another agent's marks would skip OUs it never read.
  virtual absl::StatusOr<std::vector<ScanMark>> ListScanMarks(std::string_view forest,
                                                             std::string_view agent_id) = 0;
  virtual absl::Status SaveScanMarks(std::string_view forest, std::string_view agent_id,
                                     const std::vector<ScanMark>& marks) = 0;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_STORE_STORE_H_
