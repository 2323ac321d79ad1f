// Join tokens: the form, what tampering does to each part, and the
// constant-time secret check against the stored hash.
#include "common/identity/join_token.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using writeback::testing::StatusIs;

const std::string kPin(64, 'a');

TEST(JoinTokenTest, MadeTokensParseBackAndCarryThePin) {
  ASSERT_OK_AND_ASSIGN(NewJoinToken t, MakeJoinToken(kPin));
  ASSERT_OK_AND_ASSIGN(JoinTokenParts p, ParseJoinToken(t.token));
  EXPECT_EQ(p.id, t.id);
  EXPECT_EQ(p.pin, kPin);
  EXPECT_EQ(p.id.size(), 16u);
  EXPECT_EQ(p.secret.size(), 43u);
  EXPECT_TRUE(SecretMatches(p.secret, t.secret_sha256));
  // The stored hash is not the secret, and the token does not contain it.
  EXPECT_NE(t.secret_sha256, p.secret);
  EXPECT_THAT(t.token, Not(HasSubstr(t.secret_sha256)));
  // Pasted with white space around it.
  ASSERT_OK_AND_ASSIGN(JoinTokenParts spaced, ParseJoinToken("  " + t.token + "\n"));
  EXPECT_EQ(spaced.secret, p.secret);
}

TEST(JoinTokenTest, EveryTokenIsNew) {
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(NewJoinToken t, MakeJoinToken(kPin));
    ids.insert(t.id);
    secrets.insert(t.secret_sha256);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(secrets.size(), 200u);
}

TEST(JoinTokenTest, ATamperedSecretNoLongerMatches) {
  ASSERT_OK_AND_ASSIGN(NewJoinToken t, MakeJoinToken(kPin));
  ASSERT_OK_AND_ASSIGN(JoinTokenParts p, ParseJoinToken(t.token));
  std::string secret = p.secret;
  secret[10] = secret[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(SecretMatches(secret, t.secret_sha256));
  EXPECT_FALSE(SecretMatches(p.secret, t.secret_sha256.substr(1)));
  EXPECT_FALSE(SecretMatches("", t.secret_sha256));
}

TEST(JoinTokenTest, MalformedTokensAreRefusedWithoutQuotingThem) {
  ASSERT_OK_AND_ASSIGN(NewJoinToken t, MakeJoinToken(kPin));
  ASSERT_OK_AND_ASSIGN(JoinTokenParts p, ParseJoinToken(t.token));
  for (const std::string& bad :
       {std::string(""), std::string("wbt1"), "wbt2" + t.token.substr(4), t.token + ".x",
        t.token.substr(0, t.token.size() - 1), "wbt1." + p.id + "." + p.secret + "." + kPin + "0",
        "wbt1." + p.id + "." + p.secret.substr(1) + "." + kPin,
        "wbt1." + std::string(16, 'G') + "." + p.secret + "." + kPin,
        "wbt1." + p.id + "." + p.secret + "." + std::string(64, 'A')}) {
    auto parsed = ParseJoinToken(bad);
    EXPECT_THAT(parsed.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("not a writeback join token")))
        << bad;
    EXPECT_THAT(std::string(parsed.status().message()), Not(HasSubstr(p.secret)));
  }
}

TEST(JoinTokenTest, ABadPinIsRefused) {
  EXPECT_THAT(MakeJoinToken("abc").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeJoinToken(std::string(64, 'A')).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(JoinTokenTest, Sha256HexIsTheKnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace writeback
