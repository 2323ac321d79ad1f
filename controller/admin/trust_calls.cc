// The Admin API's trust calls (DESIGN §7): join tokens, agent revocation and
// the controller CA. Changes are audited like every call that changes
// something; a token's secret is returned once and never stored or logged.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "common/identity/join_token.h"
#include "controller/admin/admin_service.h"
#include "controller/admin/audit.h"
#include "controller/enroll/trust_rules.h"

namespace writeback::controller {
namespace {

grpc::Status NoTrust() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this controller runs without its certificate authority");
}

writeback::v1::JoinToken ToProto(const JoinTokenRecord& t, absl::Time now) {
  writeback::v1::JoinToken out;
  out.set_token_id(t.token_id);
  out.set_forest(t.forest);
  out.set_created_ms(t.created_ms);
  out.set_expires_ms(t.expires_ms);
  out.set_created_by(t.created_by);
  out.set_used_ms(t.used_ms);
  out.set_used_by(t.used_by);
  out.set_revoked_ms(t.revoked_ms);
  out.set_state(std::string(TokenState(t, now)));
  return out;
}

}  // namespace

grpc::Status AdminService::CreateJoinToken(grpc::ServerContext* context,
                                           const writeback::v1::CreateJoinTokenRequest* request,
                                           writeback::v1::CreateJoinTokenResponse* response) {
  return Audited(context, "CreateJoinToken", request, response,
                 &AdminService::CreateJoinTokenUnaudited);
}

grpc::Status AdminService::CreateJoinTokenUnaudited(
    grpc::ServerContext* context, const writeback::v1::CreateJoinTokenRequest* request,
    writeback::v1::CreateJoinTokenResponse* response) {
  if (trust_.ca == nullptr || trust_.store == nullptr) return NoTrust();
  const std::string forest = absl::AsciiStrToLower(request->forest());
  if (forest.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "forest: name the forest the token lets an agent join");
  }
  if (auto f = store_->GetForest(forest); !f.ok()) return ToGrpcStatus(f.status());
  absl::StatusOr<absl::Duration> ttl = TokenTtl(request->ttl_s());
  if (!ttl.ok()) return ToGrpcStatus(ttl.status());
  const std::string pin = trust_.ca->Pin();
  absl::StatusOr<NewJoinToken> token = MakeJoinToken(pin);
  if (!token.ok()) return ToGrpcStatus(token.status());
  const absl::Time now = absl::Now();
  JoinTokenRecord record;
  record.token_id = token->id;
  record.forest = forest;
  record.secret_sha256 = token->secret_sha256;
  record.created_ms = absl::ToUnixMillis(now);
  record.expires_ms = absl::ToUnixMillis(now + *ttl);
  record.created_by = context != nullptr ? CallerOf(*context) : "in-process";
  if (absl::Status s = trust_.store->AddJoinToken(record); !s.ok()) return ToGrpcStatus(s);
  WB_LOG(INFO) << "join token " << record.token_id << " for forest " << forest << " created by "
               << record.created_by << ", valid for " << absl::FormatDuration(*ttl);
  response->set_token(token->token);
  *response->mutable_info() = ToProto(record, now);
  response->set_ca_pin(pin);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListJoinTokens(grpc::ServerContext*,
                                          const writeback::v1::ListJoinTokensRequest* request,
                                          writeback::v1::ListJoinTokensResponse* response) {
  if (trust_.store == nullptr) return NoTrust();
  auto tokens = trust_.store->ListJoinTokens(absl::AsciiStrToLower(request->forest()));
  if (!tokens.ok()) return ToGrpcStatus(tokens.status());
  const absl::Time now = absl::Now();
  for (const JoinTokenRecord& t : *tokens) *response->add_tokens() = ToProto(t, now);
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeJoinToken(grpc::ServerContext* context,
                                           const writeback::v1::RevokeJoinTokenRequest* request,
                                           writeback::v1::JoinToken* response) {
  return Audited(context, "RevokeJoinToken", request, response,
                 &AdminService::RevokeJoinTokenUnaudited);
}

grpc::Status AdminService::RevokeJoinTokenUnaudited(
    grpc::ServerContext*, const writeback::v1::RevokeJoinTokenRequest* request,
    writeback::v1::JoinToken* response) {
  if (trust_.store == nullptr) return NoTrust();
  auto token = trust_.store->RevokeJoinToken(request->token_id(), absl::ToUnixMillis(absl::Now()));
  if (!token.ok()) return ToGrpcStatus(token.status());
  *response = ToProto(*token, absl::Now());
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeAgent(grpc::ServerContext* context,
                                       const writeback::v1::RevokeAgentRequest* request,
                                       writeback::v1::Agent* response) {
  return Audited(context, "RevokeAgent", request, response, &AdminService::RevokeAgentUnaudited);
}

grpc::Status AdminService::RevokeAgentUnaudited(grpc::ServerContext* context,
                                                const writeback::v1::RevokeAgentRequest* request,
                                                writeback::v1::Agent* response) {
  if (trust_.store == nullptr) return NoTrust();
  writeback::v1::ListAgentsRequest every;
  writeback::v1::ListAgentsResponse all;
  if (grpc::Status s = ListAgents(context, &every, &all); !s.ok()) return s;
  const writeback::v1::Agent* known = nullptr;
  for (const auto& a : all.agents()) {
    if (a.agent_id() == request->agent_id()) known = &a;
  }
  if (known == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no agent \"", request->agent_id(),
                                     "\" (writebackctl agent list shows the known ones)"));
  }
  RevocationRecord r;
  r.agent_id = request->agent_id();
  r.revoked_ms = absl::ToUnixMillis(absl::Now());
  r.revoked_by = context != nullptr ? CallerOf(*context) : "in-process";
  r.reason = request->reason();
  if (absl::Status s = trust_.store->RevokeAgent(r); !s.ok()) return ToGrpcStatus(s);
  int cut = dispatcher_->Revoke(
      r.agent_id, absl::StrCat("agent ", r.agent_id, " was revoked by ", r.revoked_by,
                               r.reason.empty() ? "" : ": ", r.reason, "; ", kReEnrollHint));
  WB_LOG(WARNING) << "agent revoked" << LogField("agent", r.agent_id)
                  << LogField("by", r.revoked_by) << LogField("reason", r.reason)
                  << LogField("streams_cut", cut)
                  << LogHint(
                         "to bring it back: writebackctl token create, then writeback-agent "
                         "enroll on its server");
  all.Clear();
  if (grpc::Status s = ListAgents(context, &every, &all); !s.ok()) return s;
  for (const auto& a : all.agents()) {
    if (a.agent_id() == r.agent_id) *response = a;
  }
  return grpc::Status::OK;
}

void AdminService::AddTrustInfo(writeback::v1::ListAgentsResponse* response) {
  if (trust_.store == nullptr) return;
  auto certs = trust_.store->LatestCertificates();
  auto revocations = trust_.store->ListRevocations();
  for (auto& agent : *response->mutable_agents()) {
    if (certs.ok()) {
      for (const CertificateRecord& c : *certs) {
        if (c.agent_id != agent.agent_id()) continue;
        agent.set_cert_serial(c.serial);
        agent.set_cert_not_after_ms(c.not_after_ms);
      }
    }
    if (revocations.ok()) {
      for (const RevocationRecord& r : *revocations) {
        if (r.agent_id != agent.agent_id()) continue;
        agent.set_revoked_ms(r.revoked_ms);
        agent.set_revoked_by(r.revoked_by);
      }
    }
  }
}

absl::Status AdminService::DescribeCa(writeback::v1::CertificateAuthority* out) {
  CaState state = trust_.ca->State();
  out->set_fingerprint(state.serving_fingerprint);
  out->set_not_after_ms(absl::ToUnixMillis(state.serving_not_after));
  out->set_trust_bundle_pem(trust_.ca->TrustBundlePem());
  if (state.next_fingerprint.empty()) return absl::OkStatus();
  out->set_next_fingerprint(state.next_fingerprint);
  out->set_next_not_after_ms(absl::ToUnixMillis(state.next_not_after));
  absl::StatusOr<std::vector<CertificateRecord>> certs = trust_.store->LatestCertificates();
  if (!certs.ok()) return certs.status();
  absl::StatusOr<std::vector<RevocationRecord>> revoked = trust_.store->ListRevocations();
  if (!revoked.ok()) return revoked.status();
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const CertificateRecord& c : *certs) {
    if (c.issuer != state.serving_fingerprint || c.not_after_ms <= now_ms) continue;
    bool is_revoked = false;
    for (const RevocationRecord& r : *revoked) {
      is_revoked |= r.agent_id == c.agent_id && c.issued_ms <= r.revoked_ms;
    }
    if (!is_revoked) out->add_agents_on_old_ca(c.agent_id);
  }
  return absl::OkStatus();
}

grpc::Status AdminService::GetCertificateAuthority(
    grpc::ServerContext*, const writeback::v1::GetCertificateAuthorityRequest*,
    writeback::v1::CertificateAuthority* response) {
  if (trust_.ca == nullptr || trust_.store == nullptr) return NoTrust();
  return ToGrpcStatus(DescribeCa(response));
}

grpc::Status AdminService::RotateCertificateAuthority(
    grpc::ServerContext* context, const writeback::v1::RotateCertificateAuthorityRequest* request,
    writeback::v1::CertificateAuthority* response) {
  return Audited(context, "RotateCertificateAuthority", request, response,
                 &AdminService::RotateCertificateAuthorityUnaudited);
}

grpc::Status AdminService::RotateCertificateAuthorityUnaudited(
    grpc::ServerContext* context, const writeback::v1::RotateCertificateAuthorityRequest* request,
    writeback::v1::CertificateAuthority* response) {
  if (trust_.ca == nullptr || trust_.store == nullptr) return NoTrust();
  const absl::Time now = absl::Now();
  if (!request->finish()) {
    if (absl::Status s = trust_.ca->BeginRotation(now); !s.ok()) return ToGrpcStatus(s);
    WB_LOG(WARNING) << "CA rotation started"
                    << LogField("new_ca", trust_.ca->State().next_fingerprint)
                    << LogHint(
                           "agents move to the new CA as they renew; finish with writebackctl "
                           "ca rotate --finish once writebackctl ca lists none on the old CA");
    return ToGrpcStatus(DescribeCa(response));
  }
  writeback::v1::CertificateAuthority before;
  if (absl::Status s = DescribeCa(&before); !s.ok()) return ToGrpcStatus(s);
  if (before.next_fingerprint().empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no CA rotation is under way; start one with writebackctl ca rotate");
  }
  if (before.agents_on_old_ca_size() > 0 && !request->force()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("agents still hold certificates of the old CA: ",
                     absl::StrJoin(before.agents_on_old_ca(), ", "),
                     "; wait until they renew (at half their certificate lifetime), or finish "
                     "with --force, which cuts them off until they enroll again"));
  }
  if (absl::Status s = trust_.ca->FinishRotation(now); !s.ok()) return ToGrpcStatus(s);
  WB_LOG(WARNING) << "CA rotation finished" << LogField("retired_ca", before.fingerprint())
                  << LogField("ca", before.next_fingerprint())
                  << LogHint("give agents enrolling from now on the new CA pin (writebackctl ca)");
  // Forced: the agents still on the retired CA are cut off until they
  // enroll again, which is what a revocation does. The new trust refuses
  // their next handshake only once the listener has re-read its files, and
  // established streams are never re-checked: without the revocation they
  // would live on (or reconnect meanwhile) until their certificates expire.
  for (const std::string& agent : before.agents_on_old_ca()) {
    RevocationRecord r;
    r.agent_id = agent;
    r.revoked_ms = absl::ToUnixMillis(absl::Now());
    r.revoked_by = context != nullptr ? CallerOf(*context) : "in-process";
    r.reason = absl::StrCat("its CA ", before.fingerprint(), " was retired by a forced rotation");
    if (absl::Status s = trust_.store->RevokeAgent(r); !s.ok()) {
      return grpc::Status(
          grpc::StatusCode::INTERNAL,
          absl::StrCat("the rotation finished, but agent ", agent, " still on the retired CA could "
                       "not be cut off (", s.message(), "); revoke it: writebackctl agent revoke ",
                       agent));
    }
    int cut = dispatcher_->Revoke(
        agent, absl::StrCat("the CA that issued the certificate of agent ", agent,
                            " was retired by a forced rotation (writebackctl ca rotate --finish "
                            "--force); ",
                            kReEnrollHint));
    WB_LOG(WARNING) << "agent still held a certificate of the retired CA: revoked"
                    << LogField("agent", agent) << LogField("streams_cut", cut)
                    << LogHint(
                           "enroll it again: writebackctl token create, then writeback-agent "
                           "enroll on its server");
  }
  return ToGrpcStatus(DescribeCa(response));
}

}  // namespace writeback::controller
