// Acceptance (issue 2, #5): the agent stream refuses a client without a
// certificate, with one from another CA, and with an admin-format identity;
// a proper agent certificate gets a Welcome.
#include "common/base/files.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/system/stream_probe.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;

class StreamAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(env_.StartController());
    ASSERT_OK(env_.AddForest());
  }

  std::string Pem(const std::string& name) {
    return ReadFileToString(env_.cert_dir() + "/" + name).value_or("");
  }

  // The agent stream opened with `cert`/`key` of the test PKI (empty: no
  // client certificate).
  StreamProbe Connect(const std::string& cert, const std::string& key) {
    return ProbeAgentStream(env_.agent_port(), Pem("ca.pem"), cert.empty() ? "" : Pem(cert),
                            key.empty() ? "" : Pem(key));
  }

  WritebackEnv env_;
};

TEST_F(StreamAuthTest, AgentCertificateIsWelcomed) {
  StreamProbe a = Connect("agent-1.pem", "agent-1.key");
  EXPECT_TRUE(a.welcomed) << a.status.error_message();
}

TEST_F(StreamAuthTest, ClientWithoutCertificateIsRefused) {
  StreamProbe a = Connect("", "");
  EXPECT_FALSE(a.welcomed);
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE) << a.status.error_message();
}

TEST_F(StreamAuthTest, CertificateFromAnotherCaIsRefused) {
  StreamProbe a = Connect("rogue-agent.pem", "rogue-agent.key");
  EXPECT_FALSE(a.welcomed);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE) << a.status.error_message();
}

TEST_F(StreamAuthTest, AdminIdentityIsRefusedOnTheAgentStream) {
  StreamProbe a = Connect("admin.pem", "admin.key");
  EXPECT_FALSE(a.welcomed);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << a.status.error_message();
  EXPECT_THAT(a.status.error_message(), ::testing::HasSubstr("writeback://admin/test-admin"));
}

}  // namespace
}  // namespace writeback::testing
