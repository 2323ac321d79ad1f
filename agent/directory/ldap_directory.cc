#include "agent/directory/ldap_directory.h"

#include <ldap.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/directory/ldap_errors.h"
#include "agent/directory/ldap_operations.h"
#include "agent/directory/sasl_bind.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"

namespace writeback::agent {
namespace {

using internal::ScopedSigpipeBlock;

void Unbind(LDAP* ld) {
  if (ld != nullptr) ldap_unbind_ext(ld, nullptr, nullptr);
}
struct HandleUnbind {
  void operator()(LDAP* ld) const { Unbind(ld); }
};
using OwnedLdap = std::unique_ptr<LDAP, HandleUnbind>;



bool IsTls(const std::string& url) {
  return absl::StartsWithIgnoreCase(url, "ldaps://");
}

absl::Status ValidateOptions(const LdapOptions& o) {
  if (o.urls.empty()) {
    return absl::InvalidArgumentError("LDAP: no domain controller URL given");
  }
  for (const std::string& url : o.urls) {
    if (url.find_first_of(" \t\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("LDAP URL '", url, "': give one URL per entry"));
    }
    if (IsTls(url)) continue;
    if (!absl::StartsWithIgnoreCase(url, "ldap://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LDAP URL '", url, "': only ldaps:// and ldap:// are supported"));
    }
    // GSSAPI seals plain LDAP itself (sasl_bind.h).
    if (!o.start_tls && !o.insecure_plain && !internal::UsesGssapi(o)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing plain LDAP to ", url,
          ": credentials and data would travel unencrypted; use ldaps://, "
          "enable StartTLS, or set the insecure plain-LDAP flag explicitly"));
    }
  }
  WB_RETURN_IF_ERROR(internal::ValidateSaslOptions(o));
  if (!o.bind_dn.empty() && o.password.empty()) {
    // An empty password would make a simple bind "unauthenticated": it
    // succeeds as anonymous on many servers.
    return absl::InvalidArgumentError(
        absl::StrCat("LDAP bind DN ", o.bind_dn, " given without a password"));
  }
  if (o.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("LDAP timeout must be positive");
  }
  return absl::OkStatus();
}

absl::Status SetOption(LDAP* ld, int option, const void* value,
                       const char* name) {
  int rc = ldap_set_option(ld, option, value);
  if (rc != LDAP_OPT_SUCCESS) {
    return LdapStatus(rc, absl::StrCat("LDAP: cannot set ", name));
  }
  return absl::OkStatus();
}

// Whether the DC has visibly closed an idle connection (FIN or RST seen).
bool PeerClosed(int fd) {
  if (fd < 0) return true;
  struct pollfd p = {fd, POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

// A client-side failure after which the connection is unusable.
bool IsConnectionFailure(const absl::Status& s) {
  std::optional<int> code = LdapCodeOf(s);
  return code.has_value() && *code < 0;
}

}  // namespace

LdapDirectory::LdapDirectory(LdapOptions options)
    : options_(std::move(options)), base_dn_(options_.base_dn) {}

LdapDirectory::~LdapDirectory() {
  ScopedSigpipeBlock block;
  absl::MutexLock lock(&mu_);
  Unbind(ld_);
  ld_ = nullptr;
}

absl::StatusOr<std::unique_ptr<LdapDirectory>> LdapDirectory::Connect(
    LdapOptions options) {
  WB_RETURN_IF_ERROR(ValidateOptions(options));
  auto dir = absl::WrapUnique(new LdapDirectory(std::move(options)));
  if (internal::UsesGssapi(dir->options_)) {
    WB_ASSIGN_OR_RETURN(dir->kerberos_, KerberosCredentials::Create(
                                            internal::KerberosOptionsFor(dir->options_)));
  }
  ScopedSigpipeBlock block;
  WB_ASSIGN_OR_RETURN(Handle handle, dir->Acquire());
  absl::Status status = absl::OkStatus();
  if (dir->base_dn_.empty()) {
    absl::StatusOr<std::vector<DirectoryEntry>> root =
        internal::SearchOn(handle.ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
                 {"defaultNamingContext"}, 1, dir->options_.timeout);
    if (!root.ok()) {
      status = root.status();
    } else if (root->empty() ||
               (*root)[0].attributes["defaultnamingcontext"].empty()) {
      status = absl::FailedPreconditionError(
          "the rootDSE has no defaultNamingContext: set the base DN");
    } else {
      dir->base_dn_ = (*root)[0].attributes["defaultnamingcontext"][0];
    }
  }
  dir->Release(handle, !status.ok());
  if (!status.ok()) return status;
  WB_LOG(INFO) << "LDAP connected dc=" << dir->CurrentDc()
               << " base=" << dir->base_dn_;
  return dir;
}

std::string LdapDirectory::CurrentDc() const {
  absl::MutexLock lock(&mu_);
  return current_dc_;
}

void LdapDirectory::Close() {
  ScopedSigpipeBlock block;
  absl::MutexLock lock(&mu_);
  ++epoch_;
  if (ld_ == nullptr) return;
  if (busy_) {
    // The operating thread owns the handle: cut the socket under it so that
    // nothing more can be sent; it unbinds the handle in Release().
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
    return;
  }
  Unbind(ld_);
  ld_ = nullptr;
  fd_ = -1;
}

absl::StatusOr<LdapDirectory::Handle> LdapDirectory::Acquire() {
  uint64_t epoch = 0;
  {
    absl::MutexLock lock(&mu_);
    epoch = epoch_;
    if (ld_ != nullptr) {
      busy_ = true;
      return Handle{ld_, epoch, false, serial_};
    }
  }
  std::string url;
  WB_ASSIGN_OR_RETURN(LDAP* ld, Dial(&url));
  int fd = -1;
  ldap_get_option(ld, LDAP_OPT_DESC, &fd);
  absl::MutexLock lock(&mu_);
  if (epoch_ != epoch) {
    Unbind(ld);
    return absl::UnavailableError(
        "LDAP connection closed while connecting (session fenced)");
  }
  ld_ = ld;
  fd_ = fd;
  busy_ = true;
  current_dc_ = url;
  return Handle{ld, epoch, true, ++serial_};
}

bool LdapDirectory::Release(const Handle& handle, bool broken) {
  absl::MutexLock lock(&mu_);
  busy_ = false;
  bool closed = epoch_ != handle.epoch;
  if ((closed || broken) && ld_ == handle.ld) {
    Unbind(ld_);
    ld_ = nullptr;
    fd_ = -1;
  }
  return closed;
}

absl::StatusOr<LDAP*> LdapDirectory::Dial(std::string* url) const {
  std::vector<std::string> failures;
  for (const std::string& candidate : options_.urls) {
    absl::StatusOr<LDAP*> ld = DialOne(candidate);
    if (ld.ok()) {
      if (!failures.empty()) {
        WB_LOG(WARNING) << "LDAP failover" << LogField("dc", candidate)
                        << LogField("error", absl::StrJoin(failures, "; "))
                        << LogHint("check the DCs named in the error; the agent uses " + candidate +
                                   " meanwhile");
      }
      *url = candidate;
      return *ld;
    }
    // Wrong credentials fail the same way everywhere; trying every DC would
    // only add bad-password counts towards an account lockout.
    if (ld.status().code() == absl::StatusCode::kUnauthenticated) {
      return ld.status();
    }
    failures.push_back(std::string(ld.status().message()));
  }
  return absl::UnavailableError(absl::StrCat(
      "no domain controller answered: ", absl::StrJoin(failures, "; ")));
}

absl::StatusOr<LDAP*> LdapDirectory::DialOne(const std::string& url) const {
  LDAP* raw = nullptr;
  int rc = ldap_initialize(&raw, url.c_str());
  OwnedLdap ld(raw);
  if (rc != LDAP_SUCCESS) {
    return LdapStatus(rc, absl::StrCat("LDAP URL ", url));
  }
  const int version = LDAP_VERSION3;
  WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version,
                               "protocol version"));
  // Referrals would be chased with our credentials to servers we did not
  // choose: never follow them.
  WB_RETURN_IF_ERROR(
      SetOption(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals"));
  WB_RETURN_IF_ERROR(
      SetOption(ld.get(), LDAP_OPT_RESTART, LDAP_OPT_ON, "restart"));
  const struct timeval tv = absl::ToTimeval(options_.timeout);
  WB_RETURN_IF_ERROR(
      SetOption(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &tv, "network timeout"));
  WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_TIMEOUT, &tv, "timeout"));

  const bool tls = IsTls(url) || options_.start_tls;
  if (tls) {
    if (!options_.ca_file.empty()) {
      WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_X_TLS_CACERTFILE,
                                   options_.ca_file.c_str(), "CA file"));
    }
    const int demand = LDAP_OPT_X_TLS_DEMAND;
    WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT,
                                 &demand, "TLS certificate requirement"));
    const int min_version = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_X_TLS_PROTOCOL_MIN,
                                 &min_version, "TLS minimum version"));
    // Builds this handle's own TLS context from the options above.
    const int is_server = 0;
    WB_RETURN_IF_ERROR(SetOption(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &is_server,
                                 "TLS context"));
  }

  rc = ldap_connect(ld.get());
  if (rc != LDAP_SUCCESS) {
    std::string diagnostic = internal::Diagnostic(ld.get());
    if (IsTls(url)) {
      // libldap rarely says why a handshake failed: name the likely causes.
      absl::StrAppend(&diagnostic, diagnostic.empty() ? "" : "; ",
                      "the DC is unreachable or the TLS handshake failed "
                      "(check that its certificate chains to ",
                      options_.ca_file.empty() ? "the system trust store"
                                               : options_.ca_file,
                      " and names the host in the URL)");
    }
    return LdapStatus(rc, absl::StrCat("LDAP connect to ", url), diagnostic);
  }
  if (options_.start_tls && !IsTls(url)) {
    rc = ldap_start_tls_s(ld.get(), nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      return LdapStatus(rc, absl::StrCat("StartTLS with ", url),
                        internal::Diagnostic(ld.get()));
    }
  }
  const absl::Time bind_start = absl::Now();
  if (kerberos_ != nullptr) {
    absl::Status bound = internal::GssapiBind(ld.get(), url, IsTls(url) || options_.start_tls,
                                              kerberos_.get());
    Observe(LdapOperation::kBind, bound.ok() ? 0 : LdapCodeOf(bound).value_or(LDAP_OTHER),
            bind_start);
    WB_RETURN_IF_ERROR(bound);
  } else if (!options_.bind_dn.empty()) {
    struct berval cred = {static_cast<ber_len_t>(options_.password.size()),
                          const_cast<char*>(options_.password.data())};
    rc = ldap_sasl_bind_s(ld.get(), options_.bind_dn.c_str(), LDAP_SASL_SIMPLE,
                          &cred, nullptr, nullptr, nullptr);
    Observe(LdapOperation::kBind, rc, bind_start);
    if (rc != LDAP_SUCCESS) {
      return LdapStatus(rc,
                        absl::StrCat("LDAP bind to ", url, " as ",
                                     options_.bind_dn),
                        internal::Diagnostic(ld.get()));
    }
  }
  return ld.release();
}

absl::StatusOr<std::vector<DirectoryEntry>> LdapDirectory::Search(
    const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit) {
  ScopedSigpipeBlock block;
  for (int attempt = 0;; ++attempt) {
    WB_ASSIGN_OR_RETURN(Handle handle, Acquire());
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<DirectoryEntry>> entries =
        internal::SearchOn(handle.ld, base, LDAP_SCOPE_SUBTREE, filter, attributes,
                 size_limit, options_.timeout);
    Observe(LdapOperation::kSearch, StatusLdapCode(entries.status()), start);
    const bool broken = !entries.ok() && IsConnectionFailure(entries.status());
    const bool closed = Release(handle, broken);
    // A reused connection may have died while idle (DC restarted): a search
    // is safe to repeat once on a fresh connection. A timeout is not
    // repeated (it would double the wait), nor is an operation cut by Close().
    const bool dead_idle =
        broken && !handle.fresh && !closed && attempt == 0 &&
        entries.status().code() == absl::StatusCode::kUnavailable;
    if (!dead_idle) return entries;
    WB_LOG(WARNING) << "LDAP connection lost, reconnecting" << LogError(entries.status())
                    << LogHint(
                           "nothing to do unless it repeats; then check the DC and the "
                           "network path to it");
  }
}

absl::StatusOr<LdapResult> LdapDirectory::Modify(
    const std::string& dn, const std::vector<Modification>& mods) {
  ScopedSigpipeBlock block;
  WB_ASSIGN_OR_RETURN(Handle handle, Acquire());
  int fd = -1;
  {
    absl::MutexLock lock(&mu_);
    fd = fd_;
  }
  if (!handle.fresh && PeerClosed(fd)) {
    // Nothing was sent on it yet: replace it before sending the modify.
    Release(handle, /*broken=*/true);
    WB_ASSIGN_OR_RETURN(handle, Acquire());
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<LdapResult> result =
      internal::ModifyOn(handle.ld, dn, mods, options_.timeout);
  Observe(LdapOperation::kModify, result.ok() ? result->code : StatusLdapCode(result.status()),
          start);
  // Any client-side failure leaves the connection in an unknown state.
  Release(handle, /*broken=*/!result.ok());
  return result;
}

void LdapDirectory::Observe(LdapOperation op, int code, absl::Time start) const {
  if (options_.observer != nullptr) options_.observer->OnLdapOperation(op, code, absl::Now() - start);
}

void LdapDirectory::FailPending(const absl::Status& status) {
  for (auto& [msgid, p] : pending_) {
    Observe(LdapOperation::kModify, StatusLdapCode(status), p.sent);
    failed_.push_back({p.ticket, status});
  }
  pending_.clear();
}

absl::StatusOr<int> LdapDirectory::StartModify(const std::string& dn,
                                               const std::vector<Modification>& mods) {
  ScopedSigpipeBlock block;
  WB_ASSIGN_OR_RETURN(Handle handle, Acquire());
  if (!pending_.empty() && pending_.begin()->second.serial != handle.serial) {
    FailPending(absl::UnavailableError(
        "LDAP connection lost with modifies outstanding; they may or may not have been applied"));
  }
  if (!handle.fresh && pending_.empty()) {
    int fd = -1;
    {
      absl::MutexLock lock(&mu_);
      fd = fd_;
    }
    if (PeerClosed(fd)) {  // idle connection the DC dropped: replace it first
      Release(handle, /*broken=*/true);
      WB_ASSIGN_OR_RETURN(handle, Acquire());
    }
  }
  const absl::Time sent = absl::Now();
  absl::StatusOr<int> msgid = internal::SendModify(handle.ld, dn, mods);
  if (!msgid.ok()) {
    Observe(LdapOperation::kModify, StatusLdapCode(msgid.status()), sent);
    bool broken = IsConnectionFailure(msgid.status());
    Release(handle, broken);
    if (broken) {
      FailPending(absl::UnavailableError(absl::StrCat(
          "LDAP connection lost with modifies outstanding: ", msgid.status().message())));
    }
    return msgid.status();
  }
  int ticket = ++next_ticket_;
  pending_[*msgid] = Pending{ticket, dn, sent, handle.serial};
  Release(handle, /*broken=*/false);
  return ticket;
}

std::vector<Directory::Completion> LdapDirectory::PollModifies(absl::Duration wait) {
  ScopedSigpipeBlock block;
  std::vector<Completion> out;
  if (!pending_.empty()) {
    uint64_t serial = pending_.begin()->second.serial;
    bool connected;
    {
      absl::MutexLock lock(&mu_);
      connected = ld_ != nullptr && serial_ == serial;
    }
    absl::StatusOr<Handle> handle =
        connected ? Acquire() : absl::UnavailableError("not connected");
    if (!handle.ok() || handle->serial != serial) {
      if (handle.ok()) Release(*handle, /*broken=*/false);
      FailPending(absl::UnavailableError(
          "LDAP connection closed with modifies outstanding; they may or may not have "
          "been applied"));
    } else {
      bool broken = false;
      struct timeval tv = absl::ToTimeval(wait);
      while (!pending_.empty()) {
        LDAPMessage* msg = nullptr;
        int rc = ldap_result(handle->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &tv, &msg);
        tv = {0, 0};  // only the first wait blocks
        if (rc == 0) break;
        if (rc < 0) {
          broken = true;
          FailPending(LdapStatus(rc, "LDAP connection failed with modifies outstanding",
                                 internal::Diagnostic(handle->ld)));
          break;
        }
        auto it = pending_.find(ldap_msgid(msg));
        if (it == pending_.end() || rc != LDAP_RES_MODIFY) {
          ldap_msgfree(msg);  // a late answer to an abandoned operation
          continue;
        }
        out.push_back({it->second.ticket, internal::ParseModifyResult(handle->ld, msg,
                                                                      it->second.dn)});
        const auto& answer = out.back().result;
        Observe(LdapOperation::kModify,
                answer.ok() ? answer->code : StatusLdapCode(answer.status()), it->second.sent);
        pending_.erase(it);
      }
      // A modify that outlived the operation timeout leaves the connection in
      // an unknown state: drop it, and with it every outstanding modify.
      absl::Time now = absl::Now();
      for (const auto& [msgid, p] : pending_) {
        if (now - p.sent > options_.timeout) {
          broken = true;
          FailPending(absl::DeadlineExceededError(absl::StrCat(
              "LDAP modify of ", p.dn, " got no answer within ",
              absl::FormatDuration(options_.timeout), "; it may or may not have been applied")));
          break;
        }
      }
      if (Release(*handle, broken)) {
        FailPending(absl::UnavailableError("LDAP connection closed (session fenced)"));
      }
    }
  }
  for (auto& c : failed_) out.push_back(std::move(c));
  failed_.clear();
  return out;
}

}  // namespace writeback::agent
