// The mass-change guard's calls of the Admin API (DESIGN §3): the holds,
// their approval or rejection, and a forest's threshold and window. The
// decisions run in one store transaction each (Store::DecideHold) and are
// audited like every call that changes something.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "controller/admin/admin_service.h"
#include "controller/admin/audit.h"
#include "controller/dispatch/mass_change_guard.h"

namespace writeback::controller {

writeback::v1::Hold ToProto(const HoldRecord& h) {
  writeback::v1::Hold out;
  out.set_id(h.id);
  out.set_forest(h.forest);
  out.set_opened_ms(h.opened_ms);
  out.set_reason(h.reason);
  out.set_state(h.state);
  out.set_decided_ms(h.decided_ms);
  out.set_decided_by(h.decided_by);
  out.set_mailboxes(static_cast<uint32_t>(h.mailboxes));
  return out;
}

grpc::Status AdminService::ListHolds(grpc::ServerContext*,
                                     const writeback::v1::ListHoldsRequest* request,
                                     writeback::v1::ListHoldsResponse* response) {
  const std::string state = absl::AsciiStrToLower(request->state());
  if (!state.empty() && state != "open" && state != "approved" && state != "rejected") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("state: \"", request->state(),
                                     "\" is not a hold state; use open, approved or rejected"));
  }
  auto holds = store_->ListHolds(absl::AsciiStrToLower(request->forest()), state);
  if (!holds.ok()) return ToGrpcStatus(holds.status());
  for (const HoldRecord& h : *holds) *response->add_holds() = ToProto(h);
  return grpc::Status::OK;
}

grpc::Status AdminService::DecideHold(grpc::ServerContext* context, int64_t hold_id,
                                      bool approve, writeback::v1::Hold* response) {
  if (hold_id <= 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "hold_id: give the id of an open hold (writebackctl hold list)");
  }
  const absl::Time now = absl::Now();
  const std::string by = context != nullptr ? CallerOf(*context) : "in-process";
  auto decided = store_->DecideHold(
      hold_id, approve ? "approved" : "rejected", by, absl::ToUnixMillis(now),
      [&](MailboxRecord& m, writeback::v1::ProvisioningRecord* log) {
        return approve ? ApproveHeld(now, &m) : RejectHeld(hold_id, now, &m, log);
      });
  if (!decided.ok()) return ToGrpcStatus(decided.status());
  WB_LOG(WARNING) << (approve ? "mass-change hold approved: its mailboxes go out now"
                              : "mass-change hold rejected: its mailboxes revert to what AD holds")
                  << LogField("hold", hold_id) << LogField("forest", decided->forest)
                  << LogField("by", by) << LogField("mailboxes", decided->mailboxes);
  if (approve) dispatcher_->Wake();
  *response = ToProto(*decided);
  return grpc::Status::OK;
}

grpc::Status AdminService::ApproveHoldUnaudited(grpc::ServerContext* context,
                                                const writeback::v1::ApproveHoldRequest* request,
                                                writeback::v1::Hold* response) {
  return DecideHold(context, request->hold_id(), /*approve=*/true, response);
}

grpc::Status AdminService::RejectHoldUnaudited(grpc::ServerContext* context,
                                               const writeback::v1::RejectHoldRequest* request,
                                               writeback::v1::Hold* response) {
  return DecideHold(context, request->hold_id(), /*approve=*/false, response);
}

grpc::Status AdminService::SetForestPolicyUnaudited(
    grpc::ServerContext*, const writeback::v1::SetForestPolicyRequest* request,
    writeback::v1::Forest* response) {
  const std::string name = absl::AsciiStrToLower(request->name());
  auto forest = store_->GetForest(name);
  if (!forest.ok()) return ToGrpcStatus(forest.status());
  std::optional<uint32_t> threshold = forest->mass_change_threshold;
  std::optional<uint32_t> window = forest->mass_change_window_s;
  if (request->use_defaults()) {
    threshold.reset();
    window.reset();
  }
  if (request->has_mass_change_threshold()) threshold = request->mass_change_threshold();
  if (request->has_mass_change_window_s()) {
    if (request->mass_change_window_s() == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "mass_change_window_s: must be at least 1 second");
    }
    window = request->mass_change_window_s();
  }
  if (absl::Status s = store_->SetForestGuardPolicy(name, threshold, window); !s.ok()) {
    return ToGrpcStatus(s);
  }
  WB_LOG(INFO) << "forest " << name << " mass-change policy: threshold="
               << (threshold ? absl::StrCat(*threshold) : "default")
               << " window_s=" << (window ? absl::StrCat(*window) : "default");
  dispatcher_->Wake();
  auto updated = store_->GetForest(name);
  if (!updated.ok()) return ToGrpcStatus(updated.status());
  *response = ForestProto(*updated);
  return grpc::Status::OK;
}

grpc::Status AdminService::ApproveHold(grpc::ServerContext* context,
                                       const writeback::v1::ApproveHoldRequest* request,
                                       writeback::v1::Hold* response) {
  return Audited(context, "ApproveHold", request, response, &AdminService::ApproveHoldUnaudited);
}

grpc::Status AdminService::RejectHold(grpc::ServerContext* context,
                                      const writeback::v1::RejectHoldRequest* request,
                                      writeback::v1::Hold* response) {
  return Audited(context, "RejectHold", request, response, &AdminService::RejectHoldUnaudited);
}

grpc::Status AdminService::SetForestPolicy(grpc::ServerContext* context,
                                           const writeback::v1::SetForestPolicyRequest* request,
                                           writeback::v1::Forest* response) {
  return Audited(context, "SetForestPolicy", request, response,
                 &AdminService::SetForestPolicyUnaudited);
}

}  // namespace writeback::controller
