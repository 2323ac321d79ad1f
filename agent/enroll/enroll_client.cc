#include "agent/enroll/enroll_client.h"

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/grpc_status.h"
#include "common/identity/identity.h"
#include "common/identity/join_token.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "writeback/v1/enrollment.grpc.pb.h"

namespace writeback::agent {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::Status CallError(const grpc::Status& s, const std::string& what, const std::string& address) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, " at ", address, " failed: ", s.error_message()));
}

// The controller's CA bundle, fetched without verifying the server: only
// the certificate the pin names is ever trusted from it.
absl::StatusOr<std::string> FetchPinnedCa(const std::string& address, const std::string& pin,
                                          absl::Duration timeout) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  auto channel = grpc::CreateChannel(address, grpc::experimental::TlsCredentials(tls));
  auto stub = writeback::v1::Enrollment::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  writeback::v1::TrustBundle bundle;
  grpc::Status s = stub->GetTrustBundle(&context, {}, &bundle);
  if (!s.ok()) return CallError(s, "fetching the controller's CA", address);
  absl::StatusOr<std::vector<std::string>> cas = pki::SplitCertificates(bundle.ca_pem());
  if (!cas.ok()) {
    return absl::UnavailableError(absl::StrCat("the controller at ", address,
                                               " sent no usable CA certificate: ",
                                               cas.status().message()));
  }
  for (const std::string& ca : *cas) {
    absl::StatusOr<std::string> fingerprint = pki::Fingerprint(ca);
    if (fingerprint.ok() && *fingerprint == pin) return ca;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "the server at ", address, " does not have the CA this join token pins (sha256 ", pin,
      "): it is not the controller that made the token, or its CA was rotated since; nothing "
      "was sent"));
}

std::shared_ptr<grpc::Channel> MutualTlsChannel(const std::string& address,
                                                const AgentCredentials& c) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = c.ca_pem;
  ssl.pem_cert_chain = c.cert_pem;
  ssl.pem_private_key = c.key_pem;
  grpc::ChannelArguments args;
  // A channel of its own: never shared with the stream's connection, whose
  // certificate may be the previous one.
  static std::atomic<int64_t> next{0};
  args.SetInt("writeback.channel", static_cast<int>(++next));
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

// Checks an answer and makes credentials of it with `key_pem`.
absl::StatusOr<AgentCredentials> Accept(const writeback::v1::CertificateResponse& response,
                                        std::string key_pem, const AgentIdentity& expected) {
  AgentCredentials c;
  c.key_pem = std::move(key_pem);
  c.cert_pem = response.cert_pem();
  c.ca_pem = response.trust_bundle_pem();
  if (absl::Status s = CheckCredentials(&c); !s.ok()) {
    return absl::DataLossError(
        absl::StrCat("the controller's answer is not usable: ", s.message()));
  }
  const std::string uri = AgentIdentityUri(expected);
  for (const std::string& san : c.info.uri_sans) {
    if (san == uri) return c;
  }
  return absl::DataLossError(
      absl::StrCat("the certificate the controller issued does not name ", uri));
}

}  // namespace

absl::StatusOr<AgentCredentials> Enroll(const EnrollOptions& o) {
  WB_ASSIGN_OR_RETURN(JoinTokenParts parts, ParseJoinToken(o.token));
  if (o.agent_id.empty()) return absl::InvalidArgumentError("give the agent an id (--agent_id)");
  WB_ASSIGN_OR_RETURN(std::string ca, FetchPinnedCa(o.address, parts.pin, o.timeout));
  WB_ASSIGN_OR_RETURN(std::string key, pki::NewPrivateKeyPem());
  WB_ASSIGN_OR_RETURN(std::string csr, pki::NewCsrPem(key, o.agent_id));

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca;
  auto stub =
      writeback::v1::Enrollment::NewStub(grpc::CreateChannel(o.address, grpc::SslCredentials(ssl)));
  writeback::v1::EnrollRequest request;
  request.set_token(o.token);
  request.set_forest(o.forest);
  request.set_agent_id(o.agent_id);
  request.set_csr_pem(csr);
  request.set_version(o.version);
  grpc::ClientContext context;
  SetDeadline(&context, o.timeout);
  writeback::v1::CertificateResponse response;
  grpc::Status s = stub->Enroll(&context, request, &response);
  if (!s.ok()) return CallError(s, "enrollment", o.address);
  return Accept(response, std::move(key), {response.forest(), o.agent_id});
}

absl::StatusOr<AgentCredentials> Renew(const std::string& address,
                                       const AgentCredentials& current, absl::Duration timeout) {
  AgentIdentity identity;
  for (const std::string& san : current.info.uri_sans) {
    if (auto parsed = ParseAgentIdentity(san); parsed.ok()) identity = *parsed;
  }
  if (identity.agent_id.empty()) {
    return absl::FailedPreconditionError("the current certificate names no agent identity");
  }
  WB_ASSIGN_OR_RETURN(std::string key, pki::NewPrivateKeyPem());
  WB_ASSIGN_OR_RETURN(std::string csr, pki::NewCsrPem(key, identity.agent_id));
  auto stub = writeback::v1::CertificateRenewal::NewStub(MutualTlsChannel(address, current));
  writeback::v1::RenewRequest request;
  request.set_csr_pem(csr);
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  writeback::v1::CertificateResponse response;
  grpc::Status s = stub->Renew(&context, request, &response);
  if (!s.ok()) return CallError(s, "certificate renewal", address);
  return Accept(response, std::move(key), identity);
}

absl::StatusOr<int> Handover(const std::string& address, const AgentCredentials& current,
                             absl::Duration timeout) {
  auto stub = writeback::v1::CertificateRenewal::NewStub(MutualTlsChannel(address, current));
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  writeback::v1::HandoverResponse response;
  grpc::Status s = stub->Handover(&context, {}, &response);
  if (!s.ok()) return CallError(s, "stream handover", address);
  return static_cast<int>(response.streams());
}

}  // namespace writeback::agent
