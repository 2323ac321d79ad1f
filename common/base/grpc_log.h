// Routes gRPC's own log messages (gpr_log: handshake failures and the like,
// by default errors only, GRPC_VERBOSITY) through log.h, so that they come
// out in the configured format too: with log_format json, every line a
// binary writes to stderr is then one JSON object.
//
//   SetLogFormat(LogFormat::kJson);
//   RouteGrpcLogs();
//   // {"time":"...","level":"error","component":"controller","msg":"grpc:
//   Handshake failed ...",
//   //  "source":"ssl_transport_security.cc:1234"}
#ifndef WRITEBACK_COMMON_BASE_GRPC_LOG_H_
#define WRITEBACK_COMMON_BASE_GRPC_LOG_H_

namespace writeback {

// Process-wide; call once from main() before gRPC logs anything.
void RouteGrpcLogs();

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_GRPC_LOG_H_
