// Which methods the Admin API listener lets through without credentials:
// exactly the standard health and reflection methods (public_services.h).
#include "controller/admin/public_services.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

using ::testing::Contains;

TEST(PublicServicesTest, ExactlyHealthAndReflectionAreExempt) {
  EXPECT_TRUE(IsPublicToolingMethod("/grpc.health.v1.Health/Check"));
  EXPECT_TRUE(IsPublicToolingMethod("/grpc.health.v1.Health/Watch"));
  EXPECT_TRUE(
      IsPublicToolingMethod("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
}

TEST(PublicServicesTest, NothingElseIsExempt) {
  for (const char* path :
       {"/writeback.v1.AdminService/GetMailbox", "/writeback.v1.AdminService/UpdateMailbox",
        "/grpc.health.v1.Health/Reset",  // not a health method
        "/grpc.health.v1.Health/Check/", "grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/check", "/Check", "Check", "",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/x/grpc.health.v1.Health/Check"}) {
    EXPECT_FALSE(IsPublicToolingMethod(path)) << path;
  }
}

TEST(PublicServicesTest, HealthNamesEveryControllerService) {
  EXPECT_THAT(ControllerServiceNames(), Contains("writeback.v1.AdminService"));
  EXPECT_THAT(ControllerServiceNames(), Contains("writeback.v1.AgentGateway"));
  EXPECT_THAT(ControllerServiceNames(), Contains("writeback.v1.Enrollment"));
  EXPECT_THAT(ControllerServiceNames(), Contains("writeback.v1.CertificateRenewal"));
}

}  // namespace
}  // namespace writeback::controller
