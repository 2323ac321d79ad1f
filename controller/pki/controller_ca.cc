#include "controller/pki/controller_ca.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace writeback::controller {
namespace {

constexpr absl::Duration kMaxSkew = absl::Seconds(60);
constexpr char kServerCommonName[] = "writeback controller";

// Directory entries (see the header).
constexpr char kCaCert[] = "ca.pem";
constexpr char kCaKey[] = "ca.key";
constexpr char kNextDir[] = "next";
constexpr char kNextTmpDir[] = "next.tmp";    // BeginRotation builds next/ here
constexpr char kNextDoneDir[] = "next.done";  // FinishRotation moves next/ here to delete it
constexpr char kRetiredDir[] = "retired";
constexpr char kServerKey[] = "server.key";
constexpr char kServerCert[] = "server.pem";
constexpr char kAgentRoots[] = "agent-roots.pem";
constexpr char kTrust[] = "trust.pem";

std::string Join(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", name);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// not_before = now - min(60 s, lifetime / 10): tolerates a peer's clock skew.
absl::Duration Skew(absl::Duration lifetime) { return std::min(kMaxSkew, lifetime / 10); }

absl::Status Precondition(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::FailedPreconditionError(status.message());
}

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Creates `path` with mode 0700 (and missing parents) unless it exists.
absl::Status MakePrivateDir(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(path, " exists but is no directory"));
  }
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  }
  if (::mkdir(path.c_str(), 0700) != 0) return ErrnoError(absl::StrCat("cannot create ", path));
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

// "writeback controller CA 3f9a0c1e": a fresh name for each CA, so the
// serving and the next CA never share a subject during a rotation.
std::string NewCaName() {
  std::random_device random;
  return absl::StrFormat("writeback controller CA %08x", random());
}

// Reads and checks a CA's certificate and key files.
absl::StatusOr<pki::Authority> LoadAuthority(const std::string& cert_path,
                                             const std::string& key_path, absl::Time now) {
  if (!Exists(cert_path) || !Exists(key_path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("a CA needs both ", cert_path, " and ", key_path, " but ",
                     Exists(cert_path) ? key_path : cert_path,
                     " is missing: supply it, or remove the other file to have a new CA created"));
  }
  pki::Authority authority;
  auto cert = ReadFileToString(cert_path);
  if (!cert.ok()) return Precondition(cert.status());
  authority.cert_pem = *std::move(cert);
  auto key = ReadPrivateFile(key_path);
  if (!key.ok()) return Precondition(key.status());
  authority.key_pem = *std::move(key);
  auto certs = pki::SplitCertificates(authority.cert_pem);
  if (!certs.ok() || certs->size() != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(cert_path, " must hold exactly one PEM certificate"));
  }
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::InspectCertificate(authority.cert_pem));
  if (!info.is_ca) {
    return absl::FailedPreconditionError(
        absl::StrCat(cert_path, " (\"", info.subject_cn,
                     "\") is not a CA certificate (basicConstraints CA:TRUE)"));
  }
  if (info.not_after <= now) {
    return absl::FailedPreconditionError(absl::StrCat(
        cert_path, " expired at ", absl::FormatTime(info.not_after, absl::UTCTimeZone())));
  }
  if (absl::Status match = pki::CheckKeyMatchesCertificate(authority.key_pem, authority.cert_pem);
      !match.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_path, " is not the key of ", cert_path, " (", match.message(), ")"));
  }
  return authority;
}

absl::Status WriteAuthority(const std::string& dir, const pki::Authority& authority) {
  WB_RETURN_IF_ERROR(WritePrivateFileAtomically(Join(dir, kCaKey), authority.key_pem));
  return WriteFileAtomically(Join(dir, kCaCert), authority.cert_pem);
}

absl::Status WriteIfChanged(const std::string& path, const std::string& content) {
  auto old = ReadFileToString(path);
  if (old.ok() && *old == content) return absl::OkStatus();
  return WriteFileAtomically(path, content);
}

std::vector<std::string> ServerNames(const ControllerCa::Options& options) {
  if (!options.server_names.empty()) return options.server_names;
  return {"localhost", "127.0.0.1", "::1"};
}

// The canonical text of an IP literal, or "" for a DNS name.
std::string CanonicalIp(const std::string& name) {
  unsigned char bytes[16];
  char text[INET6_ADDRSTRLEN] = {0};
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, name.c_str(), bytes) == 1) {
      return inet_ntop(family, bytes, text, sizeof(text));
    }
  }
  return "";
}

// Is `info` a certificate for exactly `names` (IP literals compared canonically)?
bool IsForNames(const pki::CertificateInfo& info, const std::vector<std::string>& names) {
  std::vector<std::string> want_dns, want_ip;
  for (const std::string& name : names) {
    std::string ip = CanonicalIp(name);
    (ip.empty() ? want_dns : want_ip).push_back(ip.empty() ? name : ip);
  }
  auto same = [](std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
  };
  return same(want_dns, info.dns_sans) && same(want_ip, info.ip_sans);
}

// Keeps server.key (creating it once) and re-issues server.pem when the
// header says so. Returns what server.pem now holds.
absl::StatusOr<pki::CertificateInfo> EnsureServerCertificate(const ControllerCa::Options& options,
                                                             const pki::Authority& serving,
                                                             absl::Time now) {
  std::string key_path = Join(options.dir, kServerKey);
  std::string cert_path = Join(options.dir, kServerCert);
  std::string key_pem;
  if (Exists(key_path)) {
    auto key = ReadPrivateFile(key_path);
    if (!key.ok()) return Precondition(key.status());
    key_pem = *std::move(key);
  } else {
    WB_ASSIGN_OR_RETURN(key_pem, pki::NewPrivateKeyPem());
    WB_RETURN_IF_ERROR(WritePrivateFileAtomically(key_path, key_pem));
  }
  std::vector<std::string> names = ServerNames(options);
  if (auto cert = ReadFileToString(cert_path); cert.ok()) {
    auto info = pki::InspectCertificate(*cert);
    if (info.ok() && pki::CheckSignedBy(*cert, serving.cert_pem).ok() &&
        pki::CheckKeyMatchesCertificate(key_pem, *cert).ok() && IsForNames(*info, names) &&
        now < info->not_after - (info->not_after - info->not_before) / 10) {
      return *info;
    }
  }
  WB_ASSIGN_OR_RETURN(std::string public_key, pki::PublicKeyPemOfPrivateKey(key_pem));
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo ca, pki::InspectCertificate(serving.cert_pem));
  pki::Profile profile;
  profile.common_name = kServerCommonName;
  for (const std::string& name : names) {
    std::string ip = CanonicalIp(name);
    if (ip.empty()) {
      profile.dns_sans.push_back(name);
    } else {
      profile.ip_sans.push_back(ip);
    }
  }
  profile.server_auth = true;
  profile.not_before = now - Skew(options.server_cert_lifetime);
  profile.not_after = std::min(now + options.server_cert_lifetime, ca.not_after);
  auto cert = pki::IssueForPublicKey(serving, public_key, profile);
  if (!cert.ok()) {
    return absl::Status(cert.status().code(),
                        absl::StrCat("issuing ", cert_path, ": ", cert.status().message()));
  }
  WB_RETURN_IF_ERROR(WriteFileAtomically(cert_path, *cert));
  return pki::InspectCertificate(*cert);
}

std::string TrustPem(const pki::Authority& serving, const pki::Authority& next) {
  return serving.cert_pem + next.cert_pem;
}

absl::Status WriteBundles(const ControllerCa::Options& options, const pki::Authority& serving,
                          const pki::Authority& next) {
  std::string trust = TrustPem(serving, next);
  std::string roots = trust + options.extra_client_ca_pem;
  if (!roots.empty() && roots.back() != '\n') roots.push_back('\n');
  WB_RETURN_IF_ERROR(WriteIfChanged(Join(options.dir, kAgentRoots), roots));
  return WriteIfChanged(Join(options.dir, kTrust), trust);
}

absl::StatusOr<CaState> StateOf(const pki::Authority& serving, const pki::Authority& next,
                                const pki::CertificateInfo& server) {
  CaState state;
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo ca, pki::InspectCertificate(serving.cert_pem));
  state.serving_fingerprint = ca.fingerprint;
  state.serving_not_after = ca.not_after;
  if (!next.cert_pem.empty()) {
    WB_ASSIGN_OR_RETURN(pki::CertificateInfo n, pki::InspectCertificate(next.cert_pem));
    state.next_fingerprint = n.fingerprint;
    state.next_not_after = n.not_after;
  }
  state.server_cert_serial = server.serial;
  state.server_cert_not_after = server.not_after;
  return state;
}

// The rest of a FinishRotation once ca.key (and maybe ca.pem) hold the next
// CA: ca.pem, then next/ is dropped (moved aside first, so it is never
// half-deleted). server.pem and the bundles follow in the caller.
absl::Status CompleteSwap(const std::string& dir, const pki::Authority& next) {
  WB_RETURN_IF_ERROR(WriteFileAtomically(Join(dir, kCaCert), next.cert_pem));
  WB_RETURN_IF_ERROR(RemoveTree(Join(dir, kNextDoneDir)));
  if (std::rename(Join(dir, kNextDir).c_str(), Join(dir, kNextDoneDir).c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot move ", Join(dir, kNextDir), " aside"));
  }
  return RemoveTree(Join(dir, kNextDoneDir));
}

// The serving CA: created on first start, or completing a FinishRotation
// that stopped between writing ca.key and removing next/ (ca.key is then
// already the next CA's key), or loaded.
absl::StatusOr<pki::Authority> LoadServing(const ControllerCa::Options& options,
                                           pki::Authority* next, absl::Time now) {
  std::string cert_path = Join(options.dir, kCaCert);
  std::string key_path = Join(options.dir, kCaKey);
  if (!next->cert_pem.empty() && Exists(key_path)) {
    auto key = ReadPrivateFile(key_path);
    if (!key.ok()) return Precondition(key.status());
    if (pki::CheckKeyMatchesCertificate(*key, next->cert_pem).ok()) {
      WB_RETURN_IF_ERROR(CompleteSwap(options.dir, *next));
      return std::exchange(*next, pki::Authority{});
    }
  }
  if (!Exists(cert_path) && !Exists(key_path)) {
    WB_ASSIGN_OR_RETURN(
        pki::Authority created,
        pki::NewAuthority(NewCaName(), now - Skew(options.ca_lifetime), now + options.ca_lifetime));
    WB_RETURN_IF_ERROR(WriteAuthority(options.dir, created));
    return created;
  }
  return LoadAuthority(cert_path, key_path, now);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerCa>> ControllerCa::Open(const Options& options,
                                                                 absl::Time now) {
  if (options.dir.empty()) return absl::InvalidArgumentError("the CA directory is not set");
  if (options.ca_lifetime <= absl::ZeroDuration() ||
      options.server_cert_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("CA and server certificate lifetimes must be positive");
  }
  if (!options.extra_client_ca_pem.empty()) {
    auto extra = pki::SplitCertificates(options.extra_client_ca_pem);
    if (!extra.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the extra client CA: ", extra.status().message()));
    }
  }
  WB_RETURN_IF_ERROR(MakePrivateDir(options.dir));
  WB_RETURN_IF_ERROR(RemoveTree(Join(options.dir, kNextTmpDir)));  // an unfinished BeginRotation

  pki::Authority next;
  std::string next_dir = Join(options.dir, kNextDir);
  if (Exists(next_dir)) {
    WB_ASSIGN_OR_RETURN(next, LoadAuthority(Join(next_dir, kCaCert), Join(next_dir, kCaKey), now));
  }
  WB_ASSIGN_OR_RETURN(pki::Authority serving, LoadServing(options, &next, now));
  WB_RETURN_IF_ERROR(RemoveTree(Join(options.dir, kNextDoneDir)));
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo server, EnsureServerCertificate(options, serving, now));
  WB_RETURN_IF_ERROR(WriteBundles(options, serving, next));
  WB_ASSIGN_OR_RETURN(CaState state, StateOf(serving, next, server));

  std::unique_ptr<ControllerCa> ca(new ControllerCa(options));
  absl::MutexLock lock(&ca->mu_);
  ca->serving_ = std::move(serving);
  ca->next_ = std::move(next);
  ca->state_ = std::move(state);
  return ca;
}

std::string ControllerCa::Pin() const {
  absl::MutexLock lock(&mu_);
  return state_.serving_fingerprint;
}

CaState ControllerCa::State() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

std::string ControllerCa::TrustBundlePem() const {
  absl::MutexLock lock(&mu_);
  return TrustPem(serving_, next_);
}

std::string ControllerCa::server_key_path() const { return Join(options_.dir, kServerKey); }
std::string ControllerCa::server_cert_path() const { return Join(options_.dir, kServerCert); }
std::string ControllerCa::agent_roots_path() const { return Join(options_.dir, kAgentRoots); }

absl::StatusOr<IssuedCertificate> ControllerCa::IssueAgentCertificate(const std::string& csr_pem,
                                                                      const AgentIdentity& identity,
                                                                      absl::Duration lifetime,
                                                                      absl::Time now) {
  auto checked = ParseAgentIdentity(AgentIdentityUri(identity));
  if (!checked.ok()) return checked.status();
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("an agent certificate's lifetime must be positive");
  }
  absl::MutexLock lock(&mu_);
  const bool rotating = !next_.cert_pem.empty();
  const pki::Authority& issuer = rotating ? next_ : serving_;
  pki::Profile profile;
  profile.common_name = checked->agent_id;
  profile.uri_sans = {AgentIdentityUri(*checked)};
  profile.client_auth = true;
  profile.not_before = now - Skew(lifetime);
  profile.not_after =
      std::min(now + lifetime, rotating ? state_.next_not_after : state_.serving_not_after);
  WB_ASSIGN_OR_RETURN(std::string cert, pki::IssueFromCsr(issuer, csr_pem, profile));
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::InspectCertificate(cert));
  IssuedCertificate issued;
  issued.cert_pem = std::move(cert);
  issued.serial = info.serial;
  issued.issuer_fingerprint = rotating ? state_.next_fingerprint : state_.serving_fingerprint;
  issued.not_before = info.not_before;
  issued.not_after = info.not_after;
  return issued;
}

absl::Status ControllerCa::BeginRotation(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!next_.cert_pem.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("a CA rotation is already under way (next CA ", state_.next_fingerprint,
                     "): finish it before beginning another"));
  }
  WB_ASSIGN_OR_RETURN(
      pki::Authority next,
      pki::NewAuthority(NewCaName(), now - Skew(options_.ca_lifetime), now + options_.ca_lifetime));
  // next/ appears complete or not at all: built aside, then renamed.
  std::string tmp = Join(options_.dir, kNextTmpDir);
  WB_RETURN_IF_ERROR(RemoveTree(tmp));
  WB_RETURN_IF_ERROR(MakePrivateDir(tmp));
  WB_RETURN_IF_ERROR(WriteAuthority(tmp, next));
  if (std::rename(tmp.c_str(), Join(options_.dir, kNextDir).c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot rename ", tmp, " to ", Join(options_.dir, kNextDir)));
  }
  WB_RETURN_IF_ERROR(WriteBundles(options_, serving_, next));
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo n, pki::InspectCertificate(next.cert_pem));
  next_ = std::move(next);
  state_.next_fingerprint = n.fingerprint;
  state_.next_not_after = n.not_after;
  return absl::OkStatus();
}

absl::Status ControllerCa::FinishRotation(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (next_.cert_pem.empty()) {
    return absl::FailedPreconditionError("no CA rotation is under way: BeginRotation first");
  }
  std::string retired_dir = Join(options_.dir, kRetiredDir);
  WB_RETURN_IF_ERROR(MakePrivateDir(retired_dir));
  WB_RETURN_IF_ERROR(WriteFileAtomically(
      Join(retired_dir, absl::StrCat(state_.serving_fingerprint, ".pem")), serving_.cert_pem));
  // From here on a crash is completed by the next Open (LoadServing).
  WB_RETURN_IF_ERROR(WritePrivateFileAtomically(Join(options_.dir, kCaKey), next_.key_pem));
  WB_RETURN_IF_ERROR(CompleteSwap(options_.dir, next_));
  serving_ = std::exchange(next_, pki::Authority{});
  state_.serving_fingerprint = std::exchange(state_.next_fingerprint, "");
  state_.serving_not_after = std::exchange(state_.next_not_after, absl::Time());
  WB_ASSIGN_OR_RETURN(pki::CertificateInfo server,
                      EnsureServerCertificate(options_, serving_, now));
  state_.server_cert_serial = server.serial;
  state_.server_cert_not_after = server.not_after;
  return WriteBundles(options_, serving_, next_);
}

}  // namespace writeback::controller
