#include "controller/admin/public_services.h"

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "writeback/v1/admin.grpc.pb.h"
#include "writeback/v1/agent.grpc.pb.h"
#include "writeback/v1/enrollment.grpc.pb.h"

namespace writeback::controller {

bool IsPublicToolingMethod(absl::string_view path) {
  return path == "/grpc.health.v1.Health/Check" || path == "/grpc.health.v1.Health/Watch" ||
         path == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
}

void EnablePublicToolingServices() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
}

std::vector<std::string> ControllerServiceNames() {
  return {writeback::v1::AdminService::service_full_name(),
          writeback::v1::AgentGateway::service_full_name(),
          writeback::v1::Enrollment::service_full_name(),
          writeback::v1::CertificateRenewal::service_full_name()};
}

void MarkServing(grpc::Server* server) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(true);  // "" and every name set so far
  for (const std::string& name : ControllerServiceNames()) health->SetServingStatus(name, true);
}

void MarkStopping(grpc::Server* server) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  health->Shutdown();  // every name NOT_SERVING, and no change after
}

}  // namespace writeback::controller
