#include "agent/directory/sasl_bind.h"

#include <ldap.h>
#include <sasl/sasl.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/directory/ldap_errors.h"
#include "agent/directory/ldap_operations.h"
#include "common/base/log.h"

namespace writeback::agent::internal {
namespace {

// Minimum SASL security strength over plain LDAP: confidentiality (sealing),
// not integrity only.
constexpr ber_len_t kMinSealedSsf = 56;

// Answers every prompt of the GSSAPI mechanism with its default: the only
// one it asks is the authorization identity, which stays empty (act as the
// principal itself).
int AnswerWithDefaults(LDAP*, unsigned, void*, void* prompts) {
  for (auto* p = static_cast<sasl_interact_t*>(prompts); p->id != SASL_CB_LIST_END; ++p) {
    const char* value = p->defresult != nullptr ? p->defresult : "";
    p->result = value;
    p->len = static_cast<unsigned>(std::strlen(value));
  }
  return LDAP_SUCCESS;
}

std::string HostOf(const std::string& url) {
  LDAPURLDesc* desc = nullptr;
  if (ldap_url_parse(url.c_str(), &desc) != LDAP_URL_SUCCESS || desc == nullptr) {
    return url;
  }
  std::string host = desc->lud_host != nullptr ? desc->lud_host : "";
  ldap_free_urldesc(desc);
  return host;
}

// A refused bind (as opposed to a broken connection).
bool IsAuthFailure(int rc) {
  return rc == LDAP_LOCAL_ERROR || rc == LDAP_INVALID_CREDENTIALS ||
         rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_AUTH_UNKNOWN ||
         rc == LDAP_STRONG_AUTH_REQUIRED;
}

// A refused bind that a new ticket may cure (not a policy refusal).
bool TicketMayBeStale(int rc) {
  return rc == LDAP_LOCAL_ERROR || rc == LDAP_INVALID_CREDENTIALS;
}

std::string HintFor(const std::string& diagnostic, const std::string& spn, bool tls) {
  if (absl::StrContains(diagnostic, "Server not found in Kerberos database")) {
    return absl::StrCat("the KDC knows no service principal ", spn,
                        ": name the DC in the URL by a host name it has an SPN for "
                        "(normally its FQDN; no reverse-DNS canonicalization is done), "
                        "or register ", spn, " on the DC's computer account");
  }
  if (absl::StrContains(diagnostic, "Sign or Seal are required") && tls) {
    return "this DC refuses GSSAPI without Kerberos signing inside TLS (Samba before "
           "4.20 by default): use ldap:// (Kerberos seals the session), or set "
           "`ldap server require strong auth = allow_sasl_over_tls` on the DC";
  }
  if (absl::StrContains(diagnostic, "Sign or Seal are not allowed")) {
    return "the DC refuses Kerberos signing or sealing inside TLS";
  }
  if (absl::StrContains(diagnostic, "Clock skew")) {
    return "this host's clock and the KDC's differ too much: synchronize time (NTP)";
  }
  if (absl::StrContains(diagnostic, "Cannot contact any KDC")) {
    return "no KDC of the DC's realm answered: check krb5.conf";
  }
  return absl::StrCat("check the principal and its keytab, that ", spn,
                      " exists in the realm, and krb5.conf's realm for the host");
}

absl::Status BindOnce(LDAP* ld, const std::string& url, bool tls,
                      const KerberosCredentials& creds, int* rc_out) {
  const std::string spn = absl::StrCat("ldap/", HostOf(url));
  const std::string what = absl::StrCat("GSSAPI bind to ", url, " as ", creds.principal(),
                                        " (service principal ", spn, ")");
  // The service principal comes from the URL's host as written.
  int rc = ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON);
  if (rc != LDAP_OPT_SUCCESS) return LdapStatus(rc, absl::StrCat(what, ": SASL_NOCANON"));
  ber_len_t min_ssf = tls ? 0 : kMinSealedSsf;
  rc = ldap_set_option(ld, LDAP_OPT_X_SASL_SSF_MIN, &min_ssf);
  if (rc != LDAP_OPT_SUCCESS) return LdapStatus(rc, absl::StrCat(what, ": SASL minssf"));
  if (tls) {
    ber_len_t max_ssf = 0;  // no SASL layer inside TLS
    rc = ldap_set_option(ld, LDAP_OPT_X_SASL_SSF_MAX, &max_ssf);
    if (rc != LDAP_OPT_SUCCESS) return LdapStatus(rc, absl::StrCat(what, ": SASL maxssf"));
  }
  {
    KerberosCredentials::ScopedDefaultCache use(creds);
    if (!use.ok()) {
      return absl::InternalError(absl::StrCat(
          what, ": the GSS library did not accept the private credential cache"));
    }
    rc = ldap_sasl_interactive_bind_s(ld, /*dn=*/nullptr, "GSSAPI", nullptr, nullptr,
                                      LDAP_SASL_QUIET, AnswerWithDefaults, nullptr);
  }
  *rc_out = rc;
  if (rc != LDAP_SUCCESS) {
    const std::string diagnostic = Diagnostic(ld);
    const std::string hint = HintFor(diagnostic, spn, tls);
    absl::Status status = LdapStatus(rc, what, diagnostic);
    if (!IsAuthFailure(rc)) return status;
    return absl::UnauthenticatedError(absl::StrCat(status.message(), "; ", hint));
  }
  ber_len_t ssf = 0;
  ldap_get_option(ld, LDAP_OPT_X_SASL_SSF, &ssf);
  if (!tls && ssf < kMinSealedSsf) {
    // libldap enforces minssf; this guards against a library that does not.
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": the session is not sealed (SASL security strength ", ssf, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

bool UsesGssapi(const LdapOptions& options) {
  return absl::EqualsIgnoreCase(options.sasl_mechanism, "GSSAPI");
}

absl::Status ValidateSaslOptions(const LdapOptions& o) {
  if (o.sasl_mechanism.empty()) return absl::OkStatus();
  if (!UsesGssapi(o)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LDAP SASL mechanism '", o.sasl_mechanism,
        "' is not supported: use GSSAPI, or none for a simple bind"));
  }
  if (!o.bind_dn.empty() || !o.password.empty()) {
    return absl::InvalidArgumentError(
        "LDAP: a GSSAPI bind authenticates with the keytab; remove the bind DN and "
        "password");
  }
  if (o.keytab_file.empty() || o.principal.empty()) {
    return absl::InvalidArgumentError(
        "LDAP: a GSSAPI bind needs a keytab file and the principal whose keys it holds");
  }
  return absl::OkStatus();
}

KerberosOptions KerberosOptionsFor(const LdapOptions& options) {
  KerberosOptions k;
  k.keytab_file = options.keytab_file;
  k.principal = options.principal;
  k.krb5_config = options.krb5_config;
  return k;
}

absl::Status GssapiBind(LDAP* ld, const std::string& url, bool tls,
                        KerberosCredentials* creds) {
  absl::StatusOr<bool> fresh = creds->Refresh();
  if (!fresh.ok()) return fresh.status();
  int rc = LDAP_SUCCESS;
  absl::Status status = BindOnce(ld, url, tls, *creds, &rc);
  if (status.ok() || *fresh || !TicketMayBeStale(rc)) return status;
  // The cached tickets may be what the DC refuses (keys changed, a ticket
  // revoked): start over from the keytab once.
  WB_LOG(WARNING) << "LDAP GSSAPI bind refused, retrying with a new ticket" << LogField("dc", url)
                  << LogError(status)
                  << LogHint("if it fails again, export a fresh keytab for the account");
  creds->Invalidate();
  fresh = creds->Refresh();
  if (!fresh.ok()) return fresh.status();
  return BindOnce(ld, url, tls, *creds, &rc);
}

}  // namespace writeback::agent::internal
