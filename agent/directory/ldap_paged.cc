// LdapDirectory::SearchPaged and ReadDcState: what reconciliation scans need
// (DESIGN §6), kept apart from the connection code in ldap_directory.cc.
#include <ldap.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/directory/ldap_directory.h"
#include "agent/directory/ldap_errors.h"
#include "agent/directory/ldap_operations.h"
#include "common/base/status_macros.h"
#include "common/identity/anchor.h"

namespace writeback::agent {
namespace {

// A client-side failure after which the connection is unusable.
bool IsConnectionFailure(const absl::Status& s) {
  std::optional<int> code = LdapCodeOf(s);
  return code.has_value() && *code < 0;
}

const std::string* First(const DirectoryEntry& entry, const std::string& lower_name) {
  auto it = entry.attributes.find(lower_name);
  return it == entry.attributes.end() || it->second.empty() ? nullptr : &it->second[0];
}

// rootDSE dsServiceName and highestCommittedUSN, then the invocationId of
// the NTDS Settings object that dsServiceName names.
absl::StatusOr<DcState> ReadStateOn(LDAP* ld, absl::Duration timeout) {
  absl::StatusOr<std::vector<DirectoryEntry>> root = internal::SearchOn(
      ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", {"dsServiceName", "highestCommittedUSN"}, 1,
      timeout);
  if (!root.ok()) return root.status();
  const std::string* service = root->empty() ? nullptr : First((*root)[0], "dsservicename");
  const std::string* usn = root->empty() ? nullptr : First((*root)[0], "highestcommittedusn");
  DcState state;
  if (service == nullptr || usn == nullptr ||
      !absl::SimpleAtoi(*usn, &state.highest_committed_usn)) {
    return absl::FailedPreconditionError(
        "the DC's rootDSE has no dsServiceName or highestCommittedUSN");
  }
  absl::StatusOr<std::vector<DirectoryEntry>> settings = internal::SearchOn(
      ld, *service, LDAP_SCOPE_BASE, "(objectClass=*)", {"invocationId"}, 1, timeout);
  if (!settings.ok()) return settings.status();
  const std::string* id = settings->empty() ? nullptr : First((*settings)[0], "invocationid");
  state.invocation_id = id == nullptr ? "" : AnchorToGuidString(*id);
  if (state.invocation_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the DC's NTDS Settings object ", *service, " has no invocationId"));
  }
  return state;
}

}  // namespace

absl::Status LdapDirectory::SearchPaged(const std::string& base, const std::string& filter,
                                        const std::vector<std::string>& attributes,
                                        int page_size, const PageSink& sink) {
  internal::ScopedSigpipeBlock block;
  std::string cookie;
  for (int attempt = 0;; ++attempt) {
    WB_ASSIGN_OR_RETURN(Handle handle, Acquire());
    const std::string dc = CurrentDc();
    bool broken = false;
    bool first = true;
    absl::Status status = absl::OkStatus();
    do {
      const absl::Time start = absl::Now();
      absl::StatusOr<std::vector<DirectoryEntry>> entries = internal::SearchPageOn(
          handle.ld, base, filter, attributes, page_size, &cookie, options_.timeout);
      Observe(LdapOperation::kSearch, StatusLdapCode(entries.status()), start);
      if (!entries.ok()) {
        broken = IsConnectionFailure(entries.status());
        status = entries.status();
        break;
      }
      first = false;
      status = sink(SearchPage{dc, std::move(*entries)});
      // The server keeps paging state for an unfinished search: drop it
      // with the connection.
      if (!status.ok()) broken = !cookie.empty();
    } while (status.ok() && !cookie.empty());
    const bool closed = Release(handle, broken);
    // As Search: a reused connection that died while idle is replaced once,
    // but only before any page was delivered (the pages cannot move to
    // another connection).
    const bool dead_idle = broken && first && !handle.fresh && !closed && attempt == 0 &&
                           status.code() == absl::StatusCode::kUnavailable;
    if (!dead_idle) return status;
    cookie.clear();
  }
}

absl::StatusOr<DcState> LdapDirectory::ReadDcState(const std::string& base) {
  (void)base;  // one domain: the connected DC answers every base
  internal::ScopedSigpipeBlock block;
  for (int attempt = 0;; ++attempt) {
    WB_ASSIGN_OR_RETURN(Handle handle, Acquire());
    const std::string dc = CurrentDc();
    absl::StatusOr<DcState> state = ReadStateOn(handle.ld, options_.timeout);
    const bool broken = !state.ok() && IsConnectionFailure(state.status());
    const bool closed = Release(handle, broken);
    const bool dead_idle = broken && !handle.fresh && !closed && attempt == 0 &&
                           state.status().code() == absl::StatusCode::kUnavailable;
    if (dead_idle) continue;
    if (state.ok()) state->dc = dc;
    return state;
  }
}

}  // namespace writeback::agent
