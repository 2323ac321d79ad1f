#include "agent/directory/kerberos.h"

#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace writeback::agent {
namespace {

// KRB5_CONFIG as exported by the first KerberosCredentials that set one.
absl::Mutex g_config_mu(absl::kConstInit);
std::string* g_config ABSL_GUARDED_BY(g_config_mu) = nullptr;

absl::Status ExportKrb5Config(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  absl::MutexLock lock(&g_config_mu);
  if (g_config != nullptr) {
    if (*g_config == path) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "Kerberos configuration ", path, " requested, but this process already uses ",
        *g_config, " (KRB5_CONFIG is process-wide): use one krb5.conf"));
  }
  if (access(path.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Kerberos configuration ", path, " cannot be read: ", std::strerror(errno)));
  }
  // The GSS library creates its own Kerberos contexts, which read the
  // configuration from KRB5_CONFIG only.
  setenv("KRB5_CONFIG", path.c_str(), /*overwrite=*/1);
  g_config = new std::string(path);
  return absl::OkStatus();
}

absl::Status CheckKeytabFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    std::string what = absl::StrCat("keytab ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(what);
    if (err == EACCES) return absl::PermissionDeniedError(what);
    return absl::FailedPreconditionError(what);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("keytab ", path, " is not a regular file"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keytab ", path, " holds the account's keys but is accessible by group or "
        "others: chmod 600 it"));
  }
  if (access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("keytab ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusCode CodeForInitCreds(krb5_error_code code) {
  switch (code) {
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_REALM_UNKNOWN:
      return absl::StatusCode::kUnavailable;
    case KRB5_KT_NOTFOUND:
    case KRB5_KT_KVNONOTFOUND:
    case KRB5_KT_END:
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
    case KRB5KDC_ERR_CLIENT_REVOKED:
    case KRB5KDC_ERR_KEY_EXP:
      return absl::StatusCode::kUnauthenticated;
    case ENOENT:
    case EACCES:
    case KRB5_KT_BADNAME:
    case KRB5_KT_FORMAT:
    case KRB5_KEYTAB_BADVNO:
    case KRB5_CONFIG_CANTOPEN:
    case KRB5_CONFIG_BADFORMAT:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

// What to check for a failure of krb5_get_init_creds_keytab.
const char* HintForInitCreds(krb5_error_code code, bool realm_config) {
  switch (code) {
    case KRB5_KT_NOTFOUND:
    case KRB5_KT_KVNONOTFOUND:
    case KRB5_KT_END:
      return "the keytab has no key for this principal: check the principal against "
             "`klist -k` of the keytab (is it another account's keytab?)";
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
      return "the KDC rejected the keytab's keys: the account's password was "
             "probably changed after the keytab was exported (compare the key "
             "version, `klist -k`, with the account's msDS-KeyVersionNumber) - "
             "export a new keytab";
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
      return "the KDC does not know this principal: check its spelling and realm "
             "(the account's userPrincipalName or sAMAccountName@REALM)";
    case KRB5KDC_ERR_CLIENT_REVOKED:
      return "the account is disabled or locked out";
    case KRB5KDC_ERR_KEY_EXP:
      return "the account's password has expired: reset it and export a new keytab";
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_REALM_UNKNOWN:
      return realm_config
                 ? "no KDC of the realm answered: check the realm's kdc entries in "
                   "the configured krb5.conf and that the KDCs are reachable"
                 : "no KDC of the realm answered: check the realm in /etc/krb5.conf "
                   "(or set ldap.krb5_config) and that the KDCs are reachable";
    default:
      return "check the keytab, the principal and the Kerberos configuration";
  }
}

}  // namespace

bool TicketRenewalDue(absl::Time start, absl::Time end, absl::Time now) {
  if (end <= start) return true;
  return now >= end - (end - start) / 4;
}

KerberosCredentials::KerberosCredentials(KerberosOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()) {}

KerberosCredentials::~KerberosCredentials() {
  if (context_ == nullptr) return;
  if (cache_ != nullptr) krb5_cc_destroy(context_, cache_);  // wipes the tickets
  if (client_ != nullptr) krb5_free_principal(context_, client_);
  krb5_free_context(context_);
}

std::string KerberosCredentials::ErrorText(int code) const {
  if (context_ == nullptr) return absl::StrCat("Kerberos error ", code);
  const char* text = krb5_get_error_message(context_, code);
  std::string out = text != nullptr ? text : absl::StrCat("Kerberos error ", code);
  krb5_free_error_message(context_, text);
  return out;
}

absl::StatusOr<std::unique_ptr<KerberosCredentials>> KerberosCredentials::Create(
    KerberosOptions options) {
  if (options.principal.empty()) {
    return absl::InvalidArgumentError(
        "Kerberos: no principal given for the keytab (e.g. svc-writeback@CORP.EXAMPLE.COM)");
  }
  if (options.keytab_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Kerberos: no keytab given for ", options.principal));
  }
  if (absl::Status s = CheckKeytabFile(options.keytab_file); !s.ok()) return s;
  if (absl::Status s = ExportKrb5Config(options.krb5_config); !s.ok()) return s;

  auto creds = absl::WrapUnique(new KerberosCredentials(std::move(options)));
  krb5_error_code code = krb5_init_context(&creds->context_);
  if (code != 0) {
    creds->context_ = nullptr;
    return absl::FailedPreconditionError(absl::StrCat(
        "Kerberos library cannot start (error ", code,
        "): check the Kerberos configuration (krb5.conf)"));
  }
  code = krb5_parse_name(creds->context_, creds->options_.principal.c_str(),
                         &creds->client_);
  if (code != 0) {
    creds->client_ = nullptr;
    return absl::InvalidArgumentError(absl::StrCat(
        "Kerberos principal '", creds->options_.principal, "': ", creds->ErrorText(code)));
  }
  static std::atomic<int> counter{0};
  creds->cache_name_ = absl::StrCat("MEMORY:writeback-", getpid(), "-", ++counter);
  code = krb5_cc_resolve(creds->context_, creds->cache_name_.c_str(), &creds->cache_);
  if (code != 0) {
    creds->cache_ = nullptr;
    return absl::InternalError(absl::StrCat("Kerberos: cannot create the credential cache ",
                                            creds->cache_name_, ": ",
                                            creds->ErrorText(code)));
  }
  return creds;
}

absl::StatusOr<bool> KerberosCredentials::Refresh() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  if (!invalidated_ && start_.has_value() && end_.has_value() &&
      !TicketRenewalDue(*start_, *end_, now)) {
    return false;
  }
  const std::string& principal = options_.principal;
  const std::string& keytab_file = options_.keytab_file;
  krb5_keytab keytab = nullptr;
  const std::string keytab_name = absl::StrCat("FILE:", keytab_file);
  krb5_error_code code = krb5_kt_resolve(context_, keytab_name.c_str(), &keytab);
  if (code != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Kerberos: keytab ", keytab_file, " for ", principal, ": ", ErrorText(code)));
  }
  krb5_get_init_creds_opt* opt = nullptr;
  code = krb5_get_init_creds_opt_alloc(context_, &opt);
  if (code != 0) {
    krb5_kt_close(context_, keytab);
    return absl::InternalError(absl::StrCat("Kerberos: ", ErrorText(code)));
  }
  if (options_.ticket_lifetime > absl::ZeroDuration()) {
    krb5_get_init_creds_opt_set_tkt_life(
        opt, static_cast<krb5_deltat>(absl::ToInt64Seconds(options_.ticket_lifetime)));
  }
  // Written into the cache only when the KDC issued a ticket: a failure
  // leaves the previous tickets in place.
  krb5_get_init_creds_opt_set_out_ccache(context_, opt, cache_);
  krb5_creds creds;
  std::memset(&creds, 0, sizeof(creds));
  code = krb5_get_init_creds_keytab(context_, &creds, client_, keytab,
                                    /*start_time=*/0, /*in_tkt_service=*/nullptr, opt);
  krb5_get_init_creds_opt_free(context_, opt);
  krb5_kt_close(context_, keytab);
  if (code != 0) {
    return absl::Status(
        CodeForInitCreds(code),
        absl::StrCat("Kerberos: no ticket for ", principal, " from keytab ", keytab_file,
                     ": ", ErrorText(code), "; ",
                     HintForInitCreds(code, !options_.krb5_config.empty())));
  }
  const absl::Time start = absl::FromTimeT(
      creds.times.starttime != 0 ? creds.times.starttime : creds.times.authtime);
  const absl::Time end = absl::FromTimeT(creds.times.endtime);
  krb5_free_cred_contents(context_, &creds);
  start_ = start;
  end_ = end;
  invalidated_ = false;
  WB_LOG(INFO) << "Kerberos: ticket for " << principal << " from keytab " << keytab_file
               << " valid until "
               << absl::FormatTime(absl::RFC3339_sec, end, absl::UTCTimeZone());
  return true;
}

void KerberosCredentials::Invalidate() {
  absl::MutexLock lock(&mu_);
  invalidated_ = true;
}

std::optional<absl::Time> KerberosCredentials::ExpiresAt() const {
  absl::MutexLock lock(&mu_);
  return end_;
}

KerberosCredentials::ScopedDefaultCache::ScopedDefaultCache(
    const KerberosCredentials& creds) {
  OM_uint32 minor = 0;
  const char* old = nullptr;
  if (gss_krb5_ccache_name(&minor, creds.cache_name_.c_str(), &old) == GSS_S_COMPLETE) {
    set_ = true;
    // `old` is valid only until the next call on this thread: copy it now.
    if (old != nullptr) previous_ = std::string(old);
  }
}

KerberosCredentials::ScopedDefaultCache::~ScopedDefaultCache() {
  if (!set_) return;
  OM_uint32 minor = 0;
  gss_krb5_ccache_name(&minor, previous_.has_value() ? previous_->c_str() : nullptr,
                       nullptr);
}

}  // namespace writeback::agent
