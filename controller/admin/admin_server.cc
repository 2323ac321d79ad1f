#include "controller/admin/admin_server.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/address.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "controller/admin/audit.h"
#include "controller/admin/public_services.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/server_interceptor.h"

namespace writeback::controller {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::string ToString(grpc::string_ref s) { return std::string(s.data(), s.size()); }

// Who a call is, from its metadata and its connection's auth context; the
// one decision both the processor and the interceptor use.
class Gate {
 public:
  explicit Gate(const AdminServerOptions& options)
      : tokens_(options.tokens),
        certificates_{options.tls && !options.client_ca_pem.empty(), options.certificate_roles} {}

  absl::StatusOr<Principal> Identify(const Metadata& metadata,
                                     const grpc::AuthContext& connection) const {
    PresentedCredentials presented;
    auto [begin, end] = metadata.equal_range("authorization");
    for (auto it = begin; it != end; ++it) presented.authorization.push_back(ToString(it->second));
    bool tls = false;
    for (const auto& t : connection.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME)) {
      tls = tls || t == GRPC_SSL_TRANSPORT_SECURITY_TYPE;
    }
    if (tls && connection.IsPeerAuthenticated()) {
      for (const auto& san : connection.FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
        presented.certificate_names.push_back(ToString(san));
      }
    }
    return Authenticate(presented, *tokens_->Current(), certificates_);
  }

 private:
  const std::shared_ptr<AdminTokens> tokens_;
  const CertificatePolicy certificates_;
};

// Runs for every call before it reaches the service.
class AuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthProcessor(std::shared_ptr<const Gate> gate) : gate_(std::move(gate)) {}

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed, OutputMetadata* /*response*/) override {
    std::string method;
    if (auto it = metadata.find(":path"); it != metadata.end()) {
      const std::string path = ToString(it->second);
      // Health and reflection: no credentials, no data (public_services.h).
      if (IsPublicToolingMethod(path)) return grpc::Status::OK;
      method = std::string(MethodOfPath(path));
    }
    absl::StatusOr<Principal> who = gate_->Identify(metadata, *context);
    absl::Status allowed = who.ok() ? Authorize(*who, method) : who.status();
    if (!allowed.ok()) {
      LogLine line(LogLevel::kWarning);
      line << "refused Admin API call";
      if (who.ok()) line << LogField("principal", who->ToString());
      line << LogField("method", method) << LogField("error", allowed.message())
           << LogHint(who.ok() ? "give the principal the operator role in the tokens file, or "
                                 "use a principal that has it"
                               : "send a valid token (writebackctl --token_file or "
                                 "WRITEBACKCTL_TOKEN_FILE) or admin certificate");
      return ToGrpcStatus(allowed);
    }
    // Belt and braces: the interceptor replaces it too.
    auto [begin, end] = metadata.equal_range(kCallerMetadataKey);
    for (auto it = begin; it != end; ++it) {
      consumed->emplace(kCallerMetadataKey, ToString(it->second));
    }
    return grpc::Status::OK;
  }

 private:
  const std::shared_ptr<const Gate> gate_;
};

// Records the call's principal for CallerOf, and makes the error it answers
// with say what failed in a bounded message (AnswerStatus). Lives as long as the call.
class CallerInterceptor : public grpc::experimental::Interceptor {
 public:
  CallerInterceptor(std::shared_ptr<const Gate> gate, grpc::experimental::ServerRpcInfo* info)
      : gate_(std::move(gate)), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Metadata* metadata = methods->GetRecvInitialMetadata();
      metadata->erase(kCallerMetadataKey);
      if (IsPublicToolingMethod(info_->method())) {  // admitted without credentials
        methods->Proceed();
        return;
      }
      absl::StatusOr<Principal> who =
          gate_->Identify(*metadata, *info_->server_context()->auth_context());
      // The processor admitted the call; only a tokens file that changed in
      // between can make this fail.
      caller_ = who.ok() ? who->ToString()
                         : "(caller not identified: the tokens file changed during the call)";
      metadata->emplace(kCallerMetadataKey, caller_);
    }
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (!status.ok()) methods->ModifySendStatus(AnswerStatus(status, info_->method()));
    }
    methods->Proceed();
  }

 private:
  const std::shared_ptr<const Gate> gate_;
  grpc::experimental::ServerRpcInfo* const info_;
  std::string caller_;  // the metadata entry points here
};

class CallerInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallerInterceptorFactory(std::shared_ptr<const Gate> gate) : gate_(std::move(gate)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallerInterceptor(gate_, info);
  }

 private:
  const std::shared_ptr<const Gate> gate_;
};

}  // namespace

grpc::Status AnswerStatus(const grpc::Status& status, const std::string& method) {
  if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(method,
                                     ": the request could not be parsed; string fields must be "
                                     "valid UTF-8 (send bytes that are not as escapes)"));
  }
  const std::string& message = status.error_message();
  if (message.size() <= kMaxErrorMessageBytes) return status;
  size_t cut = kMaxErrorMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return grpc::Status(
      status.error_code(),
      absl::StrCat(message.substr(0, cut), "... (", message.size() - cut, " bytes cut)"),
      status.error_details());
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartAdminServer(const AdminServerOptions& options,
                                                               grpc::Service* service, int* port) {
  if (options.tokens == nullptr) {
    return absl::InvalidArgumentError("StartAdminServer: no tokens (AdminServerOptions.tokens)");
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.tls) {
    if (options.server_cert_pem.empty() || options.server_key_pem.empty()) {
      return absl::InvalidArgumentError(
          "admin_auth.tls needs the controller's server certificate and key (tls.cert_file, "
          "tls.key_file)");
    }
    grpc::SslServerCredentialsOptions ssl(options.client_ca_pem.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options.client_ca_pem;
    ssl.pem_key_cert_pairs.push_back({options.server_key_pem, options.server_cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  } else {
    if (!IsLoopbackAddress(options.listen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "admin_listen: ", options.listen,
          " is not a loopback address, and bearer tokens must not cross a network in clear: "
          "listen on 127.0.0.1 or [::1], or serve the Admin API over TLS with admin_auth { tls: "
          "true }"));
    }
    // Loopback only (gRPC checks the peer), and unlike insecure credentials
    // it runs the AuthMetadataProcessor.
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  }
  auto gate = std::make_shared<const Gate>(options);
  credentials->SetAuthMetadataProcessor(std::make_shared<AuthProcessor>(gate));

  EnablePublicToolingServices();  // health and reflection (process-wide)
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, port);
  builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<CallerInterceptorFactory>(gate));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on admin_listen ", options.listen,
        ": is the address in use, or not an address of this host?"));
  }
  return server;
}

}  // namespace writeback::controller
