// LdapDirectory: the Directory (directory.h) over OpenLDAP's libldap.
//
//   LdapOptions options;
//   options.urls = {"ldaps://dc1.corp.example.test", "ldaps://dc2.corp.example.test"};
//   options.ca_file = "/etc/writeback/ad-ca.pem";
//   options.bind_dn = "CN=svc-writeback,OU=Service,DC=corp,DC=example,DC=test";
//   WB_ASSIGN_OR_RETURN(options.password, ReadSecretFile("/etc/writeback/ldap.password"));
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<LdapDirectory> dir,
//                       LdapDirectory::Connect(std::move(options)));
//   JobApplier applier(dir.get(), policy);
//
// Kerberos instead of a password (sasl_bind.h, kerberos.h):
//   options.urls = {"ldap://dc1.corp.example.test"};  // sealed by Kerberos
//   options.sasl_mechanism = "GSSAPI";
//   options.keytab_file = "/etc/writeback/agent.keytab";
//   options.principal = "svc-writeback@CORP.EXAMPLE.TEST";
//
// Security: TLS (ldaps:// or ldap:// with start_tls) verifies the DC's
// certificate against `ca_file` (or the system trust store when empty) and
// its host name, with TLS 1.2 at least; plain ldap:// is refused unless
// `insecure_plain` is set, except with GSSAPI, whose Kerberos sealing
// encrypts and protects plain ldap:// (over TLS the SASL layer is off, as AD
// requires). The password and the keytab's keys are never logged.
//
// Connections: one connection at a time, opened by Connect() and reopened on
// the next operation after it broke. (Re)connecting tries `urls` in order, so
// the first URL is the preferred DC and writes return to it after a failover.
// A Search that fails because a reused connection was dead is retried once on
// a fresh connection; a Modify is never resent once it may have reached a DC
// (its outcome is unknown), but a reused connection that the DC has visibly
// closed is replaced before the modify is sent.
//
// Timeouts: `timeout` bounds the TCP connect, the TLS handshake and bind, and
// each operation; an operation that times out is abandoned and its
// connection dropped (kDeadlineExceeded).
//
// Threading: one thread at a time calls Search/Modify/BaseDn/CurrentDc;
// Close() may be called from any thread at any time (see directory.h): it
// shuts the socket down under an operation in progress, which then fails with
// kUnavailable and is not retried. SIGPIPE raised by writes to a closed
// socket is blocked and discarded on the calling thread during libldap calls.
//
// Not copyable or movable.
#ifndef WRITEBACK_AGENT_DIRECTORY_LDAP_DIRECTORY_H_
#define WRITEBACK_AGENT_DIRECTORY_LDAP_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/directory/directory.h"
#include "agent/directory/ldap_observer.h"
#include "agent/directory/kerberos.h"

struct ldap;  // libldap's LDAP handle; ldap.h stays out of this header.

namespace writeback::agent {

struct LdapOptions {
  // DCs in order of preference: "ldaps://host[:port]" or "ldap://host[:port]".
  std::vector<std::string> urls;
  // Upgrade ldap:// URLs with the StartTLS extended operation.
  bool start_tls = false;
  // PEM file of the CA(s) that issued the DCs' certificates; empty: the
  // system trust store.
  std::string ca_file;
  // Simple bind; empty bind_dn: anonymous (tests only).
  std::string bind_dn;
  std::string password;
  // "" for the simple bind above, or "GSSAPI": Kerberos with the keys of
  // `principal` from `keytab_file` (see sasl_bind.h for the security layer
  // and the service principal ldap/<URL host>).
  std::string sasl_mechanism;
  std::string keytab_file;
  std::string principal;
  // krb5.conf to use (process-wide KRB5_CONFIG); empty: the system's.
  std::string krb5_config;
  // Allow ldap:// without StartTLS (passwords and data in clear text).
  bool insecure_plain = false;
  absl::Duration timeout = absl::Seconds(3);
  // Empty: read defaultNamingContext from the rootDSE at Connect().
  std::string base_dn;
  // Told about every bind, search and modify (metrics); not owned, may be
  // null; shared by the connections made from these options.
  LdapObserver* observer = nullptr;
};

class LdapDirectory : public Directory {
 public:
  // Validates `options` and opens the first connection (so configuration
  // errors show at startup). Errors: kInvalidArgument for bad options (plain
  // LDAP without insecure_plain, a bind DN without password, an unknown URL
  // scheme); kUnauthenticated when the DC refuses the credentials;
  // kUnavailable when no DC could be reached, naming each URL's failure
  // (including TLS certificate verification failures).
  static absl::StatusOr<std::unique_ptr<LdapDirectory>> Connect(
      LdapOptions options);

  ~LdapDirectory() override;
  LdapDirectory(const LdapDirectory&) = delete;
  LdapDirectory& operator=(const LdapDirectory&) = delete;

  absl::StatusOr<std::vector<DirectoryEntry>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override;
  absl::StatusOr<LdapResult> Modify(
      const std::string& dn, const std::vector<Modification>& mods) override;
  absl::StatusOr<int> StartModify(const std::string& dn,
                                  const std::vector<Modification>& mods) override;
  std::vector<Completion> PollModifies(absl::Duration wait) override;
  size_t OutstandingModifies() const override { return pending_.size() + failed_.size(); }
  std::string BaseDn() const override { return base_dn_; }
  std::string CurrentDc() const override;
  void Close() override;
  // Defined in ldap_paged.cc. SearchPaged keeps one connection for the
  // whole search; a sink that fails drops that connection (the server's
  // paging state goes with it).
  absl::Status SearchPaged(const std::string& base, const std::string& filter,
                           const std::vector<std::string>& attributes, int page_size,
                           const PageSink& sink) override;
  absl::StatusOr<DcState> ReadDcState(const std::string& base) override;
  // Defined in ldap_deleted.cc.
  absl::StatusOr<std::vector<DirectoryEntry>> SearchDeleted(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override;

 private:
  // A connection lent to the operating thread.
  struct Handle {
    struct ldap* ld = nullptr;
    uint64_t epoch = 0;  // epoch_ when it was lent
    bool fresh = false;  // dialled for this operation
    uint64_t serial = 0; // which connection (bumped on every dial)
  };
  // A modify sent by StartModify and not yet collected.
  // Tells options_.observer about one operation started at `start`.
  void Observe(LdapOperation op, int code, absl::Time start) const;
  struct Pending {
    int ticket = 0;
    std::string dn;
    absl::Time sent;
    uint64_t serial = 0;
  };
  // Completes every pending modify with `status` (into failed_).
  void FailPending(const absl::Status& status);

  explicit LdapDirectory(LdapOptions options);

  // Lends the open connection, or dials one through `urls` in order.
  absl::StatusOr<Handle> Acquire();
  // Takes the connection back; drops it if `broken` or if Close() was called
  // meanwhile. Returns true when Close() was called meanwhile.
  bool Release(const Handle& handle, bool broken);
  // Tries each URL in order; on success sets *url.
  absl::StatusOr<struct ldap*> Dial(std::string* url) const;
  absl::StatusOr<struct ldap*> DialOne(const std::string& url) const;

  const LdapOptions options_;
  std::string base_dn_;  // set by Connect(), immutable afterwards
  // GSSAPI only; set by Connect(). Refreshed before each bind.
  std::unique_ptr<KerberosCredentials> kerberos_;

  mutable absl::Mutex mu_;
  struct ldap* ld_ ABSL_GUARDED_BY(mu_) = nullptr;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;        // ld_'s socket
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // ld_ is lent out
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0; // bumped by Close()
  std::string current_dc_ ABSL_GUARDED_BY(mu_);
  uint64_t serial_ ABSL_GUARDED_BY(mu_) = 0;  // of ld_

  // Pipelining state: touched only by the operating thread.
  std::map<int, Pending> pending_;  // by message id on the current connection
  std::vector<Completion> failed_;  // completed by a broken connection
  int next_ticket_ = 0;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_LDAP_DIRECTORY_H_
