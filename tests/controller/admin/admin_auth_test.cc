// Admin API authentication as pure functions (controller/admin/admin_auth.h):
// the tokens file, hashing, who credentials name, and the role rule.
#include "controller/admin/admin_auth.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::writeback::testing::StatusIs;

constexpr char kAliceToken[] = "alice-token-0123456789abcdefghijklmnopqrstu";
constexpr char kBobToken[] = "bob-token-0123456789abcdefghijklmnopqrstuvw";

std::string Line(const char* name, const char* role, const char* token) {
  return absl::StrCat(name, " ", role, " ", TokenHashHex(token), "\n");
}

TokenTable Table() {
  auto table = ParseTokensFile(
      Line("alice", "operator", kAliceToken) + Line("bob", "read-only", kBobToken), "tokens");
  EXPECT_OK(table.status());
  return *table;
}

TEST(RoleRuleTest, GetListAndExportAreReadOnlyEverythingElseNeedsOperator) {
  for (const char* m : {"GetMailbox", "ListForests", "ListAuditLog", "ListProvisioningLog",
                        "ExportProvisioningLog", "ListDrift", "ListHolds", "GetAnythingLater"}) {
    EXPECT_EQ(RoleNeededFor(m), AdminRole::kReadOnly) << m;
  }
  for (const char* m : {"AddForest", "UpdateMailbox", "RemoveMailbox", "RetryMailbox",
                        "PauseForest", "DrainAgent", "ProvisionNow", "ReconcileForest",
                        "ApproveHold", "RejectHold", "SetForestPolicy", "CreateToken", "",
                        "getMailbox", "RevokeListedToken"}) {
    EXPECT_EQ(RoleNeededFor(m), AdminRole::kOperator) << m;
  }
}

TEST(RoleRuleTest, MethodIsTheLastSegmentOfThePath) {
  EXPECT_EQ(MethodOfPath("/writeback.v1.AdminService/GetMailbox"), "GetMailbox");
  EXPECT_EQ(MethodOfPath("UpdateMailbox"), "UpdateMailbox");
  EXPECT_EQ(MethodOfPath(""), "");
}

TEST(RoleRuleTest, ReadOnlyIsRefusedChangesWithEverythingNamed) {
  Principal bob{Principal::Kind::kToken, "bob", AdminRole::kReadOnly};
  EXPECT_OK(Authorize(bob, "GetMailbox"));
  EXPECT_OK(Authorize(bob, "ExportProvisioningLog"));
  EXPECT_THAT(Authorize(bob, "UpdateMailbox"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("token:bob (read-only)"), HasSubstr("UpdateMailbox"),
                             HasSubstr("needs the operator role"))));
  Principal alice{Principal::Kind::kCertificate, "alice", AdminRole::kOperator};
  EXPECT_OK(Authorize(alice, "UpdateMailbox"));
  EXPECT_OK(Authorize(alice, "ListForests"));
  EXPECT_EQ(alice.ToString(), "cert:alice (operator)");
}

TEST(TokensFileTest, ParsesPrincipalsCommentsAndBlankLines) {
  std::string text = absl::StrCat("# principals\n\n", Line("alice", "operator", kAliceToken),
                                  "   \t\n", "bob read-only ", TokenHashHex(kBobToken),
                                  "   # Bob's laptop\n");
  auto table = ParseTokensFile(text, "admin-tokens");
  ASSERT_OK(table.status());
  ASSERT_EQ(table->principals.size(), 2u);
  EXPECT_EQ(table->principals[0].name, "alice");
  EXPECT_EQ(table->principals[0].role, AdminRole::kOperator);
  EXPECT_EQ(table->principals[1].name, "bob");
  EXPECT_EQ(table->principals[1].role, AdminRole::kReadOnly);
}

TEST(TokensFileTest, UpperCaseHexAndCrlfAreAccepted) {
  std::string hex = TokenHashHex(kAliceToken);
  for (char& c : hex) c = static_cast<char>(toupper(c));
  auto table = ParseTokensFile(absl::StrCat("alice operator ", hex, "\r\n"), "t");
  ASSERT_OK(table.status());
  ASSERT_NE(table->Find(kAliceToken), nullptr);
}

TEST(TokensFileTest, MalformedLineIsRefusedWithItsNumberAndNeverEchoed) {
  // The third line holds a token pasted in clear by mistake.
  std::string text = absl::StrCat("# x\n", Line("alice", "operator", kAliceToken),
                                  "bob read-only ", kBobToken, "\n");
  EXPECT_THAT(ParseTokensFile(text, "/etc/writeback/admin-tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("/etc/writeback/admin-tokens:3:"), HasSubstr("SHA-256"),
                             Not(HasSubstr(kBobToken)))));
  EXPECT_THAT(ParseTokensFile("alice operator\n", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t:1:"), HasSubstr("found 2 field(s)"))));
  EXPECT_THAT(ParseTokensFile(absl::StrCat(Line("a", "operator", kAliceToken), "x y z w\n"), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t:2:")));
  EXPECT_THAT(ParseTokensFile(Line("al/ice", "operator", kAliceToken), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
}

TEST(TokensFileTest, UnknownRoleIsRefused) {
  EXPECT_THAT(ParseTokensFile(absl::StrCat("\n", Line("alice", "admin", kAliceToken)), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t:2:"), HasSubstr("unknown role"),
                             HasSubstr("read-only or operator"))));
  EXPECT_THAT(ParseTokensFile(Line("alice", "Operator", kAliceToken), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown role")));
}

TEST(TokensFileTest, SameTokenTwiceOrOneNameWithTwoRolesIsRefused) {
  EXPECT_THAT(ParseTokensFile(Line("a", "operator", kAliceToken) +
                                  Line("b", "read-only", kAliceToken), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t:2:"), HasSubstr("same token"))));
  EXPECT_THAT(ParseTokensFile(Line("a", "operator", kAliceToken) +
                                  Line("a", "read-only", kBobToken), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t:2:"), HasSubstr("already has role operator on line 1"))));
  // Two tokens of one principal with one role (rotation) are fine.
  EXPECT_OK(ParseTokensFile(Line("a", "operator", kAliceToken) +
                                Line("a", "operator", kBobToken), "t").status());
}

TEST(TokenHashTest, Sha256HexOfTheToken) {
  // printf %s abc | sha256sum
  EXPECT_EQ(TokenHashHex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(TokensFileLine("alice", AdminRole::kReadOnly, "abc"),
            "alice read-only ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
}

TEST(TokenHashTest, SameHashComparesEveryByte) {
  TokenHash a = HashToken("one");
  TokenHash b = a;
  EXPECT_TRUE(SameHash(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(SameHash(a, b));
  b = a;
  b[0] ^= 0x80;
  EXPECT_FALSE(SameHash(a, b));
  EXPECT_FALSE(SameHash(HashToken("one"), HashToken("two")));
}

TEST(TokenHashTest, FindMatchesOnlyTheExactToken) {
  TokenTable table = Table();
  ASSERT_NE(table.Find(kAliceToken), nullptr);
  EXPECT_EQ(table.Find(kAliceToken)->name, "alice");
  EXPECT_EQ(table.Find(kBobToken)->name, "bob");
  EXPECT_EQ(table.Find(std::string(kAliceToken) + "x"), nullptr);
  EXPECT_EQ(table.Find(std::string(kAliceToken).substr(1)), nullptr);
  EXPECT_EQ(table.Find(""), nullptr);
  EXPECT_EQ(table.Find(TokenHashHex(kAliceToken)), nullptr);  // the hash is no token
}

TEST(TokenHashTest, NewTokensAreLongRandomAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = NewToken();
    ASSERT_OK(token.status());
    EXPECT_EQ(token->size(), 43u);  // 32 bytes, base64url without padding
    EXPECT_EQ(token->find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(AuthenticateTest, BearerTokenNamesItsPrincipal) {
  PresentedCredentials presented;
  presented.authorization = {absl::StrCat("Bearer ", kBobToken)};
  auto who = Authenticate(presented, Table(), {});
  ASSERT_OK(who.status());
  EXPECT_EQ(who->ToString(), "token:bob (read-only)");
  presented.authorization = {absl::StrCat("bearer   ", kAliceToken, " ")};  // scheme ignores case
  ASSERT_OK(Authenticate(presented, Table(), {}).status());
  EXPECT_EQ(Authenticate(presented, Table(), {})->name, "alice");
}

TEST(AuthenticateTest, UnknownOrMalformedTokenIsUnauthenticatedWithoutEcho) {
  PresentedCredentials presented;
  presented.authorization = {"Bearer not-a-known-token-123456"};
  EXPECT_THAT(Authenticate(presented, Table(), {}),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("token not recognised"),
                             Not(HasSubstr("not-a-known-token-123456")))));
  presented.authorization = {kAliceToken};  // no scheme
  EXPECT_THAT(Authenticate(presented, Table(), {}),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("Bearer <token>"), Not(HasSubstr(kAliceToken)))));
  presented.authorization = {absl::StrCat("Bearer ", kAliceToken),
                             absl::StrCat("Bearer ", kBobToken)};
  EXPECT_THAT(Authenticate(presented, Table(), {}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("more than one")));
}

TEST(AuthenticateTest, NoCredentialsSaysHowToAuthenticate) {
  EXPECT_THAT(Authenticate({}, Table(), {}),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("--token_file"), HasSubstr("WRITEBACKCTL_TOKEN_FILE"),
                             Not(HasSubstr("certificate")))));
  CertificatePolicy certificates{true, {}};
  EXPECT_THAT(Authenticate({}, Table(), certificates),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("--token_file"), HasSubstr("writeback://admin/NAME"))));
}

TEST(AuthenticateTest, AdminCertificateGetsItsConfiguredRole) {
  CertificatePolicy certificates{true, {{"alice", AdminRole::kOperator}}};
  PresentedCredentials presented;
  presented.certificate_names = {"localhost", "writeback://admin/alice"};
  auto who = Authenticate(presented, Table(), certificates);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->ToString(), "cert:alice (operator)");
}

TEST(AuthenticateTest, UnlistedAdminCertificateIsRefusedWithHowToGrant) {
  CertificatePolicy certificates{true, {{"alice", AdminRole::kOperator}}};
  PresentedCredentials presented;
  presented.certificate_names = {"writeback://admin/mallory"};
  EXPECT_THAT(Authenticate(presented, Table(), certificates),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("mallory"), HasSubstr("has no role"),
                             HasSubstr("principals { name: \"mallory\""))));
}

TEST(AuthenticateTest, AgentCertificateIsNeverAnAdminEvenWithAToken) {
  CertificatePolicy certificates{true, {{"alice", AdminRole::kOperator}}};
  PresentedCredentials presented;
  presented.certificate_names = {"writeback://forest/corp.example.test/agent/agent-1"};
  EXPECT_THAT(Authenticate(presented, Table(), certificates),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("an agent certificate is not an admin identity")));
  presented.authorization = {absl::StrCat("Bearer ", kAliceToken)};
  EXPECT_THAT(Authenticate(presented, Table(), certificates),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("an agent certificate is not an admin identity")));
}

TEST(AuthenticateTest, TokenDecidesWhenSentWithAnAdminCertificate) {
  CertificatePolicy certificates{true, {{"alice", AdminRole::kOperator}}};
  PresentedCredentials presented;
  presented.certificate_names = {"writeback://admin/alice"};
  presented.authorization = {absl::StrCat("Bearer ", kBobToken)};
  auto who = Authenticate(presented, Table(), certificates);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->ToString(), "token:bob (read-only)");
}

TEST(AuthenticateTest, CertificateWithoutWritebackIdentityIsUnauthenticated) {
  CertificatePolicy certificates{true, {}};
  PresentedCredentials presented;
  presented.certificate_names = {"localhost", "127.0.0.1"};
  EXPECT_THAT(Authenticate(presented, Table(), certificates),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no admin identity")));
}

}  // namespace
}  // namespace writeback::controller
