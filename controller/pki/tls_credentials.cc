#include "controller/pki/tls_credentials.h"

#include <algorithm>

#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace writeback::controller {

namespace gx = grpc::experimental;

std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const std::string& key_path,
                                                                    const std::string& cert_path,
                                                                    const std::string& roots_path,
                                                                    int refresh_s) {
  auto provider = std::make_shared<gx::FileWatcherCertificateProvider>(
      key_path, cert_path, roots_path, static_cast<unsigned int>(std::max(1, refresh_s)));
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.watch_root_certs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return gx::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> AgentServerCredentials(const ControllerCa& ca,
                                                                int refresh_s) {
  return MutualTlsServerCredentials(ca.server_key_path(), ca.server_cert_path(),
                                    ca.agent_roots_path(), refresh_s);
}

std::shared_ptr<grpc::ServerCredentials> ServerTlsCredentials(const std::string& key_path,
                                                              const std::string& cert_path,
                                                              int refresh_s) {
  auto provider = std::make_shared<gx::FileWatcherCertificateProvider>(
      key_path, cert_path, static_cast<unsigned int>(std::max(1, refresh_s)));
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return gx::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> EnrollServerCredentials(const ControllerCa& ca,
                                                                 int refresh_s) {
  return ServerTlsCredentials(ca.server_key_path(), ca.server_cert_path(), refresh_s);
}

}  // namespace writeback::controller
