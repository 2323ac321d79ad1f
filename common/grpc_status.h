// absl::Status <-> grpc::Status, in one place (STYLE: errors).
#ifndef WRITEBACK_COMMON_GRPC_STATUS_H_
#define WRITEBACK_COMMON_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace writeback {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace writeback

#endif  // WRITEBACK_COMMON_GRPC_STATUS_H_
