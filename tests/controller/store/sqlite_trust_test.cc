// SqliteStore's trust state (schema 4): a join token is redeemed once, in the
// same transaction as the certificate it paid for; revocations only move
// forward; everything survives a reopen (a controller restart).
#include <memory>
#include <string>
#include <atomic>
#include <thread>
#include <vector>

#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::TempDir;
using writeback::testing::StatusIs;

class SqliteTrustTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    auto opened = SqliteStore::Open(dir_.File("state.db"));
    ASSERT_OK(opened.status());
    store_ = *std::move(opened);
  }
  static JoinTokenRecord Token(const std::string& id, int64_t expires_ms = 10'000) {
    JoinTokenRecord t;
    t.token_id = id;
    t.forest = "corp.example.com";
    t.secret_sha256 = std::string(64, 'c');
    t.created_ms = 1'000;
    t.expires_ms = expires_ms;
    t.created_by = "token:alice (operator)";
    return t;
  }
  static CertificateRecord Cert(const std::string& serial, const std::string& agent,
                                int64_t issued_ms) {
    CertificateRecord c;
    c.serial = serial;
    c.agent_id = agent;
    c.forest = "corp.example.com";
    c.issuer = std::string(64, 'f');
    c.not_before_ms = issued_ms - 100;
    c.not_after_ms = issued_ms + 30'000;
    c.issued_ms = issued_ms;
    c.via = "enroll t1";
    return c;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteTrustTest, ATokenIsRedeemedOnceWithItsCertificate) {
  ASSERT_OK(store_->AddJoinToken(Token("t1")));
  EXPECT_THAT(store_->AddJoinToken(Token("t1")), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(JoinTokenRecord used, store_->RedeemJoinToken("t1", Cert("s1", "dc1", 2'000), 2'000));
  EXPECT_EQ(used.used_ms, 2'000);
  EXPECT_EQ(used.used_by, "dc1");
  // A second redemption fails and records nothing.
  EXPECT_THAT(store_->RedeemJoinToken("t1", Cert("s2", "dc2", 3'000), 3'000).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t1")));
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> s1, store_->GetCertificate("s1"));
  ASSERT_TRUE(s1.has_value());
  EXPECT_EQ(s1->agent_id, "dc1");
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> s2, store_->GetCertificate("s2"));
  EXPECT_FALSE(s2.has_value());
  EXPECT_THAT(store_->RedeemJoinToken("nope", Cert("s3", "dc3", 3'000), 3'000).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteTrustTest, ExpiredAndRevokedTokensAreNotRedeemed) {
  ASSERT_OK(store_->AddJoinToken(Token("old", 5'000)));
  EXPECT_THAT(store_->RedeemJoinToken("old", Cert("s1", "dc1", 5'000), 5'000).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(store_->AddJoinToken(Token("rev")));
  ASSERT_OK_AND_ASSIGN(JoinTokenRecord revoked, store_->RevokeJoinToken("rev", 3'000));
  EXPECT_EQ(revoked.revoked_ms, 3'000);
  // Revoking again keeps the first time.
  ASSERT_OK_AND_ASSIGN(revoked, store_->RevokeJoinToken("rev", 4'000));
  EXPECT_EQ(revoked.revoked_ms, 3'000);
  EXPECT_THAT(store_->RedeemJoinToken("rev", Cert("s1", "dc1", 4'000), 4'000).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->RevokeJoinToken("nope", 1).status(), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> none, store_->GetCertificate("s1"));
  EXPECT_FALSE(none.has_value());
}

TEST_F(SqliteTrustTest, ConcurrentRedemptionsOfOneTokenLetExactlyOneThrough) {
  ASSERT_OK(store_->AddJoinToken(Token("t1")));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (store_->RedeemJoinToken("t1", Cert("s" + std::to_string(i), "dc" + std::to_string(i),
                                             2'000),
                                  2'000)
              .ok()) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  ASSERT_OK_AND_ASSIGN(auto latest, store_->LatestCertificates());
  EXPECT_THAT(latest, SizeIs(1));
}

TEST_F(SqliteTrustTest, TokensListNewestFirstAndSurviveAReopen) {
  JoinTokenRecord a = Token("a");
  JoinTokenRecord b = Token("b");
  b.created_ms = 2'000;
  b.forest = "other.example.com";
  ASSERT_OK(store_->AddJoinToken(a));
  ASSERT_OK(store_->AddJoinToken(b));
  Open();
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListJoinTokens(""));
  ASSERT_THAT(all, SizeIs(2));
  EXPECT_EQ(all[0].token_id, "b");
  EXPECT_EQ(all[1].secret_sha256, std::string(64, 'c'));
  ASSERT_OK_AND_ASSIGN(auto corp, store_->ListJoinTokens("corp.example.com"));
  ASSERT_THAT(corp, SizeIs(1));
  EXPECT_EQ(corp[0].token_id, "a");
}

TEST_F(SqliteTrustTest, LatestCertificateOfEachAgent) {
  ASSERT_OK(store_->AddCertificate(Cert("s1", "dc1", 1'000)));
  ASSERT_OK(store_->AddCertificate(Cert("s2", "dc1", 3'000)));
  ASSERT_OK(store_->AddCertificate(Cert("s3", "dc2", 2'000)));
  EXPECT_THAT(store_->AddCertificate(Cert("s3", "dc2", 2'000)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(auto latest, store_->LatestCertificates());
  ASSERT_THAT(latest, SizeIs(2));
  EXPECT_EQ(latest[0].serial, "s2");
  EXPECT_EQ(latest[0].issued_ms, 3'000);
  EXPECT_EQ(latest[1].serial, "s3");
}

TEST_F(SqliteTrustTest, RevocationsOnlyMoveForward) {
  ASSERT_OK_AND_ASSIGN(auto none, store_->GetRevocation("dc1"));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK(store_->RevokeAgent({"dc1", 5'000, "token:alice", "lost laptop"}));
  ASSERT_OK(store_->RevokeAgent({"dc1", 4'000, "token:bob", "again"}));
  Open();
  ASSERT_OK_AND_ASSIGN(auto r, store_->GetRevocation("dc1"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->revoked_ms, 5'000);
  EXPECT_EQ(r->revoked_by, "token:bob");
  ASSERT_OK(store_->RevokeAgent({"dc1", 9'000, "token:carol", ""}));
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListRevocations());
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].revoked_ms, 9'000);
}

}  // namespace
}  // namespace writeback::controller
