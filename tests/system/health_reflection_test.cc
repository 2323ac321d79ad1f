// Standard gRPC tooling against the real controller's Admin API listener,
// with no credentials at all (as grpc_health_probe and grpcurl -plaintext
// connect): grpc.health.v1.Health answers SERVING for the server and for
// writeback.v1.AdminService, NOT_FOUND for a service it does not know, and a
// Watch sees NOT_SERVING once the controller gets SIGTERM; server reflection
// lists the Admin API and returns its file descriptor; every other Admin API
// call still needs a token. The client stubs come from Debian's grpc-proto
// .proto files (tests/system/CMakeLists.txt). Needs no DC.
#include <signal.h>

#include <memory>
#include <set>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::testing {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::Contains;

// What grpcurl -plaintext and grpc_health_probe use on loopback: no TLS, no
// token, no client certificate.
std::shared_ptr<grpc::Channel> Anonymous(const WritebackEnv& env) {
  return grpc::CreateChannel(env.admin_address(), grpc::InsecureChannelCredentials());
}

void SetDeadline(grpc::ClientContext* context, absl::Duration d = absl::Seconds(10)) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(d)));
}

grpc::Status Check(Health::Stub& health, const std::string& service,
                   HealthCheckResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  HealthCheckRequest request;
  request.set_service(service);
  return health.Check(&context, request, response);
}

class HealthReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(env_.StartController()); }
  WritebackEnv env_;
};

TEST_F(HealthReflectionTest, HealthAnswersWithoutCredentials) {
  auto health = Health::NewStub(Anonymous(env_));
  HealthCheckResponse response;
  grpc::Status s = Check(*health, "", &response);
  ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message() << env_.LogsForFailure();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  for (const char* service : {"writeback.v1.AdminService", "writeback.v1.AgentGateway",
                              "writeback.v1.Enrollment", "writeback.v1.CertificateRenewal"}) {
    response.Clear();
    s = Check(*health, service, &response);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_code() << ": " << s.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }

  s = Check(*health, "no.such.Service", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

TEST_F(HealthReflectionTest, OtherAdminCallsStillNeedAToken) {
  auto admin = v1::AdminService::NewStub(Anonymous(env_));
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::GetMailboxRequest request;
    request.set_cloud_id(WritebackEnv::CloudId(1));
    v1::Mailbox response;
    grpc::Status s = admin->GetMailbox(&context, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ListForestsRequest request;
    v1::ListForestsResponse response;
    grpc::Status s = admin->ListForests(&context, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  {  // A made-up method under the health service's name is not let through.
    grpc::GenericStub generic(Anonymous(env_));
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Slice empty_message("");  // an empty HealthCheckRequest
    grpc::ByteBuffer request(&empty_message, 1), response;
    grpc::Status result;
    absl::Notification done;
    generic.UnaryCall(&context, "/grpc.health.v1.Health/Reset", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        result = std::move(s);
                        done.Notify();
                      });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
    EXPECT_EQ(result.error_code(), grpc::StatusCode::UNAUTHENTICATED) << result.error_message();
  }
}

TEST_F(HealthReflectionTest, ReflectionDescribesTheAdminApi) {
  auto reflection = ServerReflection::NewStub(Anonymous(env_));
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = reflection->ServerReflectionInfo(&context);

  ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(stream->Write(list));
  ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response)) << env_.LogsForFailure();
  ASSERT_TRUE(response.has_list_services_response()) << response.ShortDebugString();
  std::set<std::string> services;
  for (const auto& s : response.list_services_response().service()) services.insert(s.name());
  EXPECT_THAT(services, Contains("writeback.v1.AdminService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));

  ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("writeback.v1.AdminService");
  ASSERT_TRUE(stream->Write(symbol));
  response.Clear();
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_file_descriptor_response()) << response.ShortDebugString();
  bool found_get_mailbox = false;
  std::set<std::string> files;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    files.insert(file.name());
    if (file.package() != "writeback.v1") continue;
    for (const auto& service : file.service()) {
      if (service.name() != "AdminService") continue;
      for (const auto& method : service.method()) {
        if (method.name() == "GetMailbox") {
          found_get_mailbox = true;
          EXPECT_EQ(method.input_type(), ".writeback.v1.GetMailboxRequest");
          EXPECT_EQ(method.output_type(), ".writeback.v1.Mailbox");
        }
      }
    }
  }
  EXPECT_THAT(files, Contains("writeback/v1/admin.proto"));
  EXPECT_TRUE(found_get_mailbox) << "AdminService.GetMailbox not in the descriptors";
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(HealthReflectionTest, WatchSeesNotServingOnSigterm) {
  auto health = Health::NewStub(Anonymous(env_));
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(30));
  HealthCheckRequest request;
  request.set_service("writeback.v1.AdminService");
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> watch = health->Watch(&context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update)) << env_.LogsForFailure();
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  ASSERT_OK(env_.controller().Signal(SIGTERM));
  ASSERT_TRUE(watch->Read(&update)) << "the watch ended without an update\n"
                                    << env_.LogsForFailure();
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  // Then the controller stops cleanly, ending the watch.
  ASSERT_OK_AND_ASSIGN(ExitStatus ended, env_.controller().WaitExit(absl::Seconds(30)));
  EXPECT_TRUE(ended.ok()) << ended.ToString() << env_.LogsForFailure();
  while (watch->Read(&update)) {
  }
  EXPECT_FALSE(watch->Finish().ok());
}

}  // namespace
}  // namespace writeback::testing
