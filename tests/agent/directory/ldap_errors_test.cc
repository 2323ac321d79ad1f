#include "agent/directory/ldap_errors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

struct Row {
  int code;
  LdapErrorClass expected;
};

class ClassifyTest : public ::testing::TestWithParam<Row> {};

TEST_P(ClassifyTest, MatchesTheTable) {
  EXPECT_EQ(ClassifyLdapCode(GetParam().code), GetParam().expected)
      << LdapCodeName(GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyTest,
    ::testing::Values(
        Row{0, LdapErrorClass::kSuccess},
        // The compare-and-swap failed.
        Row{16, LdapErrorClass::kConflict}, Row{20, LdapErrorClass::kConflict},
        // Transient.
        Row{-1, LdapErrorClass::kRetryable}, Row{-4, LdapErrorClass::kRetryable},
        Row{-5, LdapErrorClass::kRetryable}, Row{-11, LdapErrorClass::kRetryable},
        Row{-85, LdapErrorClass::kRetryable}, Row{3, LdapErrorClass::kRetryable},
        Row{51, LdapErrorClass::kRetryable}, Row{52, LdapErrorClass::kRetryable},
        Row{80, LdapErrorClass::kRetryable}, Row{81, LdapErrorClass::kRetryable},
        Row{85, LdapErrorClass::kRetryable}, Row{91, LdapErrorClass::kRetryable},
        // Retrying the same request will not help.
        Row{1, LdapErrorClass::kPermanent}, Row{10, LdapErrorClass::kPermanent},
        Row{11, LdapErrorClass::kPermanent}, Row{12, LdapErrorClass::kPermanent},
        Row{17, LdapErrorClass::kPermanent}, Row{19, LdapErrorClass::kPermanent},
        Row{21, LdapErrorClass::kPermanent}, Row{32, LdapErrorClass::kPermanent},
        Row{34, LdapErrorClass::kPermanent}, Row{49, LdapErrorClass::kPermanent},
        Row{50, LdapErrorClass::kPermanent}, Row{53, LdapErrorClass::kPermanent},
        Row{65, LdapErrorClass::kPermanent}, Row{-7, LdapErrorClass::kPermanent},
        Row{-9, LdapErrorClass::kPermanent}, Row{4242, LdapErrorClass::kPermanent}));

TEST(LdapCodeNameTest, NamesCodes) {
  EXPECT_EQ(LdapCodeName(16), "noSuchAttribute (16)");
  EXPECT_EQ(LdapCodeName(-1), "serverDown (-1)");
  EXPECT_EQ(LdapCodeName(53), "unwillingToPerform (53)");
  EXPECT_EQ(LdapCodeName(4242), "LDAP code 4242");
}

TEST(LdapStatusTest, MapsCodesForTheRetryDecision) {
  EXPECT_OK(LdapStatus(0, "x"));
  EXPECT_THAT(LdapStatus(-1, "LDAP search", "Can't contact LDAP server"),
              StatusIs(absl::StatusCode::kUnavailable,
                       "LDAP search: serverDown (-1): Can't contact LDAP server"));
  EXPECT_THAT(LdapStatus(52, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(LdapStatus(-5, "x"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(LdapStatus(16, "x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(LdapStatus(32, "x"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(LdapStatus(49, "bind"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("invalidCredentials")));
  EXPECT_THAT(LdapStatus(50, "x"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(LdapStatus(21, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LdapStatus(53, "x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(LdapStatus(12, "x"), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(LdapStatusTest, CarriesTheCode) {
  EXPECT_EQ(LdapCodeOf(LdapStatus(-11, "connect")), -11);
  EXPECT_EQ(LdapCodeOf(LdapStatus(19, "modify")), 19);
  EXPECT_FALSE(LdapCodeOf(absl::UnavailableError("other")).has_value());
}

}  // namespace
}  // namespace writeback::agent
