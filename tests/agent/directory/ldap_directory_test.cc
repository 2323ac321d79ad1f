// LdapDirectory without a DC: option checks happen before any network I/O.
// (ldap_directory_it.cc runs it against a real Samba AD DC.)
#include "agent/directory/ldap_directory.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::writeback::testing::StatusIs;

LdapOptions Options(std::string url) {
  LdapOptions o;
  o.urls = {std::move(url)};
  o.bind_dn = "CN=svc,DC=corp,DC=test";
  o.password = "do-not-print-me";
  o.timeout = absl::Milliseconds(500);
  return o;
}

TEST(LdapDirectoryTest, RefusesPlainLdapWithoutTheInsecureFlag) {
  EXPECT_THAT(LdapDirectory::Connect(Options("ldap://127.0.0.1")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("refusing plain LDAP"), HasSubstr("ldap://127.0.0.1"))));
}

TEST(LdapDirectoryTest, RefusesBadOptions) {
  EXPECT_THAT(LdapDirectory::Connect(LdapOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LdapDirectory::Connect(Options("http://dc")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ldaps://")));
  EXPECT_THAT(LdapDirectory::Connect(Options("ldaps://a ldaps://b")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  LdapOptions no_password = Options("ldaps://127.0.0.1");
  no_password.password.clear();
  EXPECT_THAT(LdapDirectory::Connect(no_password),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without a password")));
}

TEST(LdapDirectoryTest, UnreachableDcsAreUnavailableAndThePasswordStaysSecret) {
  LdapOptions o = Options("ldaps://127.0.0.2:1");
  o.urls.push_back("ldap://127.0.0.3:1");
  o.start_tls = true;
  absl::StatusOr<std::unique_ptr<LdapDirectory>> dir = LdapDirectory::Connect(o);
  EXPECT_THAT(dir, StatusIs(absl::StatusCode::kUnavailable,
                            AllOf(HasSubstr("127.0.0.2"), HasSubstr("127.0.0.3"),
                                  Not(HasSubstr("do-not-print-me")))));
}

}  // namespace
}  // namespace writeback::agent
