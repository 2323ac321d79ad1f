// Acceptance (issue 2, #5): the agent stream refuses a client without a
// certificate, with one from another CA, and with an admin-format identity;
// a proper agent certificate gets a Welcome.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/uplink/agent_stream.h"
#include "common/base/files.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;

struct Attempt {
  bool welcomed = false;
  grpc::Status status;
};

class StreamAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(env_.StartController());
    ASSERT_OK(env_.AddForest());
  }

  std::string Pem(const std::string& name) {
    return ReadFileToString(env_.cert_dir() + "/" + name).value_or("");
  }

  // Opens the agent stream with `cert`/`key` (empty: no client certificate)
  // through the agent's own stream reactor, and waits until the controller
  // welcomes it or ends the stream (hang guard 20 s).
  Attempt Connect(const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Pem("ca.pem");
    if (!cert.empty()) {
      ssl.pem_cert_chain = Pem(cert);
      ssl.pem_private_key = Pem(key);
    }
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", env_.agent_port()),
                                       grpc::SslCredentials(ssl));
    auto stub = v1::AgentGateway::NewStub(channel);
    absl::Mutex mu;
    bool welcomed = false, ended = false;
    auto stream = std::make_shared<agent::AgentStream>(
        stub.get(), [&](const v1::ControllerMessage& m) {
          absl::MutexLock lock(&mu);
          if (m.has_welcome()) welcomed = true;
        });
    v1::AgentMessage hello;
    hello.mutable_hello()->set_protocol_version(1);
    hello.mutable_hello()->set_max_in_flight(1);
    stream->Start(hello);
    std::thread ender([&] {
      {
        absl::MutexLock lock(&mu);
        auto over = [&] { return welcomed || ended; };
        mu.AwaitWithTimeout(absl::Condition(&over), absl::Seconds(20));
      }
      stream->Cancel();
    });
    Attempt attempt;
    attempt.status = stream->Wait();
    {
      absl::MutexLock lock(&mu);
      ended = true;
      attempt.welcomed = welcomed;
    }
    ender.join();
    return attempt;
  }

  WritebackEnv env_;
};

TEST_F(StreamAuthTest, AgentCertificateIsWelcomed) {
  Attempt a = Connect("agent-1.pem", "agent-1.key");
  EXPECT_TRUE(a.welcomed) << a.status.error_message();
}

TEST_F(StreamAuthTest, ClientWithoutCertificateIsRefused) {
  Attempt a = Connect("", "");
  EXPECT_FALSE(a.welcomed);
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE) << a.status.error_message();
}

TEST_F(StreamAuthTest, CertificateFromAnotherCaIsRefused) {
  Attempt a = Connect("rogue-agent.pem", "rogue-agent.key");
  EXPECT_FALSE(a.welcomed);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::UNAVAILABLE) << a.status.error_message();
}

TEST_F(StreamAuthTest, AdminIdentityIsRefusedOnTheAgentStream) {
  Attempt a = Connect("admin.pem", "admin.key");
  EXPECT_FALSE(a.welcomed);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << a.status.error_message();
  EXPECT_THAT(a.status.error_message(), ::testing::HasSubstr("writeback://admin/test-admin"));
}

}  // namespace
}  // namespace writeback::testing
