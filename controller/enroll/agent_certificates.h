// Who an agent call comes from, with its certificate checked (DESIGN §7): the
// identity from the client certificate's URI SAN, and the certificate
// itself refused when expired or issued before the agent's revocation
// (trust_rules.h). Used by the agent stream, renewal and handover.
//
//   absl::StatusOr<AuthenticatedAgent> a = AuthenticateAgent(*context, trust, absl::Now());
//   if (!a.ok()) return ToGrpc(a.status());   // kPermissionDenied, says why
#ifndef WRITEBACK_CONTROLLER_ENROLL_AGENT_CERTIFICATES_H_
#define WRITEBACK_CONTROLLER_ENROLL_AGENT_CERTIFICATES_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/identity.h"
#include "common/pki/x509.h"
#include "controller/pki/controller_ca.h"
#include "controller/store/trust_store.h"
#include "grpcpp/grpcpp.h"

namespace writeback::controller {

struct AuthenticatedAgent {
  AgentIdentity identity;
  pki::CertificateInfo cert;
};

// With `ca`, a certificate the controller issued is refused too once its
// issuing CA is neither the serving nor the next one (a finished rotation
// retired it), without waiting for the listener to re-read its trust files.
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(const grpc::ServerContextBase& context,
                                                     TrustStore* trust, const ControllerCa* ca,
                                                     absl::Time now);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ENROLL_AGENT_CERTIFICATES_H_
