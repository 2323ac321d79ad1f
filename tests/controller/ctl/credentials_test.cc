// writebackctl's settings and credentials (controller/ctl/credentials.h):
// where each setting comes from, the settings file, and the refusals that
// keep a token safe.
#include "controller/ctl/credentials.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::ctl {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::writeback::testing::StatusIs;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-ctl-credentials.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)!system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  std::string Write(const std::string& name, const std::string& content, int mode = 0600) {
    std::string path = dir_ + "/" + name;
    EXPECT_OK(WriteFileAtomically(path, content));
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
};

TEST_F(CredentialsTest, ConfigFileKeysCommentsQuotesAndRelativePaths) {
  auto s = ParseCtlConfig(
      "# writebackctl\n\ncontroller = ctl.example.com:7444\ntoken_file = tokens/ops.token\n"
      "ca_file=\"/etc/writeback/ca.pem\"\n  cert_file = /c.pem \nkey_file = k.key\n",
      "/home/op/.config/writeback/writebackctl.conf");
  ASSERT_OK(s.status());
  EXPECT_EQ(s->controller, "ctl.example.com:7444");
  EXPECT_EQ(s->token_file, "/home/op/.config/writeback/tokens/ops.token");
  EXPECT_EQ(s->ca_file, "/etc/writeback/ca.pem");
  EXPECT_EQ(s->cert_file, "/c.pem");
  EXPECT_EQ(s->key_file, "/home/op/.config/writeback/k.key");
}

TEST_F(CredentialsTest, ConfigFileErrorsNameTheLine) {
  EXPECT_THAT(ParseCtlConfig("controller = x:1\ntoken = abc\n", "ctl.conf"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ctl.conf:2:"), HasSubstr("token_file"),
                             Not(HasSubstr("abc")))));
  EXPECT_THAT(ParseCtlConfig("just words\n", "ctl.conf"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ctl.conf:1:")));
}

TEST_F(CredentialsTest, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  std::string conf = Write("ctl.conf",
                           "controller = file:1\ntoken_file = /file.token\nca_file = /file-ca.pem\n");
  CtlEnvironment env{"env:1", "/env.token", "", ""};
  auto s = ResolveCtlSettings({}, conf, env);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->controller, "env:1");
  EXPECT_EQ(s->token_file, "/env.token");
  EXPECT_EQ(s->ca_file, "/file-ca.pem");
  CtlSettings flags;
  flags.controller = "flag:1";
  flags.token_file = "/flag.token";
  s = ResolveCtlSettings(flags, conf, env);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->controller, "flag:1");
  EXPECT_EQ(s->token_file, "/flag.token");
  s = ResolveCtlSettings({}, conf, {});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->controller, "file:1");
  EXPECT_EQ(s->token_file, "/file.token");
}

TEST_F(CredentialsTest, DefaultsWithoutAnySource) {
  auto s = ResolveCtlSettings({}, "", {"", "", "", dir_});  // no ~/.config file
  ASSERT_OK(s.status());
  EXPECT_EQ(s->controller, "127.0.0.1:7444");
  EXPECT_EQ(s->token_file, "");
}

TEST_F(CredentialsTest, UserConfigFileIsReadWhenItExists) {
  ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir_, "/.config/writeback'").c_str()), 0);
  Write(".config/writeback/writebackctl.conf", "token_file = op.token\n");
  auto s = ResolveCtlSettings({}, "", {"", "", "", dir_});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->token_file, dir_ + "/.config/writeback/op.token");
  // WRITEBACKCTL_CONFIG names another file, which must exist.
  EXPECT_THAT(ResolveCtlSettings({}, "", {"", "", dir_ + "/missing.conf", dir_}),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("WRITEBACKCTL_CONFIG"), HasSubstr("missing.conf"))));
}

TEST_F(CredentialsTest, TokenFileOthersMayReadIsRefusedWithTheChmodToRun) {
  CtlSettings s;
  s.controller = "127.0.0.1:7444";
  s.token_file = Write("op.token", "a-token-value", 0644);
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("chmod 600 " + s.token_file), Not(HasSubstr("a-token")))));
  s.token_file = Write("empty.token", "\n");
  EXPECT_THAT(OpenAdminChannel(s), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  s.token_file = Write("two.token", "one two\n");
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only the token")));
  s.token_file = Write("good.token", "a-token-value\n");
  EXPECT_OK(OpenAdminChannel(s).status());
}

TEST_F(CredentialsTest, TokenIsNeverSentInClearBeyondLoopback) {
  CtlSettings s;
  s.controller = "ctl.example.com:7444";
  s.token_file = Write("op.token", "a-token-value");
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("in clear"), HasSubstr("--ca_file"))));
  s.ca_file = Write("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
  EXPECT_OK(OpenAdminChannel(s).status());
  s.controller = "[::1]:7444";
  s.ca_file.clear();
  EXPECT_OK(OpenAdminChannel(s).status());
}

TEST_F(CredentialsTest, ClientCertificateNeedsKeyAndCa) {
  CtlSettings s;
  s.controller = "127.0.0.1:7444";
  s.cert_file = Write("admin.pem", "cert", 0644);
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--key_file")));
  s.key_file = Write("admin.key", "key", 0644);
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--ca_file")));
  s.ca_file = Write("ca.pem", "ca", 0644);
  EXPECT_THAT(OpenAdminChannel(s),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
}

TEST(AuthFailureTest, OnlyUnauthenticatedAndPermissionDenied) {
  EXPECT_TRUE(IsAuthFailure(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")));
  EXPECT_TRUE(IsAuthFailure(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "")));
  EXPECT_FALSE(IsAuthFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")));
  EXPECT_FALSE(IsAuthFailure(grpc::Status::OK));
}

}  // namespace
}  // namespace writeback::ctl
