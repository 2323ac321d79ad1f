// Internal to LdapDirectory: the SASL GSSAPI (Kerberos) bind of an open
// libldap connection, with the agent's keytab credentials (kerberos.h).
//
// Security layer: over ldap:// the bind negotiates Kerberos sealing (SASL
// security strength of at least 56; in practice 256, AES), so the session is
// encrypted and integrity-protected without TLS: that is why plain ldap://
// with GSSAPI needs no insecure flag. Over ldaps:// or StartTLS the SASL
// layer is switched off (maxssf=0): AD and Samba refuse Kerberos signing or
// sealing inside TLS ("Sign or Seal are not allowed if TLS is used"). Samba
// before 4.20 also refuses GSSAPI binds without a SASL layer over TLS unless
// `ldap server require strong auth = allow_sasl_over_tls`; Windows AD
// accepts them.
//
// Service principal: ldap/<host as written in the URL>; the host is never
// canonicalized by reverse DNS (LDAP_OPT_X_SASL_NOCANON), so the URL must
// name the DC by a name it has an SPN for (normally its FQDN).
#ifndef WRITEBACK_AGENT_DIRECTORY_SASL_BIND_H_
#define WRITEBACK_AGENT_DIRECTORY_SASL_BIND_H_

#include <ldap.h>

#include <string>

#include "absl/status/status.h"
#include "agent/directory/kerberos.h"
#include "agent/directory/ldap_directory.h"

namespace writeback::agent::internal {

// Whether `options` ask for a GSSAPI bind (sasl_mechanism "GSSAPI", any case).
bool UsesGssapi(const LdapOptions& options);

// Checks the SASL fields of `options`: sasl_mechanism "" or "GSSAPI";
// GSSAPI needs keytab_file and principal and excludes bind_dn / password.
absl::Status ValidateSaslOptions(const LdapOptions& options);

// The KerberosOptions for `options` (GSSAPI only).
KerberosOptions KerberosOptionsFor(const LdapOptions& options);

// Binds `ld` (connected to `url`; `tls` when TLS is already running on it)
// with GSSAPI as creds->principal(). Refreshes the ticket first (see
// kerberos.h); when a bind with an older ticket is refused, gets a new one
// and binds once more. Errors name the URL, the principal and the service
// principal, and say what to check:
//   kUnauthenticated  the keytab gets no ticket, the KDC has no service
//                     principal for the URL's host, or the DC refused the
//                     bind (including a DC that requires another security
//                     layer)
//   kUnavailable      no KDC answered, or the connection broke
absl::Status GssapiBind(LDAP* ld, const std::string& url, bool tls,
                        KerberosCredentials* creds);

}  // namespace writeback::agent::internal

#endif  // WRITEBACK_AGENT_DIRECTORY_SASL_BIND_H_
