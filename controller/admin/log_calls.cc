// The provisioning log calls of the Admin API beyond ListProvisioningLog:
// the filter check they share and the streaming export.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "controller/admin/admin_service.h"

namespace writeback::controller {

grpc::Status CheckLogFilter(const writeback::v1::ListProvisioningLogRequest& filter) {
  const std::string& kind = filter.kind();
  if (!kind.empty() && kind != "job" && kind != "read" && kind != "lost" && kind != "removed" &&
      kind != "scan" && kind != "held" && kind != "rejected") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("kind: \"", kind,
                                     "\" is not a record kind; use job, read, lost, removed, "
                                     "scan, held or rejected"));
  }
  return CheckTimeRange(filter.since_ms(), filter.until_ms());
}

grpc::Status CheckTimeRange(int64_t since_ms, int64_t until_ms) {
  if (since_ms < 0 || until_ms < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "since_ms and until_ms are Unix milliseconds and cannot be negative");
  }
  if (since_ms != 0 && until_ms != 0 && until_ms <= since_ms) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("until_ms (", until_ms,
                                     ") must be later than since_ms (", since_ms, ")"));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::ExportProvisioningLog(
    grpc::ServerContext* context, const writeback::v1::ListProvisioningLogRequest* request,
    grpc::ServerWriter<writeback::v1::ProvisioningRecord>* writer) {
  if (grpc::Status s = CheckLogFilter(*request); !s.ok()) return s;
  const uint64_t limit = request->limit();  // 0: all
  uint64_t sent = 0;
  int64_t after_id = request->after_id();  // 0: from the start
  while (true) {
    size_t page = kExportPageSize;
    if (limit != 0 && limit - sent < page) page = static_cast<size_t>(limit - sent);
    auto records = store_->ListLogAfter(*request, after_id, page);
    if (!records.ok()) return ToGrpcStatus(records.status());
    for (const auto& r : *records) {
      if (context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled by the client");
      }
      if (!writer->Write(r)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "export: the client stopped reading (stream closed)");
      }
      after_id = r.id();
    }
    sent += records->size();
    if (records->size() < page || (limit != 0 && sent >= limit)) break;
  }
  WB_LOG(DEBUG) << "provisioning log exported records=" << sent;
  return grpc::Status::OK;
}

}  // namespace writeback::controller
