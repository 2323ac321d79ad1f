// gRPC server credentials over the files of a ControllerCa, re-read by
// gRPC's FileWatcherCertificateProvider every `refresh_s` seconds (at least
// 1), so a re-issued server.pem or a rotation's new agent-roots.pem is used
// for new handshakes without restarting the server; a rotation is picked up
// within about one refresh interval. Connections already established are
// not re-checked.
//
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<ControllerCa> ca, ControllerCa::Open(o, absl::Now()));
//   grpc::ServerBuilder agents;
//   agents.AddListeningPort(config.agent_listen(), AgentServerCredentials(*ca));
//   grpc::ServerBuilder enroll;
//   enroll.AddListeningPort(enroll_address, EnrollServerCredentials(*ca));
//
// The peer's certificate reaches handlers as with SslServerCredentials: the
// auth context holds x509_pem_cert, x509_common_name and
// x509_subject_alternative_name (PeerAgentIdentity reads the latter).
// The credentials hold the file paths, not the ControllerCa: it may go
// away while the server runs (the files stay).
#ifndef WRITEBACK_CONTROLLER_PKI_TLS_CREDENTIALS_H_
#define WRITEBACK_CONTROLLER_PKI_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "controller/pki/controller_ca.h"
#include "grpcpp/security/server_credentials.h"

namespace writeback::controller {

inline constexpr int kDefaultCertificateRefreshSeconds = 1;

// The same over any files: an operator-issued server identity (tls.cert_file,
// tls.key_file) with the CA's agent-roots.pem.
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(
    const std::string& key_path, const std::string& cert_path, const std::string& roots_path,
    int refresh_s = kDefaultCertificateRefreshSeconds);
std::shared_ptr<grpc::ServerCredentials> ServerTlsCredentials(
    const std::string& key_path, const std::string& cert_path,
    int refresh_s = kDefaultCertificateRefreshSeconds);

// Mutual TLS for the agent stream: the server presents server.key/server.pem
// and requires a client certificate that verifies against agent-roots.pem
// (the serving CA, the next CA during a rotation, the operator's extra CA).
std::shared_ptr<grpc::ServerCredentials> AgentServerCredentials(
    const ControllerCa& ca, int refresh_s = kDefaultCertificateRefreshSeconds);

// Server-authenticated TLS for enrollment: server.key/server.pem, no client
// certificate requested (a new agent has none yet).
std::shared_ptr<grpc::ServerCredentials> EnrollServerCredentials(
    const ControllerCa& ca, int refresh_s = kDefaultCertificateRefreshSeconds);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_PKI_TLS_CREDENTIALS_H_
