// The controller's certificate authority (DESIGN §7): created on first start
// or supplied by the operator, it issues agent certificates at enrollment
// and renewal and the controller's own server certificate, and is rotated
// with overlapping trust. Its state is a directory (mode 0700) of PEM files
// that gRPC's file-watching certificate providers read, so the listeners
// pick up a rotation without a restart. Read this header first in
// controller/pki.
//
//   ControllerCa::Options o;
//   o.dir = "/var/lib/writeback/ca";
//   o.server_names = {"controller.corp.example.com", "127.0.0.1"};
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<ControllerCa> ca, ControllerCa::Open(o, absl::Now()));
//   ca->Pin();   // what join tokens carry
//   WB_ASSIGN_OR_RETURN(IssuedCertificate c,
//                       ca->IssueAgentCertificate(csr_pem, identity, absl::Hours(168), now));
//
// Files in `dir`:
//   ca.pem, ca.key              the serving CA: signs server.pem; its
//                               fingerprint is the pin tokens carry
//   next/ca.pem, next/ca.key    during a rotation only: the new CA, which
//                               issues every agent certificate meanwhile
//   retired/<fingerprint>.pem   CAs a finished rotation retired (record)
//   server.key, server.pem      the controller's TLS identity (the key is
//                               kept across re-issues; the certificate is
//                               issued by the serving CA for server_names)
//   agent-roots.pem             what verifies agent certificates: the
//                               serving CA, the next CA, extra_client_ca_pem
//   trust.pem                   what agents trust for the controller: the
//                               serving CA and, during a rotation, the next
// Key files are written 0600 and refused when group or others may read them.
// An operator supplies a CA by placing ca.pem and ca.key in `dir` before the
// first start (the key must be the certificate's, the certificate a CA).
//
// Rotation: BeginRotation creates next/ (agent certificates are issued by
// it from then on, and both CAs verify agents and are in trust.pem, which
// agents receive with every certificate); agents move to it as they renew.
// FinishRotation makes next the serving CA, re-issues server.pem from it,
// retires the old CA and drops it from agent-roots.pem and trust.pem.
// Every file is replaced atomically (temp file + rename).
//
// Thread-safe (one mutex).
#ifndef WRITEBACK_CONTROLLER_PKI_CONTROLLER_CA_H_
#define WRITEBACK_CONTROLLER_PKI_CONTROLLER_CA_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/identity/identity.h"
#include "common/pki/x509.h"

namespace writeback::controller {

struct IssuedCertificate {
  std::string cert_pem;
  std::string serial;
  std::string issuer_fingerprint;
  absl::Time not_before;
  absl::Time not_after;
};

struct CaState {
  std::string serving_fingerprint;  // the pin
  absl::Time serving_not_after;
  std::string next_fingerprint;     // empty unless rotating
  absl::Time next_not_after;
  std::string server_cert_serial;
  absl::Time server_cert_not_after;
};

class ControllerCa {
 public:
  struct Options {
    std::string dir;
    // DNS names and IP literals the server certificate is issued for (the
    // hosts agents and writebackctl dial). Default: localhost, 127.0.0.1, ::1.
    std::vector<std::string> server_names;
    // An operator's own CA (PEM) whose agent certificates are trusted too
    // (tls.ca_file); it is never used to issue.
    std::string extra_client_ca_pem;
    absl::Duration ca_lifetime = absl::Hours(24 * 3650);
    absl::Duration server_cert_lifetime = absl::Hours(24 * 365);
  };

  // Opens `dir`, creating the CA on first start. Re-issues server.pem when
  // it is missing, not issued by the serving CA, not for server_names, or
  // within a tenth of its lifetime of expiry. Refuses (kFailedPrecondition,
  // naming the file) a key file readable by group or others, a ca.key that
  // is not ca.pem's key, a ca.pem that is no CA or has expired.
  static absl::StatusOr<std::unique_ptr<ControllerCa>> Open(const Options& options,
                                                            absl::Time now);

  // Lower-case hex SHA-256 of the serving CA's certificate.
  std::string Pin() const;
  CaState State() const;
  // What agents should trust for the controller (trust.pem's content).
  std::string TrustBundlePem() const;

  std::string server_key_path() const;
  std::string server_cert_path() const;
  std::string agent_roots_path() const;

  // A client certificate for `identity` (CN = agent id, URI SAN
  // AgentIdentityUri(identity), EKU clientAuth) on the CSR's public key,
  // from the next CA during a rotation and the serving CA otherwise.
  // not_before = now - min(60 s, lifetime / 10) (clock skew), not_after =
  // now + lifetime, capped at the issuing CA's not_after.
  absl::StatusOr<IssuedCertificate> IssueAgentCertificate(const std::string& csr_pem,
                                                          const AgentIdentity& identity,
                                                          absl::Duration lifetime,
                                                          absl::Time now);

  // kFailedPrecondition when a rotation is already under way.
  absl::Status BeginRotation(absl::Time now);
  // kFailedPrecondition when no rotation is under way.
  absl::Status FinishRotation(absl::Time now);

 private:
  explicit ControllerCa(Options options) : options_(std::move(options)) {}

  const Options options_;
  mutable absl::Mutex mu_;
  pki::Authority serving_ ABSL_GUARDED_BY(mu_);
  pki::Authority next_ ABSL_GUARDED_BY(mu_);  // empty unless rotating
  CaState state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_PKI_CONTROLLER_CA_H_
