// RecordingProxy between a raw agent stream (ReplayStream) and a controller
// stand-in (TestController), on loopback: messages cross unchanged both ways
// and are recorded byte for byte, in order, with the identity the proxy
// presents upstream.
#include "tests/harness/recording_proxy.h"

#include <cstdlib>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/compat/replay_stream.h"
#include "tests/harness/certs.h"
#include "tests/harness/test_controller.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;

class CompatRecordingProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/wb-proxy-test.XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    ASSERT_OK(MakeTestCerts(*dir_ + "/certs", "corp.example.test", 2).status());
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string certs() { return *dir_ + "/certs"; }
  static std::string* dir_;
};
std::string* CompatRecordingProxyTest::dir_ = nullptr;

std::string Bytes(const v1::AgentMessage& m) { return m.SerializeAsString(); }

TEST_F(CompatRecordingProxyTest, CarriesAndRecordsEveryMessageUnchanged) {
  TestController::Options controller_options;
  controller_options.cert_dir = certs();
  auto controller = TestController::Start(controller_options);
  ASSERT_OK(controller.status());
  RecordingProxy::Options options;
  options.cert_dir = certs();
  options.upstream = (*controller)->address();
  options.upstream_agent = "agent-2";
  auto proxy = RecordingProxy::Start(options);
  ASSERT_OK(proxy.status());

  v1::AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_max_in_flight(4);
  auto agent = ReplayStream::Open((*proxy)->address(), certs(), "agent-1");
  ASSERT_OK(agent.status());
  (*agent)->Start(Bytes(hello));

  // The controller sees the identity the proxy presents.
  auto session = (*controller)->WaitForAgent(absl::Seconds(30));
  ASSERT_OK(session.status());
  EXPECT_EQ(session->agent_id, "agent-2");
  EXPECT_EQ(session->hello.max_in_flight(), 4u);
  auto welcome = (*agent)->Next(absl::Seconds(30));
  ASSERT_OK(welcome.status());
  ASSERT_TRUE(welcome->has_value());

  v1::Job job;
  job.set_job_id("j-1");
  job.set_mailbox_id("m-1");
  ASSERT_OK((*controller)->SendJobs({job}));
  std::optional<std::string> jobs;
  while (!jobs.has_value()) {  // heartbeats may come first
    auto next = (*agent)->Next(absl::Seconds(30));
    ASSERT_OK(next.status());
    ASSERT_TRUE(next->has_value()) << "no job within 30 s";
    v1::ControllerMessage m;
    if (m.ParseFromString(**next) && m.has_jobs()) jobs = **next;
  }
  v1::AgentMessage result;
  result.mutable_results()->add_results()->set_job_id("j-1");
  (*agent)->Send(Bytes(result));
  auto results = (*controller)->WaitForResults(1, absl::Seconds(30));
  ASSERT_OK(results.status());
  EXPECT_EQ((*results)[0].job_id(), "j-1");

  ASSERT_OK((*agent)->Close(absl::Seconds(10)));
  ASSERT_OK((*proxy)->WaitForStreamsDone(absl::Seconds(30)));
  ASSERT_OK((*controller)->WaitForDisconnect(absl::Seconds(30)));

  std::vector<RecordingProxy::StreamRecord> streams = (*proxy)->Streams();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].agent_id, "agent-1");  // downstream identity
  EXPECT_TRUE(streams[0].done);
  const auto& messages = streams[0].messages;
  ASSERT_GE(messages.size(), 4u);
  EXPECT_EQ(messages[0].direction, Direction::kAgentToController);
  EXPECT_EQ(messages[0].bytes, Bytes(hello));
  EXPECT_EQ(messages[1].direction, Direction::kControllerToAgent);
  EXPECT_EQ(messages[1].bytes, **welcome);
  bool saw_jobs = false, saw_result = false;
  int64_t last_ms = 0;
  for (const auto& m : messages) {
    EXPECT_GE(m.at_ms, last_ms) << "times run forward";
    last_ms = m.at_ms;
    saw_jobs |= m.direction == Direction::kControllerToAgent && m.bytes == *jobs;
    saw_result |= m.direction == Direction::kAgentToController && m.bytes == Bytes(result);
  }
  EXPECT_TRUE(saw_jobs);
  EXPECT_TRUE(saw_result);
}

TEST_F(CompatRecordingProxyTest, RefusesAPeerWithoutAgentIdentityAndForwardsNothing) {
  RecordingProxy::Options options;
  options.cert_dir = certs();
  options.upstream = "127.0.0.1:1";  // never dialled
  auto proxy = RecordingProxy::Start(options);
  ASSERT_OK(proxy.status());
  auto admin = ReplayStream::Open((*proxy)->address(), certs(), "admin");
  ASSERT_OK(admin.status());
  v1::AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  (*admin)->Start(Bytes(hello));
  auto next = (*admin)->Next(absl::Seconds(30));
  EXPECT_THAT(next.status(), StatusIs(absl::StatusCode::kUnavailable,
                                      ::testing::HasSubstr("not an agent")));
  ASSERT_OK((*proxy)->WaitForStreamsDone(absl::Seconds(30)));
  std::vector<RecordingProxy::StreamRecord> streams = (*proxy)->Streams();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].status_code, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(streams[0].messages.empty());
}

}  // namespace
}  // namespace writeback::testing
