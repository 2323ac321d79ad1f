// GSSAPI (Kerberos keytab) binds of LdapDirectory against a real Samba AD DC,
// which is also the KDC. tests/fixtures/kerberos.sh creates the service
// accounts, exports their keytabs, writes a private krb5.conf and registers
// the SPN ldap/127.0.0.1 for the address the tests dial. Writes are checked
// with SambaDc::Read and the DC's audit log, independent of the code under
// test. Runs in its own network namespace (wb_add_dc_test).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/directory/kerberos.h"
#include "agent/directory/ldap_directory.h"
#include "common/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/certs.h"
#include "tests/harness/process.h"
#include "tests/harness/samba_dc.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::writeback::testing::FixtureScript;
using ::writeback::testing::RunCommand;
using ::writeback::testing::SambaDc;
using ::writeback::testing::StatusIs;

constexpr char kRealm[] = "CORP.EXAMPLE.TEST";

absl::StatusOr<std::string> Kerberos(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {FixtureScript("kerberos.sh")};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::string> out = RunCommand(argv, absl::Seconds(120));
  if (!out.ok()) return out.status();
  return std::string(absl::StripAsciiWhitespace(*out));
}

class KerberosIt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dc = SambaDc::Start(SambaDc::Options::FromEnv());
    ASSERT_OK(dc);
    dc_ = dc->release();
    auto krb5_conf = Kerberos({"setup", dc_->dir()});
    ASSERT_OK(krb5_conf);
    krb5_conf_ = new std::string(*krb5_conf);
    for (const char* name : {"svc-wb", "other-wb"}) {
      auto principal = Kerberos({"account", dc_->dir(), name});
      ASSERT_OK(principal);
      ASSERT_EQ(*principal, absl::StrCat(name, "@", kRealm));
    }
    auto users = dc_->AddUsers(4, "krb");
    ASSERT_OK(users);
    users_ = new std::vector<SambaDc::User>(std::move(*users));
  }
  static void TearDownTestSuite() {
    delete dc_;
    delete users_;
    delete krb5_conf_;
  }

  static std::string Keytab(const std::string& account) {
    return absl::StrCat(dc_->dir(), "/kerberos/", account, ".keytab");
  }
  static std::string Principal(const std::string& account) {
    return absl::StrCat(account, "@", kRealm);
  }
  // GSSAPI as `account` with its own keytab; no password, no insecure flag.
  static LdapOptions Gssapi(const std::string& url, const std::string& account = "svc-wb") {
    LdapOptions o;
    o.urls = {url};
    o.ca_file = dc_->ca_file();
    o.sasl_mechanism = "GSSAPI";
    o.keytab_file = Keytab(account);
    o.principal = Principal(account);
    o.krb5_config = *krb5_conf_;
    o.timeout = absl::Seconds(10);  // a hang guard
    return o;
  }

  // Searches for users_[i] and writes extensionAttribute1 = value through
  // `dir`, then checks the DC's copy and who the audit log says wrote it.
  void SearchAndModify(LdapDirectory* dir, int i, const std::string& value) {
    const SambaDc::User& user = (*users_)[i];
    auto found = dir->Search(dir->BaseDn(), absl::StrCat("(sAMAccountName=", user.sam, ")"),
                             {"sAMAccountName"}, 2);
    ASSERT_OK(found);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_TRUE(absl::EqualsIgnoreCase((*found)[0].dn, user.dn));

    auto result = dir->Modify(user.dn, {{ModOp::kReplace, "extensionAttribute1", {value}}});
    ASSERT_OK(result);
    EXPECT_EQ(result->code, 0) << result->diagnostic;
    auto attrs = dc_->Read(user.dn, {"extensionAttribute1"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute1"], ElementsAre(value));

    // The modify was made as the keytab's account, not as Administrator.
    auto events = dc_->AuditEvents();
    ASSERT_OK(events);
    const SambaDc::AuditEvent* last = nullptr;
    for (const auto& e : *events) {
      if (e.operation == "Modify" && absl::EqualsIgnoreCase(e.dn, user.dn)) last = &e;
    }
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->status_code, 0);
    EXPECT_FALSE(last->user_sid.empty());
    EXPECT_FALSE(absl::EndsWith(last->user_sid, "-500")) << last->user_sid;
  }

  static SambaDc* dc_;
  static std::vector<SambaDc::User>* users_;
  static std::string* krb5_conf_;
};

SambaDc* KerberosIt::dc_ = nullptr;
std::vector<SambaDc::User>* KerberosIt::users_ = nullptr;
std::string* KerberosIt::krb5_conf_ = nullptr;

TEST_F(KerberosIt, BindsOverPlainLdapSealedByKerberosWithoutInsecureFlag) {
  LdapOptions o = Gssapi("ldap://127.0.0.1");
  ASSERT_FALSE(o.insecure_plain);
  auto dir = LdapDirectory::Connect(o);
  ASSERT_OK(dir);
  EXPECT_EQ((*dir)->BaseDn(), dc_->base_dn());
  SearchAndModify(dir->get(), 0, "sealed-1");

  // A new connection (after Close) binds again with the cached ticket.
  (*dir)->Close();
  SearchAndModify(dir->get(), 0, "sealed-2");
}

TEST_F(KerberosIt, AnotherAccountsKeytabFailsNamingThePrincipal) {
  LdapOptions o = Gssapi("ldap://127.0.0.1");
  o.keytab_file = Keytab("other-wb");  // holds other-wb's keys, not svc-wb's
  auto dir = LdapDirectory::Connect(o);
  EXPECT_THAT(dir, StatusIs(absl::StatusCode::kUnauthenticated,
                            AllOf(HasSubstr(Principal("svc-wb")), HasSubstr(o.keytab_file),
                                  HasSubstr("klist -k"))));
}

TEST_F(KerberosIt, StaleKeytabAfterPasswordResetFailsSayingToReexport) {
  ASSERT_OK(Kerberos({"account", dc_->dir(), "stale-wb"}));
  ASSERT_OK(LdapDirectory::Connect(Gssapi("ldap://127.0.0.1", "stale-wb")));
  // The password changes on the DC: the exported keys (old kvno) are stale.
  ASSERT_OK(Kerberos({"reset-password", dc_->dir(), "stale-wb"}));
  auto dir = LdapDirectory::Connect(Gssapi("ldap://127.0.0.1", "stale-wb"));
  EXPECT_THAT(dir, StatusIs(absl::StatusCode::kUnauthenticated,
                            AllOf(HasSubstr(Principal("stale-wb")),
                                  HasSubstr("export a new keytab"))));
}

TEST_F(KerberosIt, HostWithoutServicePrincipalFailsNamingTheSpn) {
  // localhost reaches the DC, but the KDC has no ldap/localhost.
  auto dir = LdapDirectory::Connect(Gssapi("ldap://localhost"));
  EXPECT_THAT(dir, StatusIs(absl::StatusCode::kUnauthenticated,
                            AllOf(HasSubstr("ldap/localhost"), HasSubstr(Principal("svc-wb")),
                                  HasSubstr("SPN"))));
}

TEST_F(KerberosIt, TicketIsReacquiredFromKeytabBeforeExpiry) {
  FakeClock clock(absl::Now());
  KerberosOptions o;
  o.keytab_file = Keytab("svc-wb");
  o.principal = Principal("svc-wb");
  o.krb5_config = *krb5_conf_;
  o.ticket_lifetime = absl::Hours(1);
  o.clock = &clock;
  auto creds = KerberosCredentials::Create(o);
  ASSERT_OK(creds);
  // 1: a new ticket from the KDC; 0: the cached one is kept.
  auto refresh = [&]() -> int {
    absl::StatusOr<bool> fresh = (*creds)->Refresh();
    EXPECT_OK(fresh);
    return fresh.ok() ? *fresh : -1;
  };
  EXPECT_EQ((*creds)->ExpiresAt(), std::nullopt);
  EXPECT_EQ(refresh(), 1);  // first ticket
  EXPECT_EQ(refresh(), 0);  // still fresh
  std::optional<absl::Time> first_end = (*creds)->ExpiresAt();
  ASSERT_TRUE(first_end.has_value());
  EXPECT_LE(*first_end, absl::Now() + absl::Hours(1) + absl::Minutes(1));

  (*creds)->Invalidate();  // after an authentication failure
  EXPECT_EQ(refresh(), 1);
  EXPECT_EQ(refresh(), 0);

  clock.Advance(absl::Minutes(44));  // more than a quarter left
  EXPECT_EQ(refresh(), 0);
  clock.Advance(absl::Minutes(2));   // less than a quarter left
  EXPECT_EQ(refresh(), 1);
  EXPECT_GE(*(*creds)->ExpiresAt(), *first_end);
}

// Samba 4.17 refuses GSSAPI over TLS both with a SASL layer (Samba and AD
// refuse signing inside TLS) and without one (its default strong-auth
// policy); `allow_sasl_over_tls` admits the latter, which is what the agent
// sends over ldaps:// (and what Windows AD accepts). Last: it restarts the DC.
TEST_F(KerberosIt, LdapsBindsWithoutSaslLayerWhereTheDcAllowsIt) {
  auto refused = LdapDirectory::Connect(Gssapi("ldaps://127.0.0.1"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated,
                                AllOf(HasSubstr("Sign or Seal are required"),
                                      HasSubstr("allow_sasl_over_tls"))));

  ASSERT_OK(Kerberos({"allow-sasl-over-tls", dc_->dir()}));
  ASSERT_OK(dc_->Restart());
  auto dir = LdapDirectory::Connect(Gssapi("ldaps://127.0.0.1"));
  ASSERT_OK(dir);
  SearchAndModify(dir->get(), 1, "over-tls");

  // Plain ldap:// keeps its sealed layer on the reconfigured DC.
  auto sealed = LdapDirectory::Connect(Gssapi("ldap://127.0.0.1"));
  ASSERT_OK(sealed);
  SearchAndModify(sealed->get(), 2, "sealed-3");
}

}  // namespace
}  // namespace writeback::agent
