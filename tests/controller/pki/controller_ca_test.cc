// ControllerCa: the CA directory on disk, re-opening, operator CAs, server
// certificate re-issue, agent certificates and rotation.
#include "controller/pki/controller_ca.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/pki/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/shell.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using writeback::testing::RunShell;
using writeback::testing::ShellResult;
using writeback::testing::StatusIs;

absl::Time NowSeconds() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) { return ModeOf(path) != 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  chmod(path.c_str(), mode);
}

// The fingerprints of every certificate of a PEM bundle file.
std::set<std::string> FingerprintsOf(const std::string& path) {
  std::set<std::string> out;
  auto certs = pki::SplitCertificates(ReadFile(path));
  if (!certs.ok()) return out;
  for (const std::string& pem : *certs) out.insert(*pki::Fingerprint(pem));
  return out;
}

class ControllerCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/controller_ca_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    options_.dir = root_ + "/ca";  // Open creates it
    options_.server_names = {"localhost", "127.0.0.1"};
    now_ = NowSeconds();
  }
  void TearDown() override { RunShell("rm -rf " + root_); }

  std::string Path(const std::string& name) const { return options_.dir + "/" + name; }

  std::unique_ptr<ControllerCa> OpenOk(absl::Time now) {
    auto ca = ControllerCa::Open(options_, now);
    EXPECT_OK(ca);
    return ca.ok() ? *std::move(ca) : nullptr;
  }

  std::string NewCsr() { return *pki::NewCsrPem(*pki::NewPrivateKeyPem(), "agent"); }

  std::string root_;
  ControllerCa::Options options_;
  absl::Time now_;
  const AgentIdentity agent_{"corp.example.com", "dc1-agent"};
};

TEST_F(ControllerCaTest, FirstOpenCreatesThePrivateDirectory) {
  mode_t old_umask = umask(022);
  auto ca = OpenOk(now_);
  umask(old_umask);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ModeOf(options_.dir), 0700u);
  EXPECT_EQ(ModeOf(Path("ca.key")), 0600u);
  EXPECT_EQ(ModeOf(Path("server.key")), 0600u);
  for (const char* name : {"ca.pem", "server.pem", "agent-roots.pem", "trust.pem"}) {
    EXPECT_TRUE(Exists(Path(name))) << name;
  }
  EXPECT_FALSE(Exists(Path("next")));

  std::string ca_pem = ReadFile(Path("ca.pem"));
  EXPECT_EQ(ca->Pin(), *pki::Fingerprint(ca_pem));
  EXPECT_EQ(ca->TrustBundlePem(), ca_pem);
  EXPECT_EQ(ReadFile(Path("trust.pem")), ca_pem);
  EXPECT_EQ(ReadFile(Path("agent-roots.pem")), ca_pem);
  auto ca_info = pki::InspectCertificate(ca_pem);
  ASSERT_OK(ca_info);
  EXPECT_TRUE(ca_info->is_ca);

  std::string server_pem = ReadFile(ca->server_cert_path());
  EXPECT_OK(pki::CheckSignedBy(server_pem, ca_pem));
  EXPECT_OK(pki::CheckKeyMatchesCertificate(ReadFile(ca->server_key_path()), server_pem));
  auto server = pki::InspectCertificate(server_pem);
  ASSERT_OK(server);
  EXPECT_THAT(server->dns_sans, ElementsAre("localhost"));
  EXPECT_THAT(server->ip_sans, ElementsAre("127.0.0.1"));
  EXPECT_EQ(server->not_after, now_ + options_.server_cert_lifetime);

  CaState state = ca->State();
  EXPECT_EQ(state.serving_fingerprint, ca->Pin());
  EXPECT_EQ(state.serving_not_after, ca_info->not_after);
  EXPECT_EQ(state.next_fingerprint, "");
  EXPECT_EQ(state.server_cert_serial, server->serial);
  EXPECT_EQ(state.server_cert_not_after, server->not_after);

  ShellResult verify = RunShell("openssl verify -purpose sslserver -CAfile " + Path("trust.pem") +
                                " " + ca->server_cert_path());
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(ControllerCaTest, DefaultServerNames) {
  options_.server_names.clear();
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  auto server = pki::InspectCertificate(ReadFile(ca->server_cert_path()));
  ASSERT_OK(server);
  EXPECT_THAT(server->dns_sans, ElementsAre("localhost"));
  EXPECT_THAT(server->ip_sans, UnorderedElementsAre("127.0.0.1", "::1"));
}

TEST_F(ControllerCaTest, SecondOpenReusesTheCaAndTheServerCertificate) {
  auto first = OpenOk(now_);
  ASSERT_NE(first, nullptr);
  std::string server_key = ReadFile(first->server_key_path());
  auto second = OpenOk(now_ + absl::Hours(1));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->Pin(), first->Pin());
  EXPECT_EQ(second->State().server_cert_serial, first->State().server_cert_serial);
  EXPECT_EQ(ReadFile(second->server_key_path()), server_key);
}

TEST_F(ControllerCaTest, ServerCertificateIsReissuedForNewNamesOrNearExpiry) {
  options_.server_cert_lifetime = absl::Hours(100);
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  std::string serial = ca->State().server_cert_serial;
  std::string key = ReadFile(ca->server_key_path());

  options_.server_names = {"127.0.0.1", "localhost"};  // same names, other order
  EXPECT_EQ(OpenOk(now_)->State().server_cert_serial, serial);
  options_.server_names = {"localhost", "0:0::1"};  // ::1, written otherwise
  std::string with_ipv6 = OpenOk(now_)->State().server_cert_serial;
  EXPECT_NE(with_ipv6, serial);
  options_.server_names = {"localhost", "::1"};
  EXPECT_EQ(OpenOk(now_)->State().server_cert_serial, with_ipv6);

  options_.server_names = {"controller.corp.example.com", "10.0.0.7"};
  auto renamed = OpenOk(now_);
  std::string renamed_serial = renamed->State().server_cert_serial;
  EXPECT_NE(renamed_serial, with_ipv6);
  auto info = pki::InspectCertificate(ReadFile(renamed->server_cert_path()));
  ASSERT_OK(info);
  EXPECT_THAT(info->dns_sans, ElementsAre("controller.corp.example.com"));
  EXPECT_THAT(info->ip_sans, ElementsAre("10.0.0.7"));
  EXPECT_EQ(ReadFile(renamed->server_key_path()), key);  // the key is kept

  // 100 h lifetime: re-issued within its last 10 h, kept before.
  EXPECT_EQ(OpenOk(now_ + absl::Hours(89))->State().server_cert_serial, renamed_serial);
  auto late = OpenOk(now_ + absl::Hours(91));
  EXPECT_NE(late->State().server_cert_serial, renamed_serial);
  EXPECT_EQ(late->State().server_cert_not_after, now_ + absl::Hours(191));
}

TEST_F(ControllerCaTest, OperatorSuppliedCaIsUsed) {
  ASSERT_EQ(mkdir(options_.dir.c_str(), 0700), 0);
  // An RSA CA as an operator would make it with the openssl tool.
  ShellResult made = RunShell(absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=Operator CA' -keyout ",
      Path("ca.key"), " -out ", Path("ca.pem")));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  chmod(Path("ca.key").c_str(), 0600);
  std::string operator_pem = ReadFile(Path("ca.pem"));

  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->Pin(), *pki::Fingerprint(operator_pem));
  EXPECT_EQ(ReadFile(Path("ca.pem")), operator_pem);  // untouched
  EXPECT_OK(pki::CheckSignedBy(ReadFile(ca->server_cert_path()), operator_pem));

  auto issued = ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(24), now_);
  ASSERT_OK(issued);
  WriteFile(root_ + "/agent.pem", issued->cert_pem, 0644);
  ShellResult verify = RunShell("openssl verify -purpose sslclient -CAfile " + Path("trust.pem") +
                                " " + root_ + "/agent.pem");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(ControllerCaTest, KeyThatIsNotTheCertificatesIsRefused) {
  ASSERT_EQ(mkdir(options_.dir.c_str(), 0700), 0);
  auto a = pki::NewAuthority("A", now_ - absl::Hours(1), now_ + absl::Hours(100));
  auto b = pki::NewAuthority("B", now_ - absl::Hours(1), now_ + absl::Hours(100));
  ASSERT_OK(a);
  ASSERT_OK(b);
  WriteFile(Path("ca.pem"), a->cert_pem, 0644);
  WriteFile(Path("ca.key"), b->key_pem, 0600);
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(Path("ca.key") + " is not the key of " + Path("ca.pem"))));
  WriteFile(Path("ca.key"), a->key_pem, 0600);
  EXPECT_OK(ControllerCa::Open(options_, now_));
}

TEST_F(ControllerCaTest, MissingHalfOfASuppliedCaIsRefused) {
  ASSERT_EQ(mkdir(options_.dir.c_str(), 0700), 0);
  auto a = pki::NewAuthority("A", now_ - absl::Hours(1), now_ + absl::Hours(100));
  ASSERT_OK(a);
  WriteFile(Path("ca.pem"), a->cert_pem, 0644);
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(Path("ca.key")), HasSubstr("is missing"))));
}

TEST_F(ControllerCaTest, KeyFilesReadableByGroupAreRefusedNamingTheFile) {
  ASSERT_NE(OpenOk(now_), nullptr);
  for (const char* name : {"ca.key", "server.key"}) {
    chmod(Path(name).c_str(), 0640);
    EXPECT_THAT(ControllerCa::Open(options_, now_),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(Path(name)), HasSubstr("chmod 600"))))
        << name;
    chmod(Path(name).c_str(), 0600);
  }
  EXPECT_OK(ControllerCa::Open(options_, now_));
}

TEST_F(ControllerCaTest, CaCertificateThatIsNoCaOrExpiredIsRefused) {
  ASSERT_EQ(mkdir(options_.dir.c_str(), 0700), 0);
  auto issuer = pki::NewAuthority("issuer", now_ - absl::Hours(1), now_ + absl::Hours(100));
  ASSERT_OK(issuer);
  std::string key = *pki::NewPrivateKeyPem();
  pki::Profile p;
  p.common_name = "leaf";
  p.server_auth = true;
  p.not_before = now_ - absl::Hours(1);
  p.not_after = now_ + absl::Hours(10);
  auto leaf = pki::IssueForPublicKey(*issuer, *pki::PublicKeyPemOfPrivateKey(key), p);
  ASSERT_OK(leaf);
  WriteFile(Path("ca.pem"), *leaf, 0644);
  WriteFile(Path("ca.key"), key, 0600);
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(Path("ca.pem")), HasSubstr("not a CA certificate"))));

  auto expired = pki::NewAuthority("old", now_ - absl::Hours(2), now_ - absl::Hours(1));
  ASSERT_OK(expired);
  WriteFile(Path("ca.pem"), expired->cert_pem, 0644);
  WriteFile(Path("ca.key"), expired->key_pem, 0600);
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(Path("ca.pem")), HasSubstr("expired"))));

  WriteFile(Path("ca.pem"), issuer->cert_pem + expired->cert_pem, 0644);
  WriteFile(Path("ca.key"), issuer->key_pem, 0600);
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("exactly one")));
}

TEST_F(ControllerCaTest, AgentCertificate) {
  options_.ca_lifetime = absl::Hours(200);
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  auto issued = ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(168), now_);
  ASSERT_OK(issued);
  auto info = pki::InspectCertificate(issued->cert_pem);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject_cn, "dc1-agent");
  EXPECT_THAT(info->uri_sans, ElementsAre("writeback://forest/corp.example.com/agent/dc1-agent"));
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(issued->serial, info->serial);
  EXPECT_EQ(issued->issuer_fingerprint, ca->Pin());
  EXPECT_EQ(issued->not_before, now_ - absl::Seconds(60));  // min(60 s, 16.8 h)
  EXPECT_EQ(issued->not_after, now_ + absl::Hours(168));
  EXPECT_EQ(info->not_before, issued->not_before);
  EXPECT_EQ(info->not_after, issued->not_after);

  WriteFile(root_ + "/agent.pem", issued->cert_pem, 0644);
  std::string verify = "openssl verify -CAfile " + Path("trust.pem") + " -purpose ";
  ShellResult client = RunShell(verify + "sslclient " + root_ + "/agent.pem");
  EXPECT_EQ(client.exit_code, 0) << client.output;
  ShellResult server = RunShell(verify + "sslserver " + root_ + "/agent.pem");
  EXPECT_NE(server.exit_code, 0) << server.output;

  // A short lifetime: skew of a tenth of it.
  auto short_lived = ca->IssueAgentCertificate(NewCsr(), agent_, absl::Seconds(100), now_);
  ASSERT_OK(short_lived);
  EXPECT_EQ(short_lived->not_before, now_ - absl::Seconds(10));
  // Capped at the CA's not_after.
  auto long_lived = ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(1000), now_);
  ASSERT_OK(long_lived);
  EXPECT_EQ(long_lived->not_after, ca->State().serving_not_after);
  EXPECT_EQ(long_lived->not_after, now_ + absl::Hours(200));

  EXPECT_THAT(
      ca->IssueAgentCertificate(NewCsr(), {"corp.example.com", "bad id!"}, absl::Hours(1), now_),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ca->IssueAgentCertificate(NewCsr(), agent_, absl::ZeroDuration(), now_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ca->IssueAgentCertificate("garbage", agent_, absl::Hours(1), now_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ControllerCaTest, ExtraClientCaVerifiesAgentsButIsNotTrustedForTheServer) {
  auto extra = pki::NewAuthority("Operator agents CA", now_, now_ + absl::Hours(100));
  ASSERT_OK(extra);
  options_.extra_client_ca_pem = extra->cert_pem;
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(FingerprintsOf(ca->agent_roots_path()),
            (std::set<std::string>{ca->Pin(), *pki::Fingerprint(extra->cert_pem)}));
  EXPECT_EQ(FingerprintsOf(Path("trust.pem")), std::set<std::string>{ca->Pin()});

  options_.extra_client_ca_pem = "not a certificate";
  EXPECT_THAT(ControllerCa::Open(options_, now_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("extra client CA")));
}

TEST_F(ControllerCaTest, RotationWithOverlappingTrust) {
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  const std::string old_pin = ca->Pin();
  const std::string old_ca_pem = ReadFile(Path("ca.pem"));
  const std::string server_key = ReadFile(ca->server_key_path());
  const std::string server_serial = ca->State().server_cert_serial;
  EXPECT_THAT(ca->FinishRotation(now_), StatusIs(absl::StatusCode::kFailedPrecondition));

  ASSERT_OK(ca->BeginRotation(now_));
  const std::string next_pin = ca->State().next_fingerprint;
  ASSERT_FALSE(next_pin.empty());
  EXPECT_NE(next_pin, old_pin);
  EXPECT_EQ(ca->Pin(), old_pin);
  EXPECT_EQ(ModeOf(Path("next")), 0700u);
  EXPECT_EQ(ModeOf(Path("next/ca.key")), 0600u);
  const std::string next_pem = ReadFile(Path("next/ca.pem"));
  EXPECT_EQ(*pki::Fingerprint(next_pem), next_pin);
  EXPECT_EQ(FingerprintsOf(Path("trust.pem")), (std::set<std::string>{old_pin, next_pin}));
  EXPECT_EQ(FingerprintsOf(ca->agent_roots_path()), (std::set<std::string>{old_pin, next_pin}));
  EXPECT_EQ(ca->TrustBundlePem(), ReadFile(Path("trust.pem")));
  EXPECT_EQ(ca->State().server_cert_serial, server_serial);  // still the serving CA's

  auto issued = ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(24), now_);
  ASSERT_OK(issued);
  EXPECT_EQ(issued->issuer_fingerprint, next_pin);
  EXPECT_OK(pki::CheckSignedBy(issued->cert_pem, next_pem));
  EXPECT_THAT(ca->BeginRotation(now_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already under way")));

  // A restart in the middle of the rotation finds it where it was.
  ca.reset();
  ca = OpenOk(now_ + absl::Minutes(5));
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->Pin(), old_pin);
  EXPECT_EQ(ca->State().next_fingerprint, next_pin);
  EXPECT_EQ(ca->State().server_cert_serial, server_serial);
  EXPECT_EQ(ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(24), now_)->issuer_fingerprint,
            next_pin);
  EXPECT_THAT(ca->BeginRotation(now_), StatusIs(absl::StatusCode::kFailedPrecondition));

  ASSERT_OK(ca->FinishRotation(now_ + absl::Minutes(10)));
  EXPECT_EQ(ca->Pin(), next_pin);
  EXPECT_EQ(ca->State().next_fingerprint, "");
  EXPECT_EQ(ReadFile(Path("ca.pem")), next_pem);
  EXPECT_OK(pki::CheckKeyMatchesCertificate(ReadFile(Path("ca.key")), next_pem));
  EXPECT_EQ(ModeOf(Path("ca.key")), 0600u);
  EXPECT_FALSE(Exists(Path("next")));
  EXPECT_EQ(ReadFile(Path("retired/" + old_pin + ".pem")), old_ca_pem);
  EXPECT_EQ(FingerprintsOf(Path("trust.pem")), std::set<std::string>{next_pin});
  EXPECT_EQ(FingerprintsOf(ca->agent_roots_path()), std::set<std::string>{next_pin});
  EXPECT_EQ(ca->TrustBundlePem(), next_pem);

  std::string server_pem = ReadFile(ca->server_cert_path());
  EXPECT_OK(pki::CheckSignedBy(server_pem, next_pem));
  EXPECT_EQ(ReadFile(ca->server_key_path()), server_key);
  EXPECT_OK(pki::CheckKeyMatchesCertificate(server_key, server_pem));
  EXPECT_NE(ca->State().server_cert_serial, server_serial);
  EXPECT_EQ(ca->IssueAgentCertificate(NewCsr(), agent_, absl::Hours(24), now_)->issuer_fingerprint,
            next_pin);
  EXPECT_THAT(ca->FinishRotation(now_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no CA rotation")));

  ca.reset();
  ca = OpenOk(now_ + absl::Minutes(15));
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->Pin(), next_pin);
  EXPECT_EQ(ca->State().next_fingerprint, "");
  EXPECT_OK(ca->BeginRotation(now_ + absl::Minutes(15)));  // a new rotation may follow
}

TEST_F(ControllerCaTest, OpenCompletesAFinishRotationThatStoppedHalfway) {
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  ASSERT_OK(ca->BeginRotation(now_));
  const std::string next_pin = ca->State().next_fingerprint;
  ca.reset();
  // FinishRotation wrote the new ca.key, then the process died.
  WriteFile(Path("ca.key"), ReadFile(Path("next/ca.key")), 0600);

  ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->Pin(), next_pin);
  EXPECT_EQ(ca->State().next_fingerprint, "");
  EXPECT_FALSE(Exists(Path("next")));
  EXPECT_OK(pki::CheckSignedBy(ReadFile(ca->server_cert_path()), ReadFile(Path("ca.pem"))));
  EXPECT_EQ(FingerprintsOf(Path("trust.pem")), std::set<std::string>{next_pin});
}

TEST_F(ControllerCaTest, OpenDropsABeginRotationThatStoppedHalfway) {
  auto ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  const std::string pin = ca->Pin();
  ca.reset();
  ASSERT_EQ(mkdir(Path("next.tmp").c_str(), 0700), 0);
  WriteFile(Path("next.tmp/ca.key"), *pki::NewPrivateKeyPem(), 0600);

  ca = OpenOk(now_);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->Pin(), pin);
  EXPECT_EQ(ca->State().next_fingerprint, "");
  EXPECT_FALSE(Exists(Path("next.tmp")));
  EXPECT_OK(ca->BeginRotation(now_));
}

}  // namespace
}  // namespace writeback::controller
