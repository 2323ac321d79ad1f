// The Admin API's audit trail (DESIGN §7): every call that changes something
// is recorded with who called, what was asked (secrets redacted) and what the
// caller got.
//
//   AuditRecord r = MakeAuditRecord(CallerOf(*context), "UpdateMailbox", *request,
//                                   status, absl::Now());
//   store->AppendAudit(&r);
#ifndef WRITEBACK_CONTROLLER_ADMIN_AUDIT_H_
#define WRITEBACK_CONTROLLER_ADMIN_AUDIT_H_

#include <string>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller {

// Replaces, recursively, every set string or bytes field whose name contains
// "token", "password", "secret" or "key" with "[redacted]" (repeated ones
// element by element). Conservative: a path to a secret is redacted too.
void RedactSecrets(google::protobuf::Message* message);

// The received-metadata key under which the Admin API server
// (admin_server.h) records a call's authenticated principal; whatever a
// client sends under it is dropped before the call reaches the service.
inline constexpr char kCallerMetadataKey[] = "x-writeback-caller";

// Who is calling: the authenticated principal, e.g. "token:alice (operator)"
// or "cert:bob (read-only)"; on a server built without StartAdminServer
// (in-process tests) "unauthenticated peer ipv4:127.0.0.1:PORT".
std::string CallerOf(const grpc::ServerContext& context);

// The audit record of one call: arguments are `request` as JSON after
// RedactSecrets; result is "OK" or "<CODE>: <message>".
writeback::v1::AuditRecord MakeAuditRecord(const std::string& caller, const std::string& method,
                                           const google::protobuf::Message& request,
                                           const grpc::Status& result, absl::Time now);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_AUDIT_H_
