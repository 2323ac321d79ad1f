#include "controller/enroll/agent_certificates.h"

#include "common/base/status_macros.h"
#include "common/identity/peer_identity.h"
#include "absl/strings/str_cat.h"
#include "controller/enroll/trust_rules.h"

namespace writeback::controller {

absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(const grpc::ServerContextBase& context,
                                                     TrustStore* trust, const ControllerCa* ca,
                                                     absl::Time now) {
  AuthenticatedAgent agent;
  WB_ASSIGN_OR_RETURN(agent.identity, PeerAgentIdentity(context));
  auto auth = context.auth_context();
  auto pem = auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) {
    return absl::PermissionDeniedError("the client certificate could not be read from the TLS "
                                       "session");
  }
  absl::StatusOr<pki::CertificateInfo> cert =
      pki::InspectCertificate(std::string(pem.front().data(), pem.front().size()));
  if (!cert.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the client certificate does not parse: ", cert.status().message()));
  }
  agent.cert = *std::move(cert);
  WB_ASSIGN_OR_RETURN(std::optional<CertificateRecord> issued,
                      trust->GetCertificate(agent.cert.serial));
  WB_ASSIGN_OR_RETURN(std::optional<RevocationRecord> revocation,
                      trust->GetRevocation(agent.identity.agent_id));
  WB_RETURN_IF_ERROR(CheckAgentCertificate(agent.identity, agent.cert, issued, revocation, now));
  if (ca != nullptr && issued) {
    const CaState state = ca->State();
    if (issued->issuer != state.serving_fingerprint && issued->issuer != state.next_fingerprint) {
      return absl::PermissionDeniedError(absl::StrCat(
          "certificate ", agent.cert.serial, " of agent ", agent.identity.agent_id,
          " was issued by CA ", issued->issuer,
          ", which a finished rotation retired; ", kReEnrollHint));
    }
  }
  return agent;
}

}  // namespace writeback::controller
