// The agent's enrolled key and certificates on disk: a renewal replaces the
// key without a moment in which agent.key is missing, and a renewal cut short
// between key and certificate still leaves a usable pair.
#include "agent/enroll/credentials.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/pki/x509.h"
#include "gtest/gtest.h"

namespace writeback::agent {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-credentials-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/state";
    auto ca =
        pki::NewAuthority("test CA", absl::Now() - absl::Minutes(1), absl::Now() + absl::Hours(24));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
  }

  // A key and a certificate of the test CA for it.
  AgentCredentials Issue() {
    AgentCredentials c;
    auto key = pki::NewPrivateKeyPem();
    EXPECT_TRUE(key.ok());
    auto pub = pki::PublicKeyPemOfPrivateKey(*key);
    EXPECT_TRUE(pub.ok());
    pki::Profile p;
    p.common_name = "agent-1";
    p.uri_sans = {"writeback://forest/corp.example.test/agent/agent-1"};
    p.client_auth = true;
    p.not_before = absl::Now() - absl::Minutes(1);
    p.not_after = absl::Now() + absl::Hours(1);
    auto cert = pki::IssueForPublicKey(ca_, *pub, p);
    EXPECT_TRUE(cert.ok()) << cert.status();
    c.key_pem = *key;
    c.cert_pem = *cert;
    c.ca_pem = ca_.cert_pem;
    return c;
  }

  std::string dir_;
  pki::Authority ca_;
};

TEST_F(CredentialsTest, ARenewalKeepsThePreviousKeyBesideTheNewOne) {
  AgentCredentials first = Issue();
  ASSERT_TRUE(SaveCredentials(dir_, first).ok());
  AgentCredentials second = Issue();
  ASSERT_TRUE(SaveCredentials(dir_, second).ok());
  auto loaded = LoadCredentials(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key_pem, second.key_pem);
  EXPECT_EQ(*ReadPrivateFile(dir_ + "/agent.key.old"), first.key_pem);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/agent.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/agent.key.old").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CredentialsTest, ARenewalCutShortBeforeTheCertificateLeavesAUsablePair) {
  AgentCredentials first = Issue();
  ASSERT_TRUE(SaveCredentials(dir_, first).ok());
  AgentCredentials second = Issue();
  ASSERT_TRUE(SaveCredentials(dir_, second).ok());
  // As if the agent died after installing a third key, before its certificate.
  AgentCredentials third = Issue();
  ASSERT_TRUE(WritePrivateFileAtomically(dir_ + "/agent.key.new", third.key_pem).ok());
  ASSERT_EQ(rename((dir_ + "/agent.key").c_str(), (dir_ + "/agent.key.old").c_str()), 0);
  ASSERT_EQ(rename((dir_ + "/agent.key.new").c_str(), (dir_ + "/agent.key").c_str()), 0);
  auto loaded = LoadCredentials(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key_pem, second.key_pem);  // the one agent.pem was issued for
}

TEST_F(CredentialsTest, AKeyMissingAfterAnOlderAgentWasCutShortFallsBackToTheKeptOne) {
  AgentCredentials first = Issue();
  ASSERT_TRUE(SaveCredentials(dir_, first).ok());
  // Agents before this fix renamed agent.key away before installing the new one.
  ASSERT_EQ(rename((dir_ + "/agent.key").c_str(), (dir_ + "/agent.key.old").c_str()), 0);
  auto loaded = LoadCredentials(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key_pem, first.key_pem);
}

}  // namespace
}  // namespace writeback::agent
