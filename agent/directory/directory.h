// The seam between job logic and LDAP. JobApplier talks to a Directory;
// production code passes an LdapDirectory (ldap_directory.h), unit tests an
// in-memory fake (tests/agent/apply/fake_directory.h).
//
//   WB_ASSIGN_OR_RETURN(std::vector<DirectoryEntry> hits,
//                       dir->Search(dir->BaseDn(), "(objectGUID=\\01...)",
//                                   {"mail", "proxyAddresses"}, 2));
//   WB_ASSIGN_OR_RETURN(LdapResult r,
//       dir->Modify(hits[0].dn, {{ModOp::kDelete, "mail", {"old@x"}},
//                                {ModOp::kAdd, "mail", {"new@x"}}}));
//   if (r.code != 0) ...  // see ldap_errors.h for what the code means
#ifndef WRITEBACK_AGENT_DIRECTORY_DIRECTORY_H_
#define WRITEBACK_AGENT_DIRECTORY_DIRECTORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace writeback::agent {

// One search hit. Attribute keys are the attribute names lower-cased (LDAP
// attribute names are case-insensitive); values are the raw bytes the
// directory returned (binary attributes such as objectGUID are not encoded).
struct DirectoryEntry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attributes;
};

enum class ModOp { kAdd, kDelete, kReplace };

// One item of an LDAP modify. kDelete with no values deletes the attribute.
struct Modification {
  ModOp op;
  std::string attribute;
  std::vector<std::string> values;
};

// The server's answer to one operation. code 0 means success; any other value
// is an LDAP result code (classify it with ClassifyLdapCode()).
struct LdapResult {
  int code = 0;
  std::string diagnostic;
  std::string matched_dn;
};

// One page of a paged search (Directory::SearchPaged).
struct SearchPage {
  // The DC that answered (the same for every page of one search).
  std::string dc;
  std::vector<DirectoryEntry> entries;
};

// Where a DC's database stands (Directory::ReadDcState), for the high-water
// marks of reconciliation passes (DESIGN §6).
struct DcState {
  // The DC's LDAP URL, as CurrentDc() names it.
  std::string dc;
  // The invocationId of the DC's NTDS Settings object, as a lower-case GUID
  // string; it changes when the DC's database is restored.
  std::string invocation_id;
  // The rootDSE's highestCommittedUSN.
  int64_t highest_committed_usn = 0;
};

// Used from one thread at a time, except Close(), which any thread may call at
// any time.
class Directory {
 public:
  virtual ~Directory() = default;

  // Subtree search under `base`, returning at most `size_limit` entries
  // (0: no limit) with the requested `attributes`. A search that hit the size
  // limit returns the entries it got. Continuation references are skipped.
  // Errors: kUnavailable when no DC answers (after failing over through the
  // list), kDeadlineExceeded on timeout, otherwise the mapping of
  // LdapStatus() (ldap_errors.h).
  virtual absl::StatusOr<std::vector<DirectoryEntry>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) = 0;

  // One LDAP modify operation, applied atomically by the server. A server-side
  // failure is an LdapResult with a non-zero code; a client-side failure
  // (connection lost, timeout) is a non-OK Status, in which case the modify
  // may or may not have reached the directory. Never retried internally.
  virtual absl::StatusOr<LdapResult> Modify(
      const std::string& dn, const std::vector<Modification>& mods) = 0;

  // The default naming context (for example "DC=corp,DC=example,DC=test").
  virtual std::string BaseDn() const = 0;

  // The URL of the DC in use (or last used), for results and logs.
  virtual std::string CurrentDc() const = 0;

  // Thread-safe hard close, used for fencing: once Close() returns, nothing
  // that a caller had not yet sent can reach the directory over the closed
  // connection; an operation in progress fails. Operations started after
  // Close() reconnect.
  virtual void Close() = 0;

  // Pipelining (agent/apply/pipelined_applier.h). Sends one modify without
  // waiting for its result and returns a ticket for it. A non-OK status
  // means it was not sent.
  virtual absl::StatusOr<int> StartModify(const std::string& dn,
                                          const std::vector<Modification>& mods) = 0;

  // The result of a modify started with StartModify.
  struct Completion {
    int ticket = 0;
    // As Modify(): a server-side failure is a non-zero code; a non-OK
    // status means the connection failed or timed out with the modify
    // outstanding (it may or may not have been applied).
    absl::StatusOr<LdapResult> result;
  };
  // Collects finished modifies, waiting at most `wait` for the first one.
  // When the connection breaks, is closed, or a modify outlives the
  // operation timeout, every outstanding ticket completes with a non-OK
  // status and the connection is dropped.
  virtual std::vector<Completion> PollModifies(absl::Duration wait) = 0;
  // Modifies started and not yet returned by PollModifies.
  virtual size_t OutstandingModifies() const = 0;

  // Like Search, with the Show Deleted control (1.2.840.113556.1.4.417), so
  // that deleted objects (tombstones in CN=Deleted Objects, isDeleted=TRUE)
  // match too, besides live ones. Used to tell "deleted" from "not found".
  // The default finds nothing.
  virtual absl::StatusOr<std::vector<DirectoryEntry>> SearchDeleted(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) {
    (void)base, (void)filter, (void)attributes, (void)size_limit;
    return std::vector<DirectoryEntry>();
  }

  // Paged subtree search (RFC 2696 simple paged results, critical): calls
  // `sink` once per page the server returns, in order, at least once (an
  // empty result is one empty page), with at most about `page_size`
  // entries. A sink that returns non-OK stops the search and its status is
  // returned. The whole search runs on one connection to one DC (a paged
  // search cannot move); a failure mid-way fails it (errors as Search).
  // The sink must not use this directory. The default runs one Search and
  // cuts its result into pages (for fakes).
  using PageSink = std::function<absl::Status(SearchPage page)>;
  virtual absl::Status SearchPaged(const std::string& base, const std::string& filter,
                                   const std::vector<std::string>& attributes,
                                   int page_size, const PageSink& sink) {
    absl::StatusOr<std::vector<DirectoryEntry>> all = Search(base, filter, attributes, 0);
    if (!all.ok()) return all.status();
    const size_t size = page_size > 0 ? static_cast<size_t>(page_size) : all->size() + 1;
    size_t i = 0;
    do {
      SearchPage page{CurrentDc(), {}};
      for (; i < all->size() && page.entries.size() < size; ++i) {
        page.entries.push_back(std::move((*all)[i]));
      }
      if (absl::Status s = sink(std::move(page)); !s.ok()) return s;
    } while (i < all->size());
    return absl::OkStatus();
  }

  // The state of the DC that answers searches under `base`: its
  // invocationId (rootDSE dsServiceName -> that object's invocationId) and
  // highestCommittedUSN. Errors as Search. The default: kUnimplemented.
  virtual absl::StatusOr<DcState> ReadDcState(const std::string& base) {
    (void)base;
    return absl::UnimplementedError("this directory cannot report its DC's state");
  }
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_DIRECTORY_H_
