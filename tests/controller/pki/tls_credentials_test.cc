// Real TLS handshakes against a server built with AgentServerCredentials /
// EnrollServerCredentials over a ControllerCa's files, before, during and
// after a rotation. The server is a generic callback service answering any
// method with what it saw of the peer (PeerAgentIdentity and the
// x509_pem_cert auth property), so an OK answer proves the handshake and a
// refused handshake shows as UNAVAILABLE.
#include "controller/pki/tls_credentials.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/identity/peer_identity.h"
#include "common/pki/x509.h"
#include "controller/pki/controller_ca.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/shell.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::HasSubstr;
using writeback::testing::RunShell;
using writeback::testing::ShellResult;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Answers every call with "<identity or refusal>\ncn=<peer CN>\n<peer certificate PEM>".
class ProbeReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit ProbeReactor(grpc::GenericCallbackServerContext* context) {
    auto identity = PeerAgentIdentity(*context);
    std::string text = identity.ok()
                           ? absl::StrCat("agent ", identity->forest, "/", identity->agent_id)
                           : absl::StrCat("no agent: ", identity.status().message());
    auto auth = context->auth_context();
    if (auth != nullptr) {
      for (const auto& cn : auth->FindPropertyValues("x509_common_name")) {
        absl::StrAppend(&text, "\ncn=", std::string(cn.data(), cn.size()));
      }
      for (const auto& pem : auth->FindPropertyValues("x509_pem_cert")) {
        absl::StrAppend(&text, "\n", std::string(pem.data(), pem.size()));
      }
    }
    grpc::Slice slice(text);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer response_;
};

class ProbeService : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new ProbeReactor(context);
  }
};

struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string error;
  std::string body;
  bool ok() const { return code == grpc::StatusCode::OK; }
};

std::ostream& operator<<(std::ostream& os, const Answer& a) {
  return os << "code " << a.code << " (" << a.error << ") body: " << a.body.substr(0, 80);
}

struct ClientTls {
  std::string roots;
  std::string cert;  // empty: no client certificate
  std::string key;
};

// One call on a channel of its own (a unique argument keeps gRPC from
// sharing a connection between attempts).
Answer Call(int port, const ClientTls& tls) {
  static std::atomic<int> nonce{0};
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.roots;
  ssl.pem_cert_chain = tls.cert;
  ssl.pem_private_key = tls.key;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetInt("wb-test-nonce", nonce++);
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl), args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));  // hang guard
  grpc::Slice slice(std::string("who am i"));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/writeback.test.Probe/Who", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  Answer answer;
  answer.code = status.error_code();
  answer.error = status.error_message();
  std::vector<grpc::Slice> slices;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) answer.body.append(s.begin(), s.end());
  }
  return answer;
}

// Calls until `want(answer)` holds, for the file watcher's refresh.
Answer CallUntil(int port, const ClientTls& tls, bool (*want)(const Answer&)) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  Answer answer = Call(port, tls);
  while (!want(answer) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    answer = Call(port, tls);
  }
  return answer;
}
bool Accepted(const Answer& a) { return a.ok(); }
bool Refused(const Answer& a) { return a.code == grpc::StatusCode::UNAVAILABLE; }

class TlsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tls_credentials_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ControllerCa::Options options;
    options.dir = root_ + "/ca";
    options.server_names = {"localhost", "127.0.0.1"};
    auto ca = ControllerCa::Open(options, absl::Now());
    ASSERT_OK(ca);
    ca_ = *std::move(ca);

    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", AgentServerCredentials(*ca_, 1), &agent_port_);
    builder.AddListeningPort("127.0.0.1:0", EnrollServerCredentials(*ca_, 1), &enroll_port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(agent_port_, 0);
    ASSERT_GT(enroll_port_, 0);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
    }
    RunShell("rm -rf " + root_);
  }

  // A key and an agent certificate from `ca`, trusting its trust.pem.
  ClientTls AgentOf(ControllerCa& ca, const std::string& agent_id) {
    ClientTls tls;
    tls.key = *pki::NewPrivateKeyPem();
    auto issued =
        ca.IssueAgentCertificate(*pki::NewCsrPem(tls.key, agent_id), {"corp.example.com", agent_id},
                                 absl::Hours(1), absl::Now());
    EXPECT_OK(issued);
    tls.cert = issued.ok() ? issued->cert_pem : "";
    tls.roots = ca.TrustBundlePem();
    return tls;
  }

  std::string root_;
  std::unique_ptr<ControllerCa> ca_;
  ProbeService service_;
  std::unique_ptr<grpc::Server> server_;
  int agent_port_ = 0;
  int enroll_port_ = 0;
};

TEST_F(TlsCredentialsTest, AgentCertificateFromTheCaIsAcceptedAndSeenByHandlers) {
  ClientTls agent = AgentOf(*ca_, "dc1-agent");
  Answer answer = Call(agent_port_, agent);
  ASSERT_TRUE(answer.ok()) << answer;
  EXPECT_THAT(answer.body, HasSubstr("agent corp.example.com/dc1-agent"));
  // The peer certificate is in the auth context as with SslServerCredentials.
  EXPECT_THAT(answer.body, HasSubstr("\ncn=dc1-agent\n"));
  EXPECT_THAT(answer.body, HasSubstr(agent.cert));
}

TEST_F(TlsCredentialsTest, CertificatesNotFromTheCaAreRefused) {
  ClientTls good = AgentOf(*ca_, "dc1-agent");

  ControllerCa::Options other_options;
  other_options.dir = root_ + "/other-ca";
  auto other = ControllerCa::Open(other_options, absl::Now());
  ASSERT_OK(other);
  ClientTls foreign = AgentOf(**other, "dc1-agent");
  foreign.roots = good.roots;
  Answer answer = Call(agent_port_, foreign);
  EXPECT_TRUE(Refused(answer)) << answer;

  // Self-signed, with the right identity URI and clientAuth.
  ShellResult made = RunShell(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=dc1-agent -addext subjectAltName=URI:writeback://forest/corp.example.com/agent/"
      "dc1-agent -addext extendedKeyUsage=clientAuth -keyout ",
      root_, "/self.key -out ", root_, "/self.pem"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ClientTls self_signed{good.roots, ReadFile(root_ + "/self.pem"), ReadFile(root_ + "/self.key")};
  answer = Call(agent_port_, self_signed);
  EXPECT_TRUE(Refused(answer)) << answer;

  // From the CA but expired.
  pki::Authority authority{ReadFile(root_ + "/ca/ca.pem"), ReadFile(root_ + "/ca/ca.key")};
  pki::Profile profile;
  profile.common_name = "dc1-agent";
  profile.uri_sans = {"writeback://forest/corp.example.com/agent/dc1-agent"};
  profile.client_auth = true;
  profile.not_before = absl::Now() - absl::Hours(2);
  profile.not_after = absl::Now() - absl::Hours(1);
  ClientTls expired{good.roots, "", *pki::NewPrivateKeyPem()};
  auto cert = pki::IssueFromCsr(authority, *pki::NewCsrPem(expired.key, "dc1-agent"), profile);
  ASSERT_OK(cert);
  expired.cert = *cert;
  answer = Call(agent_port_, expired);
  EXPECT_TRUE(Refused(answer)) << answer;
  // Control: the same issue with current times is accepted.
  profile.not_after = absl::Now() + absl::Hours(1);
  cert = pki::IssueFromCsr(authority, *pki::NewCsrPem(expired.key, "dc1-agent"), profile);
  ASSERT_OK(cert);
  answer = Call(agent_port_, ClientTls{good.roots, *cert, expired.key});
  EXPECT_TRUE(answer.ok()) << answer;

  // No client certificate at all.
  answer = Call(agent_port_, ClientTls{good.roots, "", ""});
  EXPECT_TRUE(Refused(answer)) << answer;

  // The server still serves the good agent.
  answer = Call(agent_port_, good);
  EXPECT_TRUE(answer.ok()) << answer;
}

TEST_F(TlsCredentialsTest, RotationIsPickedUpWithoutRebuildingTheServer) {
  ClientTls old_agent = AgentOf(*ca_, "old-agent");
  const std::string old_ca_pem = ReadFile(root_ + "/ca/ca.pem");
  ASSERT_TRUE(Call(agent_port_, old_agent).ok());

  ASSERT_OK(ca_->BeginRotation(absl::Now()));
  ClientTls new_agent = AgentOf(*ca_, "new-agent");
  Answer answer = CallUntil(agent_port_, new_agent, Accepted);
  EXPECT_TRUE(answer.ok()) << answer;
  EXPECT_THAT(answer.body, HasSubstr("agent corp.example.com/new-agent"));
  answer = Call(agent_port_, old_agent);  // both CAs verify agents meanwhile
  EXPECT_TRUE(answer.ok()) << answer;

  ASSERT_OK(ca_->FinishRotation(absl::Now()));
  // The server now presents a certificate of the new CA: a client that only
  // trusts the old CA fails, one with the new trust.pem succeeds.
  ClientTls trusts_old_only = new_agent;
  trusts_old_only.roots = old_ca_pem;
  answer = CallUntil(agent_port_, trusts_old_only, Refused);
  EXPECT_TRUE(Refused(answer)) << answer;
  new_agent.roots = ca_->TrustBundlePem();
  answer = Call(agent_port_, new_agent);
  EXPECT_TRUE(answer.ok()) << answer;

  // The old CA no longer verifies agents.
  old_agent.roots = ca_->TrustBundlePem();
  answer = CallUntil(agent_port_, old_agent, Refused);
  EXPECT_TRUE(Refused(answer)) << answer;
  answer = Call(agent_port_, new_agent);
  EXPECT_TRUE(answer.ok()) << answer;
}

TEST_F(TlsCredentialsTest, EnrollmentNeedsNoClientCertificate) {
  Answer answer = Call(enroll_port_, ClientTls{ca_->TrustBundlePem(), "", ""});
  ASSERT_TRUE(answer.ok()) << answer;
  EXPECT_THAT(answer.body, HasSubstr("no agent: the agent stream needs a client certificate"));

  // The enrollment port authenticates the server like the agent port.
  auto other =
      pki::NewAuthority("other", absl::Now() - absl::Hours(1), absl::Now() + absl::Hours(1));
  ASSERT_OK(other);
  answer = Call(enroll_port_, ClientTls{other->cert_pem, "", ""});
  EXPECT_TRUE(Refused(answer)) << answer;
  // And the agent port still demands a certificate.
  answer = Call(agent_port_, ClientTls{ca_->TrustBundlePem(), "", ""});
  EXPECT_TRUE(Refused(answer)) << answer;
}

}  // namespace
}  // namespace writeback::controller
