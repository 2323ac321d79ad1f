// The two standard gRPC services the Admin API listener serves without
// credentials, so that stock tooling works against the controller:
//
//   grpc_health_probe -addr=127.0.0.1:7444 -service=writeback.v1.AdminService
//   grpcurl -plaintext 127.0.0.1:7444 list      # (loopback: local credentials)
//
//  - grpc.health.v1.Health (Check, Watch): SERVING for "" and for each
//    service of the controller once every listener is up, NOT_SERVING from
//    the moment a termination signal arrives (MarkStopping);
//  - grpc.reflection.v1alpha.ServerReflection: the schema of the services
//    the listener serves (the public .proto files, nothing else).
// Neither can send our bearer token and neither exposes data, so the Admin
// API's AuthMetadataProcessor lets exactly their methods through
// (IsPublicToolingMethod); every other method still needs a token or an
// admin certificate.
//
// Only the Admin API listener serves them: the agent listener needs an
// agent's certificate (a probe would have to hold an agent's key), and the
// enrollment listener, reachable from the agents' networks without client
// authentication, keeps to its two RPCs.
#ifndef WRITEBACK_CONTROLLER_ADMIN_PUBLIC_SERVICES_H_
#define WRITEBACK_CONTROLLER_ADMIN_PUBLIC_SERVICES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace writeback::controller {

// True for the full method paths of Health.Check, Health.Watch and
// ServerReflection.ServerReflectionInfo (v1alpha, the version gRPC 1.51
// serves), e.g. "/grpc.health.v1.Health/Check"; false for everything else.
bool IsPublicToolingMethod(absl::string_view path);

// Turns both services on for the servers built from now on. Process-wide
// (gRPC keeps both switches globally): call it right before building the
// Admin API server, after the agent and enrollment servers.
void EnablePublicToolingServices();

// The service names the controller reports on, in Health: the Admin API,
// the agent gateway, enrollment and renewal.
std::vector<std::string> ControllerServiceNames();

// Sets "" and every ControllerServiceNames() entry SERVING on `server`'s
// health service. No-op when the server has none.
void MarkServing(grpc::Server* server);
// Sets them NOT_SERVING for good (Watch callers see it at once); later
// MarkServing calls change nothing.
void MarkStopping(grpc::Server* server);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_PUBLIC_SERVICES_H_
