#include "agent/enroll/credentials.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace writeback::agent {
namespace {

std::string PathOf(const std::string& dir, const char* name) { return dir + "/" + name; }

}  // namespace

absl::Status CheckCredentials(AgentCredentials* c) {
  WB_ASSIGN_OR_RETURN(c->info, pki::InspectCertificate(c->cert_pem));
  WB_RETURN_IF_ERROR(pki::CheckKeyMatchesCertificate(c->key_pem, c->cert_pem));
  WB_ASSIGN_OR_RETURN(std::vector<std::string> cas, pki::SplitCertificates(c->ca_pem));
  for (const std::string& ca : cas) {
    if (pki::CheckSignedBy(c->cert_pem, ca).ok()) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "the agent certificate is not signed by any CA the agent trusts for the controller");
}

absl::StatusOr<AgentCredentials> LoadCredentials(const std::string& state_dir) {
  AgentCredentials c;
  absl::StatusOr<std::string> cert = ReadFileToString(PathOf(state_dir, "agent.pem"));
  if (absl::IsNotFound(cert.status())) {
    return absl::NotFoundError(absl::StrCat(
        "no agent certificate in ", state_dir,
        ": enroll first (writeback-agent enroll --controller HOST:PORT --token_file FILE)"));
  }
  if (!cert.ok()) return cert.status();
  c.cert_pem = *std::move(cert);
  absl::StatusOr<std::string> key = ReadPrivateFile(PathOf(state_dir, "agent.key"));
  if (!key.ok() && absl::IsNotFound(key.status())) {  // saved by an older agent, cut short
    key = ReadPrivateFile(PathOf(state_dir, "agent.key.old"));
  }
  if (!key.ok()) return key.status();
  c.key_pem = *std::move(key);
  WB_ASSIGN_OR_RETURN(c.ca_pem, ReadFileToString(PathOf(state_dir, "ca.pem")));
  absl::Status s = CheckCredentials(&c);
  if (!s.ok()) {
    // A renewal stopped between the key and the certificate: the previous
    // key still goes with the certificate on disk.
    absl::StatusOr<std::string> old = ReadPrivateFile(PathOf(state_dir, "agent.key.old"));
    if (old.ok()) {
      c.key_pem = *std::move(old);
      s = CheckCredentials(&c);
    }
  }
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the credentials in ", state_dir, " are not usable (", s.message(), "); enroll again"));
  }
  return c;
}

absl::Status SaveCredentials(const std::string& state_dir, const AgentCredentials& c) {
  if (mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the state directory ", state_dir, ": ", std::strerror(errno)));
  }
  WB_RETURN_IF_ERROR(WritePrivateFileAtomically(PathOf(state_dir, "ca.pem"), c.ca_pem));
  // The key goes first and the previous one is kept as agent.key.old (a
  // hard link, so agent.key never goes missing) until the next save, so a
  // crash before the certificate is written leaves a matching pair
  // (LoadCredentials falls back to it).
  const std::string key = PathOf(state_dir, "agent.key");
  const std::string old = key + ".old";
  WB_RETURN_IF_ERROR(WritePrivateFileAtomically(key + ".new", c.key_pem));
  if ((unlink(old.c_str()) != 0 && errno != ENOENT) ||
      (link(key.c_str(), old.c_str()) != 0 && errno != ENOENT)) {
    return absl::InternalError(
        absl::StrCat("cannot keep the previous key ", old, ": ", std::strerror(errno)));
  }
  if (rename((key + ".new").c_str(), key.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot install the key ", key, ": ", std::strerror(errno)));
  }
  return WritePrivateFileAtomically(PathOf(state_dir, "agent.pem"), c.cert_pem);
}

absl::Time RenewAt(const pki::CertificateInfo& cert) {
  return cert.not_before + (cert.not_after - cert.not_before) / 2;
}

}  // namespace writeback::agent
