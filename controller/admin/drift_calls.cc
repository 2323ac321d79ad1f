// The reconciliation calls of the Admin API (DESIGN §6): ReconcileForest
// starts a pass now, ListDrift reads drift records or their summary per
// mailbox and attribute.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "controller/admin/admin_service.h"

namespace writeback::controller {

grpc::Status AdminService::ReconcileForestUnaudited(
    grpc::ServerContext*, const writeback::v1::ReconcileForestRequest* request,
    writeback::v1::ReconcileForestResponse* response) {
  const std::string forest = absl::AsciiStrToLower(request->forest());
  if (forest.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "forest: give the forest's name");
  }
  if (auto f = store_->GetForest(forest); !f.ok()) return ToGrpcStatus(f.status());
  auto started = dispatcher_->Reconcile(forest, request->full());
  if (!started.ok()) return ToGrpcStatus(started.status());
  response->set_scan_id(started->scan_id);
  response->set_agent_id(started->agent_id);
  WB_LOG(INFO) << "reconciliation of forest " << forest << " requested by the operator"
               << (request->full() ? " (full)" : "") << ": scan " << started->scan_id;
  return grpc::Status::OK;
}

grpc::Status AdminService::ReconcileForest(grpc::ServerContext* context,
                                           const writeback::v1::ReconcileForestRequest* request,
                                           writeback::v1::ReconcileForestResponse* response) {
  return Audited(context, "ReconcileForest", request, response,
                 &AdminService::ReconcileForestUnaudited);
}

grpc::Status AdminService::ListDrift(grpc::ServerContext*,
                                     const writeback::v1::ListDriftRequest* request,
                                     writeback::v1::ListDriftResponse* response) {
  writeback::v1::ListDriftRequest filter = *request;
  filter.set_cloud_id(absl::AsciiStrToLower(request->cloud_id()));
  filter.set_forest(absl::AsciiStrToLower(request->forest()));
  const std::string& action = filter.action();
  if (!action.empty() && action != "corrected" && action != "conflict") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("action: \"", action,
                                     "\" is not a drift action; use corrected or conflict"));
  }
  if (grpc::Status s = CheckTimeRange(filter.since_ms(), filter.until_ms()); !s.ok()) return s;
  if (filter.summary()) {
    auto rows = store_->SummarizeDrift(filter);
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    for (auto& r : *rows) *response->add_summary() = std::move(r);
    return grpc::Status::OK;
  }
  auto records = store_->ListDrift(filter);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (auto& r : *records) *response->add_records() = std::move(r);
  return grpc::Status::OK;
}

}  // namespace writeback::controller
