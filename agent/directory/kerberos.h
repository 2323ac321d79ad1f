// KerberosCredentials: the agent's own Kerberos identity, taken from a keytab
// (the gMSA equivalent of a domain-joined Linux server) into a private
// in-memory credential cache, for SASL GSSAPI binds (sasl_bind.h).
//
//   KerberosOptions options;
//   options.keytab_file = "/etc/writeback/agent.keytab";
//   options.principal = "svc-writeback@CORP.EXAMPLE.COM";
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<KerberosCredentials> creds,
//                       KerberosCredentials::Create(options));
//   WB_ASSIGN_OR_RETURN(bool fresh, creds->Refresh());  // before each bind
//   {
//     KerberosCredentials::ScopedDefaultCache use(*creds);
//     ldap_sasl_interactive_bind_s(ld, ..., "GSSAPI", ...);
//   }
//
// Renewal: Refresh() gets a new ticket-granting ticket from the keytab when
// there is none, when less than a quarter of its lifetime remains (so a DC
// never sees an expired ticket, and a KDC outage has hours to pass before it
// matters), or after Invalidate() (the caller saw an authentication failure
// that fresh keys may cure). Tickets are re-acquired from the keytab rather
// than renewed: the keytab never expires, a renewable lifetime does.
//
// Where tickets live: a MEMORY: cache private to this object, destroyed with
// it; nothing is written to disk, the environment of child processes never
// names it, and the process's default cache (KRB5CCNAME) is not touched.
// GSSAPI finds it through ScopedDefaultCache, which points the Kerberos GSS
// mechanism's default cache at it for the calling thread only.
//
// Process-wide state: `krb5_config`, when given, is exported as KRB5_CONFIG
// at Create() (the GSS library reads its configuration from there only);
// creating a second object with a different krb5_config fails with
// kFailedPrecondition.
//
// Secrets: the keytab holds keys; they never leave the Kerberos library. No
// key, ticket or password is logged.
//
// Thread safety: Refresh/Invalidate/ExpiresAt are thread-safe; a
// ScopedDefaultCache affects only its own thread. A Refresh that replaces the
// tickets while another thread binds with them makes that bind fail (the
// caller retries); LdapDirectory binds on one thread at a time.
//
// Not copyable or movable.
#ifndef WRITEBACK_AGENT_DIRECTORY_KERBEROS_H_
#define WRITEBACK_AGENT_DIRECTORY_KERBEROS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"

// MIT krb5's handle types; krb5.h stays out of this header.
struct _krb5_context;
struct _krb5_ccache;
struct krb5_principal_data;

namespace writeback::agent {

struct KerberosOptions {
  // Keytab holding the account's current keys ("samba-tool domain
  // exportkeytab", "ktpass", or the host's keytab).
  std::string keytab_file;
  // The account's principal as written in the keytab ("klist -k"), e.g.
  // "svc-writeback@CORP.EXAMPLE.COM"; a principal without "@REALM" takes
  // the default realm of the Kerberos configuration.
  std::string principal;
  // Kerberos configuration file; empty: the system's (/etc/krb5.conf, or
  // $KRB5_CONFIG).
  std::string krb5_config;
  // Requested ticket lifetime; zero: the KDC's and krb5.conf's default.
  absl::Duration ticket_lifetime = absl::ZeroDuration();
  // Decides when tickets are due for renewal; nullptr: the real clock.
  Clock* clock = nullptr;
};

// When a ticket valid from `start` to `end` is due for re-acquisition at
// `now`: when less than a quarter of its lifetime remains.
bool TicketRenewalDue(absl::Time start, absl::Time end, absl::Time now);

class KerberosCredentials {
 public:
  // Validates the options (the keytab must be a readable regular file, not
  // readable or writable by group or others) and prepares the private cache;
  // gets no ticket yet. Errors: kInvalidArgument (empty or malformed
  // principal), kNotFound / kPermissionDenied / kFailedPrecondition (the
  // keytab file), kFailedPrecondition (a different KRB5_CONFIG already set
  // by another KerberosCredentials), kInternal (the Kerberos library failed).
  static absl::StatusOr<std::unique_ptr<KerberosCredentials>> Create(
      KerberosOptions options);

  // Destroys the private cache and the tickets in it.
  ~KerberosCredentials();
  KerberosCredentials(const KerberosCredentials&) = delete;
  KerberosCredentials& operator=(const KerberosCredentials&) = delete;

  // Makes sure a ticket-granting ticket that is not due for renewal is in the
  // cache (see the renewal policy above). Returns true when it just got one
  // from the KDC. On failure the previous tickets (if any) stay in place.
  // Errors name the principal and the keytab and say what to check:
  //   kUnauthenticated  the keys do not get a ticket: the keytab has no key
  //                     for the principal (another account's keytab), the
  //                     KDC refused them (stale keytab after a password
  //                     reset), or the account is unknown, disabled or
  //                     expired
  //   kUnavailable      no KDC of the realm answered
  //   kFailedPrecondition  the keytab or the Kerberos configuration cannot
  //                     be read
  absl::StatusOr<bool> Refresh();

  // Makes the next Refresh() get a new ticket whatever the current one's age.
  void Invalidate();

  // End of the current ticket-granting ticket's validity, if there is one.
  std::optional<absl::Time> ExpiresAt() const;

  const std::string& principal() const { return options_.principal; }
  const std::string& keytab_file() const { return options_.keytab_file; }
  // "MEMORY:writeback-..." (no secret: names the cache, not its content).
  const std::string& cache_name() const { return cache_name_; }

  // Points the Kerberos GSS mechanism's default credential cache at `creds`'
  // cache on the calling thread for the scope's lifetime (then restores the
  // previous setting).
  class ScopedDefaultCache {
   public:
    explicit ScopedDefaultCache(const KerberosCredentials& creds);
    ~ScopedDefaultCache();
    ScopedDefaultCache(const ScopedDefaultCache&) = delete;
    ScopedDefaultCache& operator=(const ScopedDefaultCache&) = delete;
    // False when the GSS library refused the setting: do not bind then (the
    // bind would use whatever default cache the process has).
    bool ok() const { return set_; }

   private:
    std::optional<std::string> previous_;  // nullopt: the library default
    bool set_ = false;
  };

 private:
  explicit KerberosCredentials(KerberosOptions options);

  // Describes krb5 error `code` from the last call on context_.
  std::string ErrorText(int code) const;

  const KerberosOptions options_;
  Clock* const clock_;
  std::string cache_name_;
  struct _krb5_context* context_ = nullptr;
  struct krb5_principal_data* client_ = nullptr;
  struct _krb5_ccache* cache_ = nullptr;

  mutable absl::Mutex mu_;
  std::optional<absl::Time> start_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> end_ ABSL_GUARDED_BY(mu_);
  bool invalidated_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_KERBEROS_H_
