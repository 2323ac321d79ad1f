// The tokens file on disk (controller/admin/admin_tokens.h): first start,
// reloads on change at most once per interval, and what a bad edit does.
#include "controller/admin/admin_tokens.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

class AdminTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-admin-tokens.XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.tokens_file = dir_ + "/admin-tokens";
    options_.local_token_file = dir_ + "/admin.token";
  }
  void TearDown() override { (void)!system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  static int Mode(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  }
  void Append(const std::string& text) {
    std::ofstream(options_.tokens_file, std::ios::app) << text;
  }

  std::string dir_;
  AdminTokens::Options options_;
  FakeClock clock_{absl::FromUnixSeconds(1000)};
};

TEST_F(AdminTokensTest, FirstStartCreatesPrivateFilesWithALocalOperator) {
  auto tokens = AdminTokens::Open(options_, &clock_);
  ASSERT_OK(tokens.status());
  EXPECT_TRUE((*tokens)->created());
  EXPECT_EQ(Mode(options_.tokens_file), 0600);
  EXPECT_EQ(Mode(options_.local_token_file), 0600);
  auto token = ReadFileToString(options_.local_token_file);
  ASSERT_OK(token.status());
  EXPECT_EQ(token->size(), 43u);
  auto file = ReadFileToString(options_.tokens_file);
  ASSERT_OK(file.status());
  EXPECT_EQ(file->find(*token), std::string::npos) << "the tokens file holds no token in clear";
  const TokenPrincipal* p = (*tokens)->Current()->Find(*token);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "local-operator");
  EXPECT_EQ(p->role, AdminRole::kOperator);
}

TEST_F(AdminTokensTest, LaterStartKeepsTheFileAndItsToken) {
  ASSERT_OK(AdminTokens::Open(options_, &clock_).status());
  std::string token = *ReadFileToString(options_.local_token_file);
  auto again = AdminTokens::Open(options_, &clock_);
  ASSERT_OK(again.status());
  EXPECT_FALSE((*again)->created());
  EXPECT_EQ(*ReadFileToString(options_.local_token_file), token);
  EXPECT_NE((*again)->Current()->Find(token), nullptr);
}

TEST_F(AdminTokensTest, MalformedFileStopsTheStartWithItsLineNumber) {
  ASSERT_OK(WriteFileAtomically(options_.tokens_file, "# ok\nalice operator abc\n"));
  ASSERT_EQ(chmod(options_.tokens_file.c_str(), 0600), 0);
  EXPECT_THAT(AdminTokens::Open(options_, &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(options_.tokens_file + ":2:")));
}

TEST_F(AdminTokensTest, FileOthersMayReadIsRefusedWithTheChmodToRun) {
  ASSERT_OK(AdminTokens::Open(options_, &clock_).status());
  ASSERT_EQ(chmod(options_.tokens_file.c_str(), 0644), 0);
  EXPECT_THAT(AdminTokens::Open(options_, &clock_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("chmod 600 " + options_.tokens_file)));
}

TEST_F(AdminTokensTest, ChangeIsReadAtMostOncePerInterval) {
  auto tokens = AdminTokens::Open(options_, &clock_);
  ASSERT_OK(tokens.status());
  Append(TokensFileLine("bob", AdminRole::kReadOnly, "bob-token"));
  EXPECT_EQ((*tokens)->Current()->Find("bob-token"), nullptr) << "checked less than 1 s ago";
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ((*tokens)->Current()->Find("bob-token"), nullptr);
  clock_.Advance(absl::Milliseconds(1));
  const TokenPrincipal* bob = (*tokens)->Current()->Find("bob-token");
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->role, AdminRole::kReadOnly);
}

TEST_F(AdminTokensTest, MalformedEditKeepsThePreviousTable) {
  auto tokens = AdminTokens::Open(options_, &clock_);
  ASSERT_OK(tokens.status());
  std::string local = *ReadFileToString(options_.local_token_file);
  Append("carol operator\n");
  clock_.Advance(absl::Seconds(1));
  EXPECT_NE((*tokens)->Current()->Find(local), nullptr);
  // Fixed: read again.
  std::string text = *ReadFileToString(options_.tokens_file);
  text.replace(text.find("carol operator\n"), 15,
               TokensFileLine("carol", AdminRole::kOperator, "carol-token"));
  std::ofstream(options_.tokens_file, std::ios::trunc) << text;
  clock_.Advance(absl::Seconds(1));
  EXPECT_NE((*tokens)->Current()->Find("carol-token"), nullptr);
  EXPECT_NE((*tokens)->Current()->Find(local), nullptr);
}

TEST_F(AdminTokensTest, RemovedLineRevokesAndDeletedFileAcceptsNoToken) {
  auto tokens = AdminTokens::Open(options_, &clock_);
  ASSERT_OK(tokens.status());
  std::string local = *ReadFileToString(options_.local_token_file);
  Append(TokensFileLine("bob", AdminRole::kReadOnly, "bob-token"));
  clock_.Advance(absl::Seconds(1));
  ASSERT_NE((*tokens)->Current()->Find("bob-token"), nullptr);
  // An editor's atomic save without bob's line.
  std::string tmp = options_.tokens_file + ".new";
  ASSERT_OK(WritePrivateFileAtomically(
      tmp, TokensFileLine("local-operator", AdminRole::kOperator, local)));
  ASSERT_EQ(rename(tmp.c_str(), options_.tokens_file.c_str()), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*tokens)->Current()->Find("bob-token"), nullptr);
  EXPECT_NE((*tokens)->Current()->Find(local), nullptr);
  ASSERT_EQ(unlink(options_.tokens_file.c_str()), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*tokens)->Current()->Find(local), nullptr);
  EXPECT_TRUE((*tokens)->Current()->principals.empty());
}

TEST_F(AdminTokensTest, PrivateWriteIsMode0600WhateverTheUmask) {
  mode_t old = umask(0);
  absl::Status s = WritePrivateFileAtomically(dir_ + "/x", "secret");
  umask(old);
  ASSERT_OK(s);
  EXPECT_EQ(Mode(dir_ + "/x"), 0600);
  EXPECT_EQ(*ReadFileToString(dir_ + "/x"), "secret");
  EXPECT_THAT(WritePrivateFileAtomically(dir_ + "/missing/x", "s"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr(dir_ + "/missing/x.tmp")));
}

}  // namespace
}  // namespace writeback::controller
