// The agent's configuration rules (agent/config/agent_config.h): defaults,
// each check, and the local policy a configuration describes.
#include "agent/config/agent_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using writeback::testing::IsOk;
using writeback::testing::StatusIs;

v1::AgentConfig SimpleBind() {
  v1::AgentConfig c = DefaultAgentConfig();
  c.mutable_ldap()->add_urls("ldaps://dc1.corp.example.com");
  c.mutable_ldap()->set_bind_dn("CN=svc,DC=corp,DC=example,DC=com");
  c.mutable_ldap()->set_password_file("/etc/writeback/ldap.pass");
  return c;
}

TEST(AgentConfigTest, SimpleBindIsAcceptedAndStateDirDefaults) {
  v1::AgentConfig c = SimpleBind();
  ASSERT_THAT(FinishAgentConfig(&c), IsOk());
  EXPECT_EQ(c.state_dir(), "/var/lib/writeback-agent");
  EXPECT_EQ(c.controller(), "127.0.0.1:7443");
}

TEST(AgentConfigTest, DefaultsAloneNameNoDc) {
  v1::AgentConfig c = DefaultAgentConfig();
  EXPECT_THAT(FinishAgentConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ldap.urls")));
}

TEST(AgentConfigTest, TlsFilesGoTogether) {
  v1::AgentConfig c = SimpleBind();
  c.mutable_tls()->set_cert_file("agent.pem");
  c.mutable_tls()->set_key_file("agent.key");
  EXPECT_THAT(FinishAgentConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("go together")));
  c.mutable_tls()->set_ca_file("ca.pem");
  EXPECT_THAT(FinishAgentConfig(&c), IsOk());
}

TEST(AgentConfigTest, GssapiNeedsKeytabAndPrincipalAndNoPassword) {
  v1::AgentConfig c = SimpleBind();
  c.mutable_ldap()->set_sasl_mechanism("gssapi");
  EXPECT_THAT(FinishAgentConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keytab_file")));
  c.mutable_ldap()->set_keytab_file("agent.keytab");
  c.mutable_ldap()->set_principal("svc@CORP.EXAMPLE.COM");
  EXPECT_THAT(FinishAgentConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("simple bind")));
  c.mutable_ldap()->clear_bind_dn();
  c.mutable_ldap()->clear_password_file();
  EXPECT_THAT(FinishAgentConfig(&c), IsOk());
}

TEST(AgentConfigTest, OtherSaslMechanismsAreRefused) {
  v1::AgentConfig c = SimpleBind();
  c.mutable_ldap()->set_sasl_mechanism("DIGEST-MD5");
  EXPECT_THAT(FinishAgentConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only \"GSSAPI\"")));
}

TEST(AgentConfigTest, PolicyKeepsItsDefaultsForFieldsLeftOut) {
  const LocalPolicy policy = LocalPolicyFromConfig(SimpleBind());
  EXPECT_EQ(policy.max_values_per_attribute, LocalPolicy::kDefaultMaxValuesPerAttribute);
  EXPECT_TRUE(policy.mail_must_match_primary);
  EXPECT_TRUE(policy.check_address_uniqueness);
  EXPECT_EQ(policy.write_window, absl::Hours(1));
  EXPECT_TRUE(policy.allowed_attributes.empty());
}

TEST(AgentConfigTest, PolicyTakesWhatTheFileSets) {
  v1::AgentConfig c = SimpleBind();
  c.add_allowed_attributes("mail");
  c.add_scope_ous("OU=Mailboxes,DC=corp,DC=example,DC=com");
  c.add_accepted_domains("corp.example.com");
  c.add_owned_address_types("SMTP");
  c.set_max_values_per_attribute(0);
  c.set_mail_must_match_primary(false);
  c.set_check_address_uniqueness(false);
  c.set_write_window_s(60);
  c.set_max_writes_per_window(100);
  c.set_dry_run(true);
  const LocalPolicy policy = LocalPolicyFromConfig(c);
  EXPECT_THAT(policy.allowed_attributes, ElementsAre("mail"));
  EXPECT_THAT(policy.scope_ous, ElementsAre("OU=Mailboxes,DC=corp,DC=example,DC=com"));
  EXPECT_THAT(policy.accepted_domains, ElementsAre("corp.example.com"));
  EXPECT_THAT(policy.owned_address_types, ElementsAre("SMTP"));
  EXPECT_EQ(policy.max_values_per_attribute, 0u);
  EXPECT_FALSE(policy.mail_must_match_primary);
  EXPECT_FALSE(policy.check_address_uniqueness);
  EXPECT_EQ(policy.write_window, absl::Seconds(60));
  EXPECT_EQ(policy.max_writes_per_window, 100u);
  EXPECT_TRUE(policy.dry_run);
  EXPECT_THAT(ValidateLocalPolicy(policy), IsOk());
}

}  // namespace
}  // namespace writeback::agent
