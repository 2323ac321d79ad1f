// The trust rules: which join tokens may be redeemed (and what each refusal
// says), which agent certificates are still good (expiry, revocation, a
// re-enrollment after a revocation), and token lifetimes.
#include "controller/enroll/trust_rules.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using writeback::testing::StatusIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

struct Fixture {
  NewJoinToken made;
  JoinTokenParts parts;
  JoinTokenRecord stored;
};

Fixture Token() {
  Fixture f;
  f.made = *MakeJoinToken(std::string(64, 'b'));
  f.parts = *ParseJoinToken(f.made.token);
  f.stored.token_id = f.made.id;
  f.stored.forest = "corp.example.com";
  f.stored.secret_sha256 = f.made.secret_sha256;
  f.stored.created_ms = absl::ToUnixMillis(kNow - absl::Minutes(5));
  f.stored.expires_ms = absl::ToUnixMillis(kNow + absl::Minutes(55));
  return f;
}

TEST(TrustRulesTest, AValidTokenMayBeRedeemedForItsForest) {
  Fixture f = Token();
  EXPECT_OK(CheckRedeemable(f.stored, f.parts, "", kNow));
  EXPECT_OK(CheckRedeemable(f.stored, f.parts, "corp.example.com", kNow));
  EXPECT_EQ(TokenState(f.stored, kNow), "valid");
}

TEST(TrustRulesTest, UnknownAndAlteredTokensGetTheSameAnswer) {
  Fixture f = Token();
  JoinTokenParts altered = f.parts;
  altered.secret[0] = altered.secret[0] == 'x' ? 'y' : 'x';
  absl::Status unknown = CheckRedeemable(std::nullopt, f.parts, "", kNow);
  absl::Status wrong = CheckRedeemable(f.stored, altered, "", kNow);
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not recognised")));
  EXPECT_EQ(unknown, wrong);
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr(f.parts.secret)));
}

TEST(TrustRulesTest, UsedExpiredRevokedAndOtherForestTokensAreRefusedSayingWhy) {
  Fixture f = Token();
  JoinTokenRecord used = f.stored;
  used.used_ms = absl::ToUnixMillis(kNow - absl::Minutes(1));
  used.used_by = "dc1-agent";
  EXPECT_THAT(CheckRedeemable(used, f.parts, "", kNow),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("already used"), HasSubstr("dc1-agent"),
                             HasSubstr(f.stored.token_id))));
  EXPECT_EQ(TokenState(used, kNow), "used");

  EXPECT_THAT(CheckRedeemable(f.stored, f.parts, "", kNow + absl::Hours(1)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("expired")));
  EXPECT_EQ(TokenState(f.stored, kNow + absl::Hours(1)), "expired");

  JoinTokenRecord revoked = f.stored;
  revoked.revoked_ms = absl::ToUnixMillis(kNow - absl::Seconds(1));
  EXPECT_THAT(CheckRedeemable(revoked, f.parts, "", kNow),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("revoked")));
  EXPECT_EQ(TokenState(revoked, kNow), "revoked");

  EXPECT_THAT(CheckRedeemable(f.stored, f.parts, "other.example.com", kNow),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("is for forest corp.example.com"),
                             HasSubstr("not other.example.com"))));
}

pki::CertificateInfo Cert(absl::Time not_before, absl::Time not_after) {
  pki::CertificateInfo c;
  c.serial = "abc123";
  c.not_before = not_before;
  c.not_after = not_after;
  return c;
}

TEST(TrustRulesTest, ExpiredCertificatesAreRefusedWithTheReEnrollHint) {
  AgentIdentity id{"corp.example.com", "dc1"};
  EXPECT_OK(CheckAgentCertificate(id, Cert(kNow - absl::Hours(1), kNow + absl::Seconds(1)),
                                  std::nullopt, std::nullopt, kNow));
  EXPECT_THAT(CheckAgentCertificate(id, Cert(kNow - absl::Hours(1), kNow), std::nullopt,
                                    std::nullopt, kNow),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("expired"), HasSubstr("writeback-agent enroll"))));
}

TEST(TrustRulesTest, CertificatesIssuedUpToTheRevocationAreRefusedLaterOnesAccepted) {
  AgentIdentity id{"corp.example.com", "dc1"};
  RevocationRecord r{"dc1", absl::ToUnixMillis(kNow - absl::Minutes(10)), "token:alice",
                     "server decommissioned"};
  CertificateRecord before;
  before.serial = "abc123";
  before.issued_ms = r.revoked_ms - 1;
  CertificateRecord at = before;
  at.issued_ms = r.revoked_ms;
  CertificateRecord after = before;
  after.issued_ms = r.revoked_ms + 1;
  pki::CertificateInfo cert = Cert(kNow - absl::Hours(2), kNow + absl::Hours(2));
  EXPECT_THAT(CheckAgentCertificate(id, cert, before, r, kNow),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("revoked"), HasSubstr("server decommissioned"),
                             HasSubstr("abc123"))));
  EXPECT_THAT(CheckAgentCertificate(id, cert, at, r, kNow),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(CheckAgentCertificate(id, cert, after, r, kNow));
  // An operator-issued certificate (no record) counts from its notBefore.
  EXPECT_THAT(CheckAgentCertificate(id, cert, std::nullopt, r, kNow),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(CheckAgentCertificate(id, Cert(kNow - absl::Minutes(1), kNow + absl::Hours(1)),
                                  std::nullopt, r, kNow));
}

TEST(TrustRulesTest, TokenLifetimes) {
  EXPECT_EQ(*TokenTtl(0), kDefaultTokenTtl);
  EXPECT_EQ(*TokenTtl(60), absl::Seconds(60));
  EXPECT_EQ(*TokenTtl(7 * 24 * 3600), kMaxTokenTtl);
  EXPECT_THAT(TokenTtl(7 * 24 * 3600 + 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("7 days")));
}

}  // namespace
}  // namespace writeback::controller
