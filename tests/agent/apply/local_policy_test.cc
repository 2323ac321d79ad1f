#include "agent/apply/local_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

v1::Job JobOf(const std::string& attribute, std::vector<std::string> desired) {
  v1::Job job;
  job.set_job_id("j");
  v1::AttributeChange* change = job.add_changes();
  change->set_attribute(attribute);
  for (const std::string& v : desired) change->add_desired(v);
  return job;
}

TEST(PolicyCheckerTest, DefaultAllowlistIsTheCatalogDefaultSet) {
  PolicyChecker checker(LocalPolicy{});
  EXPECT_EQ(checker.allowed().size(), 24u);
  EXPECT_NE(checker.FindAllowed("PROXYADDRESSES"), nullptr);
  EXPECT_EQ(checker.FindAllowed("msExchHideFromAddressLists"), nullptr);
}

TEST(PolicyCheckerTest, RefusesAttributesOutsideTheCatalogOrAllowlist) {
  PolicyChecker checker(LocalPolicy{{"mail"}, {}});
  EXPECT_OK(checker.CheckJob(JobOf("MAIL", {"a@corp.example.test"})));
  EXPECT_THAT(checker.CheckJob(JobOf("member", {"CN=x"})),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("member")));
  EXPECT_THAT(checker.CheckJob(JobOf("extensionAttribute1", {"x"})),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("extensionAttribute1")));
}

TEST(PolicyCheckerTest, OptInAttributeIsAllowedWhenListed) {
  PolicyChecker checker(LocalPolicy{{"msExchHideFromAddressLists"}, {}});
  EXPECT_OK(checker.CheckJob(JobOf("msExchHideFromAddressLists", {"TRUE"})));
}

TEST(PolicyCheckerTest, RefusesInvalidValuesNamingAttributeAndValue) {
  PolicyChecker checker(LocalPolicy{});
  EXPECT_THAT(checker.CheckJob(JobOf("msExchRecipientTypeDetails", {"abc"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("msExchRecipientTypeDetails")));
  EXPECT_THAT(checker.CheckJob(JobOf("mail", {"a@corp.example.test", "b@corp.example.test"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mail")));
}

TEST(PolicyCheckerTest, RefusesAnAttributeChangedTwice) {
  v1::Job job = JobOf("mail", {"a@corp.example.test"});
  *job.add_changes() = job.changes(0);
  EXPECT_THAT(PolicyChecker(LocalPolicy{}).CheckJob(job),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

TEST(PolicyCheckerTest, ScopeComparesWholeRdnsIgnoringCase) {
  PolicyChecker checker(LocalPolicy{{}, {"OU=Mailboxes,DC=corp,DC=example,DC=test"}});
  EXPECT_TRUE(checker.InScope("CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test"));
  EXPECT_TRUE(checker.InScope("cn=Ann,ou=MAILBOXES, dc=Corp,dc=example,dc=test"));
  EXPECT_TRUE(checker.InScope("CN=Ann,OU=Sub,OU=Mailboxes,DC=corp,DC=example,DC=test"));
  EXPECT_TRUE(checker.InScope("OU=Mailboxes,DC=corp,DC=example,DC=test"));
  EXPECT_FALSE(checker.InScope("CN=Eve,OU=NotMailboxes,DC=corp,DC=example,DC=test"));
  EXPECT_FALSE(checker.InScope("CN=Eve,OU=Mailboxes,DC=corp,DC=example,DC=test2"));
  EXPECT_FALSE(checker.InScope("CN=OU=Mailboxes,DC=corp,DC=example,DC=test,OU=x,DC=other"));
  EXPECT_FALSE(checker.InScope("CN=Eve\\,OU=Mailboxes,DC=corp,DC=example,DC=test,OU=x"));
  EXPECT_FALSE(checker.InScope("CN=Eve,OU=Outside,DC=corp,DC=example,DC=test"));
  EXPECT_FALSE(checker.InScope("not a dn"));
}

TEST(PolicyCheckerTest, ScopeDecodesEscapes) {
  PolicyChecker checker(LocalPolicy{{}, {"OU=Sales\\, EMEA,DC=corp,DC=test"}});
  EXPECT_TRUE(checker.InScope("CN=x,OU=sales\\2c emea,DC=corp,DC=test"));
  EXPECT_FALSE(checker.InScope("CN=x,OU=Sales,DC=corp,DC=test"));
}

TEST(PolicyCheckerTest, UnreadableScopeContainsNothing) {
  PolicyChecker checker(LocalPolicy{{}, {"garbage"}});
  EXPECT_FALSE(checker.InScope("CN=x,DC=corp,DC=test"));
  EXPECT_THAT(ValidateLocalPolicy(LocalPolicy{{}, {"garbage"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("garbage")));
  EXPECT_THAT(ValidateLocalPolicy(LocalPolicy{{"member"}, {}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("member")));
  EXPECT_OK(ValidateLocalPolicy(LocalPolicy{{"mail"}, {"OU=A,DC=corp,DC=test"}}));
}

TEST(PolicyCheckerTest, HideFromAddressListsIsRefusedByDefault) {
  PolicyChecker checker(LocalPolicy{});
  EXPECT_THAT(checker.CheckJob(JobOf("msExchHideFromAddressLists", {"TRUE"})),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("msExchHideFromAddressLists")));
  PolicyChecker opted_in(LocalPolicy{{"mail", "msExchHideFromAddressLists"}, {}});
  EXPECT_OK(opted_in.CheckJob(JobOf("msExchHideFromAddressLists", {"true"})));
}

TEST(PolicyCheckerTest, AcceptedDomainsApplyToMailAndSmtpValues) {
  LocalPolicy policy;
  policy.accepted_domains = {"corp.example.test", "Example.COM"};
  PolicyChecker checker(policy);
  EXPECT_OK(checker.CheckJob(JobOf("mail", {"a@EXAMPLE.com"})));
  EXPECT_OK(checker.CheckJob(
      JobOf("proxyAddresses", {"SMTP:a@corp.example.test", "X500:/o=x", "SIP:a@other.test"})));
  EXPECT_THAT(checker.CheckJob(JobOf("mail", {"a@sub.example.com"})),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("sub.example.com")));
  EXPECT_THAT(checker.CheckJob(JobOf("proxyAddresses", {"SMTP:a@corp.example.test",
                                                        "smtp:a@evil.test"})),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("smtp:a@evil.test")));
  // Values of types the agent does not own are never written: not checked.
  policy.owned_address_types = {"SIP"};
  EXPECT_OK(PolicyChecker(policy).CheckJob(JobOf("proxyAddresses", {"SMTP:a@evil.test"})));
}

TEST(PolicyCheckerTest, ValueCountIsCapped) {
  LocalPolicy policy;
  policy.max_values_per_attribute = 2;
  PolicyChecker checker(policy);
  EXPECT_OK(checker.CheckJob(JobOf("msExchExtensionCustomAttribute1", {"a", "b"})));
  EXPECT_THAT(checker.CheckJob(JobOf("msExchExtensionCustomAttribute1", {"a", "b", "c"})),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("msExchExtensionCustomAttribute1")));
}

TEST(PolicyCheckerTest, OwnsAddressByTypeIgnoringCase) {
  LocalPolicy policy;
  policy.owned_address_types = {"smtp", "Sip"};
  PolicyChecker checker(policy);
  EXPECT_TRUE(checker.OwnsAddress("SMTP:a@x.test"));
  EXPECT_TRUE(checker.OwnsAddress("sip:a@x.test"));
  EXPECT_FALSE(checker.OwnsAddress("X500:/o=x"));
  EXPECT_TRUE(PolicyChecker(LocalPolicy{}).OwnsAddress("X500:/o=x"));
}

TEST(ValidateLocalPolicyTest, ChecksTheNewFields) {
  LocalPolicy policy;
  policy.accepted_domains = {"corp.example.com", "xn--bcher-kva.example"};
  policy.owned_address_types = {"SMTP", "x500"};
  EXPECT_OK(ValidateLocalPolicy(policy));
  policy.accepted_domains = {"@corp.example.com"};
  EXPECT_THAT(ValidateLocalPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("@corp.example.com")));
  policy.accepted_domains = {"corp..example"};
  EXPECT_THAT(ValidateLocalPolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument));
  policy.accepted_domains = {};
  policy.owned_address_types = {"SMTP:"};
  EXPECT_THAT(ValidateLocalPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SMTP:")));
  policy.owned_address_types = {};
  policy.max_writes_per_window = 10;
  policy.write_window = absl::ZeroDuration();
  EXPECT_THAT(ValidateLocalPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_writes_per_window")));
}

TEST(NormalizeDnTest, SplitsAndNormalizesRdns) {
  std::vector<std::string> rdns;
  ASSERT_TRUE(NormalizeDn("CN=Ann  Lee ,OU=A+CN=b , DC=Test", &rdns));
  EXPECT_THAT(rdns, ElementsAre("cn=ann  lee", "cn=b+ou=a", "dc=test"));
  ASSERT_TRUE(NormalizeDn("CN=\\ x\\ ", &rdns));
  EXPECT_THAT(rdns, ElementsAre("cn= x "));
  EXPECT_FALSE(NormalizeDn("CN=", &rdns));
  EXPECT_FALSE(NormalizeDn("CN=a,", &rdns));
  EXPECT_FALSE(NormalizeDn("=a", &rdns));
}

// A '+' inside a value is not the '+' between the parts of a multi-valued
// RDN: an OU named "a+ou=b" is not the RDN OU=a+OU=b, so an object below it
// is outside a scope OU of that name.
TEST(NormalizeDnTest, EscapedPlusStaysInsideItsValue) {
  std::vector<std::string> escaped, multi, hex;
  ASSERT_TRUE(NormalizeDn("OU=a\\+ou=b,DC=x", &escaped));
  ASSERT_TRUE(NormalizeDn("OU=a+OU=b,DC=x", &multi));
  ASSERT_TRUE(NormalizeDn("ou=A\\2Bou=B,dc=X", &hex));
  EXPECT_NE(escaped, multi);
  EXPECT_EQ(escaped, hex);
  EXPECT_THAT(escaped, ElementsAre("ou=a\\2bou=b", "dc=x"));

  LocalPolicy policy;
  policy.scope_ous = {"OU=a+OU=b,DC=x"};
  const PolicyChecker checker(policy);
  EXPECT_TRUE(checker.InScope("CN=u,OU=b+OU=a,DC=x"));
  EXPECT_FALSE(checker.InScope("CN=u,OU=a\\+ou=b,DC=x"));
  EXPECT_FALSE(checker.InScope("CN=u,OU=a\\2Bou=b,DC=x"));
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

TEST(PolicyCheckerTest, OnlyUserAccountsAreMailboxUsers) {
  EXPECT_EQ(PolicyChecker::NotAUserAccount({"top", "person", "organizationalPerson", "user"}),
            "");
  EXPECT_EQ(PolicyChecker::NotAUserAccount(
                {"top", "person", "organizationalPerson", "user", "inetOrgPerson"}),
            "");
  EXPECT_THAT(PolicyChecker::NotAUserAccount({"top", "group"}),
              ::testing::HasSubstr("not a user account"));
  EXPECT_THAT(PolicyChecker::NotAUserAccount({"top", "person", "organizationalPerson", "contact"}),
              ::testing::HasSubstr("a contact"));
  EXPECT_EQ(PolicyChecker::NotAUserAccount(
                {"top", "person", "organizationalPerson", "user", "computer"}),
            "a computer account");
}

}  // namespace
}  // namespace writeback::agent
