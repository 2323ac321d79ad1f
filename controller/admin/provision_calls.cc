// Provision on demand in the Admin API (ProvisionNow): the request checked,
// the dispatcher's path (controller/dispatch/provision_now.h) called, the
// call audited like every call that changes something.
#include <chrono>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "controller/admin/admin_service.h"

namespace writeback::controller {

grpc::Status AdminService::ProvisionNowUnaudited(grpc::ServerContext* context,
                                                 const writeback::v1::ProvisionNowRequest* request,
                                                 writeback::v1::ProvisionNowResponse* response) {
  if (request->cloud_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "cloud_id: name the mailbox to provision (its cloud object id)");
  }
  if (request->timeout_ms() > kMaxProvisionTimeoutMs) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("timeout_ms: ", request->timeout_ms(), " is more than the ",
                                     kMaxProvisionTimeoutMs / 1000, " s allowed"));
  }
  absl::Duration timeout = request->timeout_ms() == 0 ? absl::Seconds(30)
                                                      : absl::Milliseconds(request->timeout_ms());
  // Answer before the caller's own deadline, so that it reads the steps
  // known so far rather than a bare DEADLINE_EXCEEDED of its channel.
  if (context != nullptr &&
      context->deadline() != std::chrono::system_clock::time_point::max()) {
    absl::Duration left = absl::FromChrono(context->deadline()) - absl::Now();
    timeout = std::min(timeout, left - absl::Milliseconds(200));
  }
  const std::string cloud_id = absl::AsciiStrToLower(request->cloud_id());
  auto result = dispatcher_->ProvisionNow(cloud_id, std::max(timeout, absl::ZeroDuration()));
  if (!result.ok()) {
    WB_LOG(INFO) << "provision on demand of mailbox " << cloud_id << ": " << result.status();
    return ToGrpcStatus(result.status());
  }
  *response = std::move(*result);
  WB_LOG(INFO) << "provision on demand of mailbox " << cloud_id << ": "
               << writeback::v1::Outcome_Name(response->outcome()) << " in "
               << response->duration_ms() << " ms";
  return grpc::Status::OK;
}

grpc::Status AdminService::ProvisionNow(grpc::ServerContext* context,
                                        const writeback::v1::ProvisionNowRequest* request,
                                        writeback::v1::ProvisionNowResponse* response) {
  return Audited(context, "ProvisionNow", request, response,
                 &AdminService::ProvisionNowUnaudited);
}

}  // namespace writeback::controller
