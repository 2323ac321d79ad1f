// Internal to LdapDirectory: one LDAP operation on an open libldap handle,
// with its result turned into DirectoryEntry / LdapResult / absl::Status.
// No connection management here: the caller owns the handle, and drops it
// when an operation fails with a client-side (negative) LDAP code.
#ifndef WRITEBACK_AGENT_DIRECTORY_LDAP_OPERATIONS_H_
#define WRITEBACK_AGENT_DIRECTORY_LDAP_OPERATIONS_H_

#include <ldap.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/directory/directory.h"

namespace writeback::agent::internal {

// The handle's last diagnostic message ("" when none).
std::string Diagnostic(LDAP* ld);

// Search with `scope` (LDAP_SCOPE_BASE / LDAP_SCOPE_SUBTREE); waits at most
// `timeout` for the whole result, then abandons it (kDeadlineExceeded).
// sizeLimitExceeded returns the entries received; references are skipped.
absl::StatusOr<std::vector<DirectoryEntry>> SearchOn(
    LDAP* ld, const std::string& base, int scope, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit,
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
