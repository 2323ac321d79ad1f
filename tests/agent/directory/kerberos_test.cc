// KerberosCredentials' renewal rule and option checks, and the GSSAPI option
// checks of LdapDirectory, without a KDC (kerberos_it.cc has the real binds).
#include "agent/directory/kerberos.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/directory/ldap_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

TEST(TicketRenewalDueTest, NotDueWhileMoreThanAQuarterRemains) {
  const absl::Time end = kStart + absl::Hours(10);
  EXPECT_FALSE(TicketRenewalDue(kStart, end, kStart));
  EXPECT_FALSE(TicketRenewalDue(kStart, end, kStart + absl::Hours(7)));
  EXPECT_FALSE(TicketRenewalDue(kStart, end, end - absl::Hours(2.5) - absl::Seconds(1)));
}

TEST(TicketRenewalDueTest, DueWhenAQuarterOrLessRemains) {
  const absl::Time end = kStart + absl::Hours(10);
  EXPECT_TRUE(TicketRenewalDue(kStart, end, end - absl::Hours(2.5)));
  EXPECT_TRUE(TicketRenewalDue(kStart, end, end - absl::Minutes(1)));
  EXPECT_TRUE(TicketRenewalDue(kStart, end, end + absl::Hours(1)));  // expired
}

TEST(TicketRenewalDueTest, EmptyOrInvertedLifetimeIsAlwaysDue) {
  EXPECT_TRUE(TicketRenewalDue(kStart, kStart, kStart - absl::Hours(1)));
  EXPECT_TRUE(TicketRenewalDue(kStart, kStart - absl::Hours(1), kStart - absl::Hours(2)));
}

class KerberosOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-krb-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    keytab_ = dir_ + "/agent.keytab";
    std::ofstream(keytab_) << "not a real keytab";
    ASSERT_EQ(chmod(keytab_.c_str(), 0600), 0);
  }
  void TearDown() override {
    unlink(keytab_.c_str());
    rmdir(dir_.c_str());
  }
  KerberosOptions Options() const {
    KerberosOptions o;
    o.keytab_file = keytab_;
    o.principal = "svc-wb@CORP.EXAMPLE.TEST";
    return o;
  }
  LdapOptions Gssapi(const std::string& url) const {
    LdapOptions o;
    o.urls = {url};
    o.sasl_mechanism = "GSSAPI";
    o.keytab_file = keytab_;
    o.principal = "svc-wb@CORP.EXAMPLE.TEST";
    o.timeout = absl::Seconds(2);
    return o;
  }

  std::string dir_;
  std::string keytab_;
};

TEST_F(KerberosOptionsTest, CreatesWithoutContactingTheKdc) {
  auto creds = KerberosCredentials::Create(Options());
  ASSERT_OK(creds);
  EXPECT_EQ((*creds)->principal(), "svc-wb@CORP.EXAMPLE.TEST");
  EXPECT_THAT((*creds)->cache_name(), HasSubstr("MEMORY:"));
  EXPECT_EQ((*creds)->ExpiresAt(), std::nullopt);
}

TEST_F(KerberosOptionsTest, CachesArePrivateToEachObject) {
  auto a = KerberosCredentials::Create(Options());
  auto b = KerberosCredentials::Create(Options());
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE((*a)->cache_name(), (*b)->cache_name());
}

TEST_F(KerberosOptionsTest, RequiresPrincipalAndKeytab) {
  KerberosOptions o = Options();
  o.principal.clear();
  EXPECT_THAT(KerberosCredentials::Create(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("principal")));
  o = Options();
  o.keytab_file.clear();
  EXPECT_THAT(KerberosCredentials::Create(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keytab")));
}

TEST_F(KerberosOptionsTest, MissingKeytabIsNamed) {
  KerberosOptions o = Options();
  o.keytab_file = dir_ + "/absent.keytab";
  EXPECT_THAT(KerberosCredentials::Create(o),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(o.keytab_file)));
}

TEST_F(KerberosOptionsTest, KeytabReadableByOthersIsRefused) {
  ASSERT_EQ(chmod(keytab_.c_str(), 0644), 0);
  EXPECT_THAT(KerberosCredentials::Create(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600")));
}

TEST_F(KerberosOptionsTest, RefreshWithAnUnreadableKeytabNamesPrincipalAndKeytab) {
  // A KDC is never reached: the keytab is garbage.
  auto creds = KerberosCredentials::Create(Options());
  ASSERT_OK(creds);
  absl::StatusOr<bool> fresh = (*creds)->Refresh();
  ASSERT_FALSE(fresh.ok());
  EXPECT_THAT(std::string(fresh.status().message()),
              ::testing::AllOf(HasSubstr("svc-wb@CORP.EXAMPLE.TEST"), HasSubstr(keytab_)));
}

TEST_F(KerberosOptionsTest, GssapiNeedsKeytabAndPrincipalNotAPassword) {
  LdapOptions o = Gssapi("ldaps://127.0.0.1:1");
  o.principal.clear();
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("principal")));
  o = Gssapi("ldaps://127.0.0.1:1");
  o.bind_dn = "CN=x,DC=corp,DC=example,DC=test";
  o.password = "secret";
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keytab")));
}

TEST_F(KerberosOptionsTest, UnknownMechanismIsRefused) {
  LdapOptions o = Gssapi("ldaps://127.0.0.1:1");
  o.sasl_mechanism = "DIGEST-MD5";
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DIGEST-MD5")));
}

TEST_F(KerberosOptionsTest, PlainLdapIsAllowedWithGssapiSealing) {
  // Past validation: it fails only because nothing listens on port 1.
  EXPECT_THAT(LdapDirectory::Connect(Gssapi("ldap://127.0.0.1:1")),
              StatusIs(absl::StatusCode::kUnavailable));
  LdapOptions simple = Gssapi("ldap://127.0.0.1:1");
  simple.sasl_mechanism.clear();
  simple.keytab_file.clear();
  simple.principal.clear();
  EXPECT_THAT(LdapDirectory::Connect(simple),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plain LDAP")));
}

}  // namespace
}  // namespace writeback::agent
