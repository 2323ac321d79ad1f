// The Admin API server's gate (controller/admin/admin_server.h) in process:
// refused calls never reach the service, and each call that does carries its
// own principal for the audit trail, whatever else shares the connection.
#include "controller/admin/admin_server.h"

#include <stdlib.h>

#include <fstream>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/grpc_status.h"
#include "controller/admin/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

// Records who reached it.
class RecordingService : public v1::AdminService::Service {
 public:
  grpc::Status GetMailbox(grpc::ServerContext* context, const v1::GetMailboxRequest* request,
                          v1::Mailbox*) override {
    Record(*context);
    if (!request->cloud_id().empty()) {  // an error that quotes what it was sent
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("mailbox \"", request->cloud_id(), "\" is not registered"));
    }
    return grpc::Status::OK;
  }
  grpc::Status UpdateMailbox(grpc::ServerContext* context, const v1::UpdateMailboxRequest*,
                             v1::Mailbox*) override {
    Record(*context);
    return grpc::Status::OK;
  }
  std::vector<std::string> callers() {
    std::lock_guard<std::mutex> lock(mu_);
    return callers_;
  }

 private:
  void Record(const grpc::ServerContext& context) {
    std::lock_guard<std::mutex> lock(mu_);
    callers_.push_back(CallerOf(context));
  }
  std::mutex mu_;
  std::vector<std::string> callers_;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-admin-server.XXXXXX";
    dir_ = mkdtemp(tmpl);
    AdminTokens::Options tokens;
    tokens.tokens_file = dir_ + "/admin-tokens";
    tokens.local_token_file = dir_ + "/admin.token";
    auto opened = AdminTokens::Open(tokens, &clock_);
    ASSERT_OK(opened.status());
    std::ofstream(tokens.tokens_file, std::ios::app)
        << TokensFileLine("bob", AdminRole::kReadOnly, kBob);
    tokens_ = std::move(*opened);
    operator_token_ = *ReadFileToString(tokens.local_token_file);
    clock_.Advance(absl::Seconds(1));  // the reload interval: bob is read at the first call
    options_.listen = "127.0.0.1:0";
    options_.tokens = tokens_;
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    (void)!system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  void Start() {
    int port = 0;
    auto server = StartAdminServer(options_, &service_, &port);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    stub_ = v1::AdminService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  absl::Status Get(const std::string& token, const std::string& forged_caller = "",
                   const std::string& cloud_id = "") {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    if (!forged_caller.empty()) context.AddMetadata(kCallerMetadataKey, forged_caller);
    v1::GetMailboxRequest request;
    request.set_cloud_id(cloud_id);
    v1::Mailbox m;
    return FromGrpcStatus(stub_->GetMailbox(&context, request, &m));
  }
  absl::Status Update(const std::string& token) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::Mailbox m;
    return FromGrpcStatus(stub_->UpdateMailbox(&context, {}, &m));
  }

  static constexpr char kBob[] = "bob-token-abcdefghijklmnopqrstuvwxyz0123456";
  FakeClock clock_;
  std::string dir_;
  std::shared_ptr<AdminTokens> tokens_;
  std::string operator_token_;
  AdminServerOptions options_;
  RecordingService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

TEST_F(AdminServerTest, UnauthenticatedCallsNeverReachTheService) {
  Start();
  EXPECT_THAT(Get(""), StatusIs(absl::StatusCode::kUnauthenticated,
                                AllOf(HasSubstr("no credentials"), HasSubstr("--token_file"))));
  EXPECT_THAT(Update("wrong-token"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("token not recognised")));
  EXPECT_TRUE(service_.callers().empty());
}

// An error quoting a megabyte the caller sent still reaches it as the
// refusal (not as gRPC's "metadata size exceeds limit"), cut to a kilobyte.
TEST_F(AdminServerTest, HugeErrorMessagesAreCut) {
  Start();
  absl::Status s = Get(operator_token_, "", std::string(1 << 20, 'c'));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound,
                          AllOf(HasSubstr("mailbox \"cccc"), HasSubstr(" bytes cut)"))));
  EXPECT_LE(s.message().size(), kMaxErrorMessageBytes + 40);
  EXPECT_THAT(Get(operator_token_, "", "short"),
              StatusIs(absl::StatusCode::kNotFound, "mailbox \"short\" is not registered"));
}

// Bytes that are not UTF-8 in a string field: gRPC cannot parse the request
// and no handler runs; the caller is told why, not an empty INTERNAL.
TEST_F(AdminServerTest, UnparsableRequestIsNamed) {
  Start();
  EXPECT_THAT(Get(operator_token_, "", "caf\xc3\x28"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("GetMailbox"), HasSubstr("UTF-8"))));
  EXPECT_TRUE(service_.callers().empty());
}

TEST_F(AdminServerTest, ReadOnlyReadsButItsChangesNeverReachTheService) {
  Start();
  EXPECT_OK(Get(kBob));
  EXPECT_THAT(Update(kBob),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("token:bob (read-only)"), HasSubstr("UpdateMailbox"),
                             HasSubstr("operator"))));
  EXPECT_OK(Update(operator_token_));
  EXPECT_THAT(service_.callers(),
              ElementsAre("token:bob (read-only)", "token:local-operator (operator)"));
}

TEST_F(AdminServerTest, EachCallOnOneConnectionCarriesItsOwnPrincipal) {
  // gRPC's AuthContext is shared by the calls of a connection; the caller
  // must not be.
  Start();
  EXPECT_OK(Get(kBob));
  EXPECT_OK(Get(operator_token_));
  EXPECT_OK(Get(kBob));
  EXPECT_THAT(service_.callers(),
              ElementsAre("token:bob (read-only)", "token:local-operator (operator)",
                          "token:bob (read-only)"));
}

TEST_F(AdminServerTest, ClientCannotForgeTheRecordedCaller) {
  Start();
  EXPECT_OK(Get(kBob, "token:root (operator)"));
  EXPECT_THAT(service_.callers(), ElementsAre("token:bob (read-only)"));
}

TEST_F(AdminServerTest, NonLoopbackAddressNeedsTls) {
  options_.listen = "0.0.0.0:0";
  int port = 0;
  EXPECT_THAT(StartAdminServer(options_, &service_, &port),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("0.0.0.0:0"), HasSubstr("not a loopback address"),
                             HasSubstr("tls: true"))));
  options_.tls = true;  // but no certificate
  EXPECT_THAT(StartAdminServer(options_, &service_, &port),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls.cert_file")));
}

TEST(AdminServerConfigTest, ChecksTheConfigurationBeforeTouchingFiles) {
  v1::ControllerConfig config;
  config.set_store_path("/nonexistent-dir/writeback.db");
  config.set_admin_listen("10.0.0.1:7444");
  EXPECT_THAT(AdminServerOptionsFromConfig(config, "", "", Clock::Real()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a loopback address")));
  config.set_admin_listen("127.0.0.1:7444");
  config.mutable_admin_auth()->set_client_ca_file("/ca.pem");
  EXPECT_THAT(AdminServerOptionsFromConfig(config, "", "", Clock::Real()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs admin_auth.tls")));
  config.mutable_admin_auth()->set_tls(true);
  auto* p = config.mutable_admin_auth()->add_principals();
  p->set_name("alice");
  p->set_role("admin");
  EXPECT_THAT(AdminServerOptionsFromConfig(config, "", "", Clock::Real()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("alice"), HasSubstr("\"read-only\" or \"operator\""))));
  p->set_role("operator");
  *config.mutable_admin_auth()->add_principals() = *p;
  EXPECT_THAT(AdminServerOptionsFromConfig(config, "", "", Clock::Real()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
}

TEST(AdminServerConfigTest, TokenFilesDefaultBesideTheStore) {
  char tmpl[] = "/tmp/wb-admin-config.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  v1::ControllerConfig config;
  config.set_store_path(dir + "/writeback.db");
  config.set_admin_listen("127.0.0.1:0");
  auto options = AdminServerOptionsFromConfig(config, "", "", Clock::Real());
  ASSERT_OK(options.status());
  EXPECT_TRUE((*options).tokens->created());
  EXPECT_OK(ReadPrivateFile(dir + "/admin-tokens").status());
  EXPECT_OK(ReadPrivateFile(dir + "/admin.token").status());
  (void)!system(absl::StrCat("rm -rf '", dir, "'").c_str());
}

}  // namespace
}  // namespace writeback::controller
