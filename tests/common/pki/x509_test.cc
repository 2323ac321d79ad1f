// common/pki/x509.h against the openssl command line tool as the oracle.
#include "common/pki/x509.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/shell.h"
#include "tests/testing/status_matchers.h"

namespace writeback::pki {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using writeback::testing::RunShell;
using writeback::testing::ShellResult;
using writeback::testing::StatusIs;

// Whole seconds: certificates carry no fractions.
absl::Time NowSeconds() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/x509_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    now_ = NowSeconds();
    auto ca = NewAuthority("test CA", now_ - absl::Minutes(1), now_ + absl::Hours(24));
    ASSERT_OK(ca);
    ca_ = *ca;
  }
  void TearDown() override { RunShell("rm -rf " + dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  Profile AgentProfile() const {
    Profile p;
    p.common_name = "dc1-agent";
    p.uri_sans = {"writeback://forest/corp.example.com/agent/dc1-agent"};
    p.client_auth = true;
    p.not_before = now_ - absl::Seconds(30);
    p.not_after = now_ + absl::Hours(1);
    return p;
  }

  // A CSR made by the openssl tool for a key of `genpkey_options`.
  std::string CliCsr(const std::string& name, const std::string& genpkey_options,
                     const std::string& req_options = "-subj /CN=cli") {
    ShellResult key = RunShell(
        absl::StrCat("openssl genpkey ", genpkey_options, " -out ", dir_, "/", name, ".key"));
    EXPECT_EQ(key.exit_code, 0) << key.output;
    ShellResult csr = RunShell(absl::StrCat("openssl req -new -key ", dir_, "/", name, ".key ",
                                            req_options, " -out ", dir_, "/", name, ".csr"));
    EXPECT_EQ(csr.exit_code, 0) << csr.output;
    return Read(name + ".csr");
  }

  std::string dir_;
  absl::Time now_;
  Authority ca_;
};

TEST_F(X509Test, KeyCsrIssueInspectRoundTrip) {
  auto key = NewPrivateKeyPem();
  ASSERT_OK(key);
  EXPECT_TRUE(absl::StartsWith(*key, "-----BEGIN PRIVATE KEY-----")) << "PKCS#8 expected";
  auto csr = NewCsrPem(*key, "dc1-agent");
  ASSERT_OK(csr);
  Profile p = AgentProfile();
  p.dns_sans = {"dc1.corp.example.com", "localhost"};
  p.ip_sans = {"127.0.0.1", "::1"};
  auto cert = IssueFromCsr(ca_, *csr, p);
  ASSERT_OK(cert);

  auto info = InspectCertificate(*cert);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject_cn, "dc1-agent");
  EXPECT_EQ(info->issuer_cn, "test CA");
  EXPECT_THAT(info->uri_sans, ElementsAre("writeback://forest/corp.example.com/agent/dc1-agent"));
  EXPECT_THAT(info->dns_sans, ElementsAre("dc1.corp.example.com", "localhost"));
  EXPECT_THAT(info->ip_sans, ElementsAre("127.0.0.1", "::1"));
  EXPECT_EQ(info->not_before, p.not_before);
  EXPECT_EQ(info->not_after, p.not_after);
  EXPECT_FALSE(info->is_ca);
  EXPECT_THAT(info->serial, MatchesRegex("[1-9a-f][0-9a-f]{0,31}"));
  EXPECT_THAT(info->fingerprint, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(*Fingerprint(*cert), info->fingerprint);

  // The serial and fingerprint as the openssl tool prints them.
  Write("cert.pem", *cert);
  ShellResult fp = RunShell("openssl x509 -noout -fingerprint -sha256 -in " + dir_ + "/cert.pem");
  ASSERT_EQ(fp.exit_code, 0) << fp.output;
  std::string cli_fp(absl::StripAsciiWhitespace(fp.output.substr(fp.output.find('=') + 1)));
  EXPECT_EQ(info->fingerprint, absl::AsciiStrToLower(absl::StrReplaceAll(cli_fp, {{":", ""}})));
  ShellResult serial = RunShell("openssl x509 -noout -serial -in " + dir_ + "/cert.pem");
  std::string cli_serial(absl::StripAsciiWhitespace(absl::StripPrefix(serial.output, "serial=")));
  EXPECT_EQ(info->serial,
            absl::AsciiStrToLower(cli_serial.substr(cli_serial.find_first_not_of('0'))));

  auto again = IssueFromCsr(ca_, *csr, p);
  ASSERT_OK(again);
  EXPECT_NE(InspectCertificate(*again)->serial, info->serial);
  EXPECT_OK(CheckKeyMatchesCertificate(*key, *cert));

  auto ca_info = InspectCertificate(ca_.cert_pem);
  ASSERT_OK(ca_info);
  EXPECT_TRUE(ca_info->is_ca);
  EXPECT_EQ(ca_info->subject_cn, "test CA");
  EXPECT_EQ(ca_info->issuer_cn, "test CA");
}

TEST_F(X509Test, PublicKeyOfKeyAndOfCsrAgreeAndCanBeIssuedFor) {
  auto key = NewPrivateKeyPem();
  ASSERT_OK(key);
  auto from_key = PublicKeyPemOfPrivateKey(*key);
  ASSERT_OK(from_key);
  EXPECT_TRUE(absl::StartsWith(*from_key, "-----BEGIN PUBLIC KEY-----"));
  EXPECT_EQ(*PublicKeyPemOfPrivateKey(*NewCsrPem(*key, "x")), *from_key);
  Profile p = AgentProfile();
  p.client_auth = false;
  p.server_auth = true;
  auto cert = IssueForPublicKey(ca_, *from_key, p);
  ASSERT_OK(cert);
  EXPECT_OK(CheckKeyMatchesCertificate(*key, *cert));
  EXPECT_THAT(PublicKeyPemOfPrivateKey("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(IssueForPublicKey(ca_, *key, p), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Flips one byte of the CSR's signed content (the subject) in its DER.
std::string TamperSubject(const std::string& csr_pem) {
  BIO* in = BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req, &der);
  X509_REQ_free(req);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  size_t at = bytes.find("dc1-agent");
  if (at == std::string::npos) return "";
  bytes[at] = 'D';
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509_REQ* tampered = d2i_X509_REQ(nullptr, &p, static_cast<long>(bytes.size()));
  if (tampered == nullptr) return "";
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(out, tampered);
  X509_REQ_free(tampered);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(out);
  return pem;
}

TEST_F(X509Test, CsrWithBrokenSignatureIsRefused) {
  auto csr = NewCsrPem(*NewPrivateKeyPem(), "dc1-agent");
  ASSERT_OK(csr);
  std::string tampered = TamperSubject(*csr);
  ASSERT_FALSE(tampered.empty());
  ASSERT_NE(tampered, *csr);
  EXPECT_THAT(
      IssueFromCsr(ca_, tampered, AgentProfile()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CSR signature does not verify")));
  EXPECT_THAT(
      IssueFromCsr(ca_, "not a csr", AgentProfile()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate signing request")));
}

TEST_F(X509Test, CsrSubjectAndExtensionsAreIgnored) {
  std::string csr =
      CliCsr("evil", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
             "-subj /CN=evil/O=Evil -addext subjectAltName=URI:writeback://forest/x/agent/evil,"
             "DNS:evil.example -addext basicConstraints=critical,CA:TRUE");
  auto cert = IssueFromCsr(ca_, csr, AgentProfile());
  ASSERT_OK(cert);
  auto info = InspectCertificate(*cert);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject_cn, "dc1-agent");
  EXPECT_THAT(info->uri_sans, ElementsAre("writeback://forest/corp.example.com/agent/dc1-agent"));
  EXPECT_THAT(info->dns_sans, IsEmpty());
  EXPECT_FALSE(info->is_ca);
  Write("cert.pem", *cert);
  ShellResult subject = RunShell("openssl x509 -noout -subject -in " + dir_ + "/cert.pem");
  EXPECT_EQ(absl::StripAsciiWhitespace(subject.output), "subject=CN = dc1-agent");
}

TEST_F(X509Test, KeyTypesAndSizes) {
  EXPECT_THAT(IssueFromCsr(ca_, CliCsr("rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024"),
                           AgentProfile()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1024 bits")));
  auto rsa = IssueFromCsr(ca_, CliCsr("rsa2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"),
                          AgentProfile());
  ASSERT_OK(rsa);
  Write("rsa.pem", *rsa);
  ShellResult text = RunShell("openssl x509 -noout -ext keyUsage -in " + dir_ + "/rsa.pem");
  EXPECT_THAT(text.output, HasSubstr("Digital Signature, Key Encipherment"));
  EXPECT_OK(IssueFromCsr(ca_, CliCsr("p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"),
                         AgentProfile()));
  EXPECT_THAT(IssueFromCsr(ca_, CliCsr("p521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521"),
                           AgentProfile()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("curve")));
  EXPECT_THAT(IssueFromCsr(ca_, CliCsr("ed25519", "-algorithm ED25519"), AgentProfile()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ED25519")));
}

TEST_F(X509Test, ValidityMustLieWithinTheAuthority) {
  auto csr = NewCsrPem(*NewPrivateKeyPem(), "dc1-agent");
  ASSERT_OK(csr);
  Profile p = AgentProfile();
  p.not_after = now_ + absl::Hours(25);
  EXPECT_THAT(IssueFromCsr(ca_, *csr, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("beyond the authority")));
  p.not_after = now_ + absl::Hours(24);  // exactly the CA's not_after
  EXPECT_OK(IssueFromCsr(ca_, *csr, p));
  p.not_after = p.not_before;
  EXPECT_THAT(IssueFromCsr(ca_, *csr, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be after not_before")));
  p = AgentProfile();
  p.ip_sans = {"not-an-ip"};
  EXPECT_THAT(IssueFromCsr(ca_, *csr, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not-an-ip")));
  p = AgentProfile();
  p.common_name = "";
  EXPECT_THAT(IssueFromCsr(ca_, *csr, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("common name")));
}

TEST_F(X509Test, KeyMatchAndSignatureChecks) {
  auto key = NewPrivateKeyPem();
  auto other_key = NewPrivateKeyPem();
  ASSERT_OK(key);
  ASSERT_OK(other_key);
  auto cert = IssueFromCsr(ca_, *NewCsrPem(*key, "a"), AgentProfile());
  ASSERT_OK(cert);
  EXPECT_OK(CheckKeyMatchesCertificate(*key, *cert));
  EXPECT_THAT(
      CheckKeyMatchesCertificate(*other_key, *cert),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key does not match certificate")));
  EXPECT_OK(CheckKeyMatchesCertificate(ca_.key_pem, ca_.cert_pem));

  auto other_ca = NewAuthority("other CA", now_ - absl::Minutes(1), now_ + absl::Hours(24));
  ASSERT_OK(other_ca);
  EXPECT_OK(CheckSignedBy(*cert, ca_.cert_pem));
  EXPECT_OK(CheckSignedBy(ca_.cert_pem, ca_.cert_pem));  // self-signed
  EXPECT_THAT(CheckSignedBy(*cert, other_ca->cert_pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not signed by")));
  EXPECT_THAT(CheckSignedBy(other_ca->cert_pem, ca_.cert_pem),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckSignedBy("garbage", ca_.cert_pem), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(X509Test, SplitCertificates) {
  auto other_ca = NewAuthority("other CA", now_ - absl::Minutes(1), now_ + absl::Hours(24));
  ASSERT_OK(other_ca);
  auto split = SplitCertificates("# a comment\n" + ca_.cert_pem + "\n" + other_ca->cert_pem);
  ASSERT_OK(split);
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ(*Fingerprint((*split)[0]), *Fingerprint(ca_.cert_pem));
  EXPECT_EQ(*Fingerprint((*split)[1]), *Fingerprint(other_ca->cert_pem));
  EXPECT_EQ((*split)[0], ca_.cert_pem);

  EXPECT_THAT(SplitCertificates("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no certificate")));
  EXPECT_THAT(SplitCertificates(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      SplitCertificates(ca_.cert_pem +
                        "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate 2")));
  EXPECT_THAT(SplitCertificates("-----BEGIN CERTIFICATE-----\nMIIB"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no END")));
  EXPECT_THAT(InspectCertificate("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a certificate")));
  EXPECT_THAT(Fingerprint(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NewCsrPem("garbage", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a private key")));
}

TEST_F(X509Test, OpensslVerifiesTheChainForTheProfilesPurpose) {
  std::string ca_path = Write("ca.pem", ca_.cert_pem);
  ShellResult self = RunShell("openssl verify -CAfile " + ca_path + " " + ca_path);
  EXPECT_EQ(self.exit_code, 0) << self.output;

  auto key = NewPrivateKeyPem();
  ASSERT_OK(key);
  auto client = IssueFromCsr(ca_, *NewCsrPem(*key, "client"), AgentProfile());
  ASSERT_OK(client);
  Profile server_profile = AgentProfile();
  server_profile.common_name = "localhost";
  server_profile.uri_sans.clear();
  server_profile.dns_sans = {"localhost"};
  server_profile.client_auth = false;
  server_profile.server_auth = true;
  auto server = IssueForPublicKey(ca_, *PublicKeyPemOfPrivateKey(*key), server_profile);
  ASSERT_OK(server);
  std::string client_path = Write("client.pem", *client);
  std::string server_path = Write("server.pem", *server);
  std::string verify = "openssl verify -CAfile " + ca_path + " -purpose ";

  ShellResult ok = RunShell(verify + "sslclient " + client_path);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  ok = RunShell(verify + "sslserver " + server_path);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  ShellResult wrong = RunShell(verify + "sslserver " + client_path);
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
  EXPECT_THAT(wrong.output, HasSubstr("unsuitable certificate purpose"));
  wrong = RunShell(verify + "sslclient " + server_path);
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
  EXPECT_THAT(wrong.output, HasSubstr("unsuitable certificate purpose"));

  auto other_ca = NewAuthority("other CA", now_ - absl::Minutes(1), now_ + absl::Hours(24));
  ASSERT_OK(other_ca);
  ShellResult foreign =
      RunShell("openssl verify -CAfile " + Write("other.pem", other_ca->cert_pem) +
               " -purpose sslclient " + client_path);
  EXPECT_NE(foreign.exit_code, 0) << foreign.output;
}

// gRPC shares OpenSSL's per-thread error queue: a stale entry left by a
// call here could be taken for a TLS error later on the same thread.
TEST_F(X509Test, LeavesNoOpenSslErrorBehind) {
  ERR_clear_error();
  std::string key = *NewPrivateKeyPem();
  std::string csr = *NewCsrPem(key, "dc1-agent");
  EXPECT_OK(PublicKeyPemOfPrivateKey(csr));  // tries a private key first
  EXPECT_OK(IssueFromCsr(ca_, csr, AgentProfile()));
  EXPECT_OK(SplitCertificates(ca_.cert_pem + ca_.cert_pem));
  EXPECT_EQ(ERR_peek_error(), 0ul) << "after successful calls";
  EXPECT_FALSE(IssueFromCsr(ca_, TamperSubject(csr), AgentProfile()).ok());
  EXPECT_FALSE(CheckSignedBy(ca_.cert_pem, *IssueFromCsr(ca_, csr, AgentProfile())).ok());
  EXPECT_FALSE(InspectCertificate("garbage").ok());
  EXPECT_FALSE(NewCsrPem(ca_.cert_pem, "x").ok());
  EXPECT_EQ(ERR_peek_error(), 0ul) << "after failed calls";
}

}  // namespace
}  // namespace writeback::pki
