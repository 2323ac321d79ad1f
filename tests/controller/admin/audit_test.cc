#include "controller/admin/audit.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "writeback/v1/config.pb.h"

namespace writeback::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(AuditTest, RedactsEveryFieldNamedLikeASecretAtAnyDepth) {
  writeback::v1::AgentConfig config;
  config.set_controller("controller.example.com:7443");
  config.mutable_tls()->set_key_file("/var/lib/writeback/agent.key");
  config.mutable_tls()->set_cert_file("/var/lib/writeback/agent.pem");
  config.mutable_ldap()->set_password_file("/etc/writeback/bind.secret");
  config.mutable_ldap()->set_bind_dn("CN=svc-writeback,OU=Service,DC=corp");
  RedactSecrets(&config);
  EXPECT_EQ(config.tls().key_file(), "[redacted]");
  EXPECT_EQ(config.ldap().password_file(), "[redacted]");
  EXPECT_EQ(config.controller(), "controller.example.com:7443");
  EXPECT_EQ(config.tls().cert_file(), "/var/lib/writeback/agent.pem");
  EXPECT_EQ(config.ldap().bind_dn(), "CN=svc-writeback,OU=Service,DC=corp");
}

TEST(AuditTest, RecordCarriesCallerMethodRedactedArgumentsAndResult) {
  writeback::v1::AgentConfig request;
  request.mutable_tls()->set_key_file("/secret/path.key");
  request.set_controller("c:1");
  auto ok = MakeAuditRecord("unauthenticated peer ipv4:127.0.0.1:5000", "Test", request,
                            grpc::Status::OK, absl::FromUnixMillis(1234));
  EXPECT_EQ(ok.time_ms(), 1234);
  EXPECT_EQ(ok.caller(), "unauthenticated peer ipv4:127.0.0.1:5000");
  EXPECT_EQ(ok.method(), "Test");
  EXPECT_EQ(ok.result(), "OK");
  EXPECT_THAT(ok.arguments(), HasSubstr("\"controller\":\"c:1\""));
  EXPECT_THAT(ok.arguments(), HasSubstr("[redacted]"));
  EXPECT_THAT(ok.arguments(), Not(HasSubstr("/secret/path.key")));
  EXPECT_EQ(request.tls().key_file(), "/secret/path.key") << "the caller's request is untouched";
  auto refused = MakeAuditRecord("x", "AddMailbox", request,
                                 grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken"),
                                 absl::FromUnixMillis(1));
  EXPECT_EQ(refused.result(), "ALREADY_EXISTS: taken");
}

}  // namespace
}  // namespace writeback::controller
