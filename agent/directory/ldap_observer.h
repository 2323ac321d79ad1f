// What LdapDirectory tells an observer (the agent's metrics) about each LDAP
// operation: which, its result code and how long it took. Called on the
// thread that ran the operation; implementations are thread-safe and quick.
//
//   LdapOptions o;
//   o.observer = &agent_metrics;   // not owned; outlives every connection
#ifndef WRITEBACK_AGENT_DIRECTORY_LDAP_OBSERVER_H_
#define WRITEBACK_AGENT_DIRECTORY_LDAP_OBSERVER_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace writeback::agent {

enum class LdapOperation { kBind, kSearch, kModify };

// "bind", "search", "modify".
inline const char* LdapOperationName(LdapOperation op) {
  switch (op) {
    case LdapOperation::kBind:
      return "bind";
    case LdapOperation::kSearch:
      return "search";
    case LdapOperation::kModify:
      return "modify";
  }
  return "unknown";
}

class LdapObserver {
 public:
  virtual ~LdapObserver() = default;
  // `code`: the LDAP result code (0 success; negative: libldap's client
  // codes, e.g. -1 serverDown, -5 timeout, for a lost connection).
  virtual void OnLdapOperation(LdapOperation op, int code, absl::Duration latency) = 0;
};

// The LDAP code a Directory status carries (ldap_errors.h LdapCodeOf): 0 for
// OK, -5 (timeout) for kDeadlineExceeded without a code, otherwise -1
// (serverDown: the connection failed).
int StatusLdapCode(const absl::Status& status);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_LDAP_OBSERVER_H_
