// SqliteStore's bulk import and the status-filtered mailbox list.
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "controller/store/sqlite_mailbox_rows.h"
#include "controller/store/sqlite_store.h"

namespace writeback::controller {
namespace {

using store_internal::ReadMailboxRows;
using store_internal::SelectMailboxSql;
using store_internal::SqlLimitOf;
using store_internal::UpdateMailboxRow;
using store_internal::WriteMailboxRow;

absl::StatusOr<bool> IsRegistered(SqliteDb& db, const std::string& cloud_id) {
  WB_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT 1 FROM mailboxes WHERE cloud_id = ?1"));
  st.BindText(1, cloud_id);
  return st.Step();
}

// Returned by the transaction's body to roll back on purpose.
constexpr char kRollBack[] = "import rolled back on purpose";

}  // namespace

absl::StatusOr<std::vector<absl::StatusOr<bool>>> SqliteStore::ImportMailboxes(
    const std::vector<MailboxImport>& entries, bool commit) {
  std::vector<absl::StatusOr<bool>> results;
  if (entries.empty()) return results;
  absl::Status done = Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    results.clear();
    results.reserve(entries.size());
    bool all_ok = true;
    for (const MailboxImport& entry : entries) {
      WB_ASSIGN_OR_RETURN(bool registered, IsRegistered(db, entry.added.cloud_id));
      if (registered) {
        absl::StatusOr<MailboxRecord> updated;
        WB_RETURN_IF_ERROR(UpdateMailboxRow(db, entry.added.cloud_id, entry.update, &updated));
        if (updated.ok()) {
          results.push_back(false);
        } else {
          results.push_back(updated.status());
        }
      } else {
        absl::Status refused;
        WB_RETURN_IF_ERROR(WriteMailboxRow(db, entry.added,
                                           /*new_mailbox=*/true, &refused));
        if (refused.ok()) {
          results.push_back(true);
        } else {
          results.push_back(refused);
        }
      }
      all_ok = all_ok && results.back().ok();
    }
    if (!commit || !all_ok) return absl::AbortedError(kRollBack);
    return absl::OkStatus();
  });
  if (!done.ok() && !(done.code() == absl::StatusCode::kAborted && done.message() == kRollBack)) {
    return done;
  }
  return results;
}

absl::StatusOr<std::vector<MailboxRecord>> SqliteStore::ListMailboxesInStatus(
    std::string_view forest, const std::vector<writeback::v1::MailboxStatus>& statuses,
    size_t limit) {
  std::vector<MailboxRecord> mailboxes;
  std::vector<int> codes;
  for (auto s : statuses) codes.push_back(static_cast<int>(s));
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    std::string where = forest.empty() ? "WHERE 1 " : "WHERE forest = ?1 ";
    if (!codes.empty()) absl::StrAppend(&where, "AND status IN (", absl::StrJoin(codes, ","), ") ");
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(SelectMailboxSql(absl::StrCat(where, "ORDER BY cloud_id LIMIT ?2"))));
    if (!forest.empty()) st.BindText(1, forest);
    st.BindInt(2, SqlLimitOf(limit));
    WB_ASSIGN_OR_RETURN(mailboxes, ReadMailboxRows(st));
    return absl::OkStatus();
  }));
  return mailboxes;
}

}  // namespace writeback::controller
