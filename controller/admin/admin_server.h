// The Admin API server (DESIGN §7): plaintext on loopback or TLS anywhere,
// and every call authenticated and its role checked in one place before any
// handler runs, so a new RPC cannot forget it.
//
//   WB_ASSIGN_OR_RETURN(AdminServerOptions options,
//                       AdminServerOptionsFromConfig(config, cert_pem, key_pem, Clock::Real()));
//   int port = 0;
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<grpc::Server> server,
//                       StartAdminServer(options, &admin_service, &port));
//
// How: the listening port's server credentials (gRPC local credentials on a
// loopback address, TLS otherwise) carry an AuthMetadataProcessor, which
// gRPC runs on every call's metadata (":path" included) before the call
// reaches the service: it authenticates the caller (Authenticate in
// admin_auth.h: bearer token or admin client certificate) and checks the
// method against the caller's role (Authorize), refusing with
// UNAUTHENTICATED or PERMISSION_DENIED. Refusals are logged (never a token).
// Then a server interceptor writes the principal ("token:alice (operator)")
// into the call's received metadata under kCallerMetadataKey, dropping
// whatever the client sent under that key; CallerOf (audit.h) reads it.
// (The processor cannot do this itself: the AuthContext it may write to is
// shared by every call of the connection.)
//
// The listener also serves grpc.health.v1.Health and gRPC server reflection
// to anyone who can reach it, without credentials (public_services.h): the
// processor lets exactly those methods through. StartAdminServer turns both
// on process-wide, so build the Admin API server after the other servers.
#ifndef WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVER_H_
#define WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/base/clock.h"
#include "controller/admin/admin_auth.h"
#include "controller/admin/admin_tokens.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/config.pb.h"

namespace writeback::controller {

struct AdminServerOptions {
  // host:port to listen on (port 0: one the kernel picks). Must be a
  // loopback address unless `tls`.
  std::string listen;
  // TLS with this server certificate chain and key (PEM).
  bool tls = false;
  std::string server_cert_pem;
  std::string server_key_pem;
  // TLS only: CA certificates (PEM) that verify admin client certificates;
  // empty: none are asked for. `certificate_roles` gives each admin name
  // (writeback://admin/<name>) its role; other names are refused.
  std::string client_ca_pem;
  std::map<std::string, AdminRole> certificate_roles;
  // The bearer tokens (required).
  std::shared_ptr<AdminTokens> tokens;
};

// Builds and starts the server for `service` (not owned; must outlive the
// server) and sets `*port` to the bound port. kInvalidArgument for a
// non-loopback address without TLS or TLS without a certificate;
// kUnavailable naming the address when it cannot listen.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartAdminServer(const AdminServerOptions& options,
                                                               grpc::Service* service, int* port);

// Every error the server sends is cut to this many bytes of message (then
// "... (N bytes cut)"): errors quote what the caller sent, and a message
// over gRPC's metadata limit (8 KB) would reach the client only as
// "received initial metadata size exceeds limit", not as the refusal.
inline constexpr size_t kMaxErrorMessageBytes = 1024;
// The status a call of `method` answers with, as the server's interceptor
// sends it: the message cut to kMaxErrorMessageBytes; and INTERNAL without a
// message, which is what gRPC answers when it cannot parse a request (no
// handler ran; handlers always say what failed), becomes INVALID_ARGUMENT
// saying so: string fields that are not valid UTF-8 are the usual cause.
grpc::Status AnswerStatus(const grpc::Status& status, const std::string& method);

// The options for ControllerConfig `config` (admin_listen and admin_auth,
// with their defaults: the tokens file and the local token file beside
// store_path), with the server certificate and key given as PEM. Checks the
// configuration (errors name the field), reads admin_auth.client_ca_file and
// opens the tokens file, creating it on a first start (AdminTokens::Open).
absl::StatusOr<AdminServerOptions> AdminServerOptionsFromConfig(
    const writeback::v1::ControllerConfig& config, const std::string& server_cert_pem,
    const std::string& server_key_pem, Clock* clock);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVER_H_
