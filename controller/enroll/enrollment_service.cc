#include "controller/enroll/enrollment_service.h"

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "common/identity/identity.h"
#include "common/identity/join_token.h"
#include "controller/enroll/agent_certificates.h"
#include "controller/enroll/trust_rules.h"

namespace writeback::controller {
namespace {

using writeback::v1::CertificateResponse;

void Fill(const IssuedCertificate& cert, const AgentIdentity& identity,
          const std::string& trust_bundle, CertificateResponse* response) {
  response->set_cert_pem(cert.cert_pem);
  response->set_trust_bundle_pem(trust_bundle);
  response->set_forest(identity.forest);
  response->set_agent_id(identity.agent_id);
  response->set_serial(cert.serial);
  response->set_not_after_ms(absl::ToUnixMillis(cert.not_after));
}

CertificateRecord Record(const IssuedCertificate& cert, const AgentIdentity& identity,
                         absl::Time now, std::string via) {
  CertificateRecord r;
  r.serial = cert.serial;
  r.agent_id = identity.agent_id;
  r.forest = identity.forest;
  r.issuer = cert.issuer_fingerprint;
  r.not_before_ms = absl::ToUnixMillis(cert.not_before);
  r.not_after_ms = absl::ToUnixMillis(cert.not_after);
  r.issued_ms = absl::ToUnixMillis(now);
  r.via = std::move(via);
  return r;
}

// kFailedPrecondition when `agent_id` is already an agent of another forest.
absl::Status CheckAgentForest(Store* store, const AgentIdentity& identity) {
  absl::StatusOr<std::vector<AgentRecord>> agents = store->ListAgents("");
  if (!agents.ok()) return agents.status();
  for (const AgentRecord& a : *agents) {
    if (a.agent_id == identity.agent_id && a.forest != identity.forest) {
      return absl::FailedPreconditionError(
          absl::StrCat("agent id ", identity.agent_id, " already belongs to forest ", a.forest,
                       "; choose another id (writeback-agent enroll --agent_id)"));
    }
  }
  return absl::OkStatus();
}

// `what`: "enrollment" or "renewal"; `agent`: the id the caller gave, if any.
grpc::Status Refuse(const absl::Status& status, const std::string& peer, const char* what,
                    const std::string& agent = "") {
  LogLine line(LogLevel::kWarning);
  line << what << " refused" << LogField("peer", peer);
  if (!agent.empty()) line << LogField("agent", agent);
  line << LogField("error", status.message())
       << LogHint(absl::StrCat(what == std::string("renewal")
                                   ? "enroll the agent again if its certificate expired or was "
                                     "revoked"
                                   : "give the agent a new join token for its forest",
                               ": writebackctl token create --forest=FOREST"));
  return ToGrpcStatus(status);
}

}  // namespace

grpc::Status EnrollmentService::GetTrustBundle(grpc::ServerContext*,
                                               const writeback::v1::GetTrustBundleRequest*,
                                               writeback::v1::TrustBundle* response) {
  response->set_ca_pem(ca_->TrustBundlePem());
  return grpc::Status::OK;
}

grpc::Status EnrollmentService::Enroll(grpc::ServerContext* context,
                                       const writeback::v1::EnrollRequest* request,
                                       CertificateResponse* response) {
  const absl::Time now = absl::Now();
  absl::StatusOr<JoinTokenParts> parts = ParseJoinToken(request->token());
  if (!parts.ok())
    return Refuse(parts.status(), context->peer(), "enrollment", request->agent_id());
  if (parts->pin != ca_->Pin()) {
    return Refuse(absl::PermissionDeniedError(
                      "the join token pins another CA than this controller's (was the CA "
                      "rotated since it was created?); create a new token with writebackctl "
                      "token create"),
                  context->peer(), "enrollment", request->agent_id());
  }
  absl::StatusOr<std::optional<JoinTokenRecord>> stored = trust_->GetJoinToken(parts->id);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  if (absl::Status s = CheckRedeemable(*stored, *parts, request->forest(), now); !s.ok()) {
    return Refuse(s, context->peer(), "enrollment", request->agent_id());
  }
  absl::StatusOr<AgentIdentity> identity =
      ParseAgentIdentity(AgentIdentityUri({(*stored)->forest, request->agent_id()}));
  if (!identity.ok()) {
    return Refuse(
        absl::InvalidArgumentError(absl::StrCat("agent id: ", identity.status().message())),
        context->peer(), "enrollment", request->agent_id());
  }
  if (absl::StatusOr<ForestRecord> forest = store_->GetForest(identity->forest); !forest.ok()) {
    return Refuse(
        absl::FailedPreconditionError(absl::StrCat(
            "forest ", identity->forest,
            " is not registered at this controller; add it with writebackctl forest add")),
        context->peer(), "enrollment", request->agent_id());
  }
  if (absl::Status s = CheckAgentForest(store_, *identity); !s.ok()) {
    return Refuse(s, context->peer(), "enrollment", request->agent_id());
  }
  absl::StatusOr<IssuedCertificate> cert =
      ca_->IssueAgentCertificate(request->csr_pem(), *identity, options_.cert_lifetime, now);
  if (!cert.ok()) return Refuse(cert.status(), context->peer(), "enrollment", request->agent_id());
  absl::StatusOr<JoinTokenRecord> redeemed = trust_->RedeemJoinToken(
      parts->id, Record(*cert, *identity, now, absl::StrCat("enroll ", parts->id)),
      absl::ToUnixMillis(now));
  if (!redeemed.ok()) {
    absl::Status s = redeemed.status();
    if (absl::IsFailedPrecondition(s)) s = absl::PermissionDeniedError(s.message());
    return Refuse(s, context->peer(), "enrollment", request->agent_id());
  }
  AgentRecord agent{identity->agent_id, identity->forest, request->version(), "enrolled",
                    absl::ToUnixMillis(now)};
  if (absl::Status s = store_->UpsertAgent(agent); !s.ok()) return ToGrpcStatus(s);
  Fill(*cert, *identity, ca_->TrustBundlePem() + options_.extra_trust_pem, response);
  WB_LOG(INFO) << "enrolled agent " << identity->agent_id << " of forest " << identity->forest
               << " with join token " << parts->id << " from " << context->peer()
               << ": certificate " << cert->serial << " until "
               << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", cert->not_after, absl::UTCTimeZone());
  return grpc::Status::OK;
}

grpc::Status RenewalService::Renew(grpc::ServerContext* context,
                                   const writeback::v1::RenewRequest* request,
                                   CertificateResponse* response) {
  const absl::Time now = absl::Now();
  absl::StatusOr<AuthenticatedAgent> agent = AuthenticateAgent(*context, trust_, ca_, now);
  if (!agent.ok()) return Refuse(agent.status(), context->peer(), "renewal");
  if (absl::StatusOr<ForestRecord> forest = store_->GetForest(agent->identity.forest);
      !forest.ok()) {
    return Refuse(absl::FailedPreconditionError(absl::StrCat(
                      "forest ", agent->identity.forest, " is not registered at this controller")),
                  context->peer(), "renewal");
  }
  absl::StatusOr<IssuedCertificate> cert = ca_->IssueAgentCertificate(
      request->csr_pem(), agent->identity, options_.cert_lifetime, now);
  if (!cert.ok()) return Refuse(cert.status(), context->peer(), "renewal");
  if (absl::Status s = trust_->AddCertificate(
          Record(*cert, agent->identity, now, absl::StrCat("renew ", agent->cert.serial)));
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  Fill(*cert, agent->identity, ca_->TrustBundlePem() + options_.extra_trust_pem, response);
  WB_LOG(INFO) << "renewed the certificate of agent " << agent->identity.agent_id << ": "
               << agent->cert.serial << " -> " << cert->serial << " until "
               << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", cert->not_after, absl::UTCTimeZone());
  return grpc::Status::OK;
}

grpc::Status RenewalService::Handover(grpc::ServerContext* context,
                                      const writeback::v1::HandoverRequest*,
                                      writeback::v1::HandoverResponse* response) {
  absl::StatusOr<AuthenticatedAgent> agent = AuthenticateAgent(*context, trust_, ca_, absl::Now());
  if (!agent.ok()) return Refuse(agent.status(), context->peer(), "handover");
  response->set_streams(dispatcher_->Recycle(agent->identity.agent_id, agent->cert.serial));
  return grpc::Status::OK;
}

}  // namespace writeback::controller
