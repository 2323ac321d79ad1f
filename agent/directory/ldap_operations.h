// Internal to LdapDirectory: one LDAP operation on an open libldap handle,
// with its result turned into DirectoryEntry / LdapResult / absl::Status.
// No connection management here: the caller owns the handle, and drops it
// when an operation fails with a client-side (negative) LDAP code.
#ifndef WRITEBACK_AGENT_DIRECTORY_LDAP_OPERATIONS_H_
#define WRITEBACK_AGENT_DIRECTORY_LDAP_OPERATIONS_H_

#include <ldap.h>
#include <pthread.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/directory/directory.h"

namespace writeback::agent::internal {

// Blocks SIGPIPE on the calling thread for the scope's lifetime and discards
// any SIGPIPE raised meanwhile (libldap writes to sockets that a peer or
// Close() may have shut down; such writes must fail with EPIPE, not kill the
// process).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_here_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0 &&
                    sigismember(&old_, SIGPIPE) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_here_) return;
    if (!was_pending_) {
      struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
  bool blocked_here_ = false;
};

// The handle's last diagnostic message ("" when none).
std::string Diagnostic(LDAP* ld);

// Search with `scope` (LDAP_SCOPE_BASE / LDAP_SCOPE_SUBTREE); waits at most
// `timeout` for the whole result, then abandons it (kDeadlineExceeded).
// sizeLimitExceeded returns the entries received; references are skipped.
absl::StatusOr<std::vector<DirectoryEntry>> SearchOn(
    LDAP* ld, const std::string& base, int scope, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit,
    absl::Duration timeout);

// One page of a paged subtree search (RFC 2696, critical control): sends
// `*cookie` (empty for the first page) and replaces it with the server's
// cookie for the next page (empty: that was the last page).
absl::StatusOr<std::vector<DirectoryEntry>> SearchPageOn(
    LDAP* ld, const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int page_size, std::string* cookie,
    absl::Duration timeout);

// Sends one modify without waiting; returns its message id.
absl::StatusOr<int> SendModify(LDAP* ld, const std::string& dn,
                               const std::vector<Modification>& mods);

// Turns a modify response into an LdapResult (frees `message`).
absl::StatusOr<LdapResult> ParseModifyResult(LDAP* ld, LDAPMessage* message,
                                             const std::string& dn);

// One modify; a server-side failure is a non-zero LdapResult::code.
absl::StatusOr<LdapResult> ModifyOn(LDAP* ld, const std::string& dn,
                                    const std::vector<Modification>& mods,
                                    absl::Duration timeout);

}  // namespace writeback::agent::internal

#endif  // WRITEBACK_AGENT_DIRECTORY_LDAP_OPERATIONS_H_
