// The controller's configuration rules (controller/config/controller_config.h):
// defaults, derived fields and each check, as main.cc applies them.
#include "controller/config/controller_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using writeback::testing::IsOk;
using writeback::testing::StatusIs;

TEST(ControllerConfigTest, DefaultsAreAcceptedAndDeriveCaDirAndServerNames) {
  v1::ControllerConfig c = DefaultControllerConfig();
  ASSERT_THAT(FinishControllerConfig(&c), IsOk());
  EXPECT_EQ(c.ca_dir(), "ca");
  EXPECT_THAT(c.server_names(), ElementsAre("localhost", "127.0.0.1", "::1"));
  EXPECT_EQ(c.lease_ms(), 3000u);
  EXPECT_EQ(c.heartbeat_interval_ms(), 1000u);
}

TEST(ControllerConfigTest, CaDirLivesNextToTheStore) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.set_store_path("/var/lib/writeback-controller/writeback.db");
  ASSERT_THAT(FinishControllerConfig(&c), IsOk());
  EXPECT_EQ(c.ca_dir(), "/var/lib/writeback-controller/ca");
}

TEST(ControllerConfigTest, FinishingTwiceChangesNothing) {
  v1::ControllerConfig c = DefaultControllerConfig();
  ASSERT_THAT(FinishControllerConfig(&c), IsOk());
  v1::ControllerConfig again = c;
  ASSERT_THAT(FinishControllerConfig(&again), IsOk());
  EXPECT_EQ(again.SerializeAsString(), c.SerializeAsString());
}

TEST(ControllerConfigTest, ShortCertificateLifetimeIsRefused) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.set_agent_cert_lifetime_s(9);
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agent_cert_lifetime_s")));
}

TEST(ControllerConfigTest, HalfATlsPairIsRefused) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.mutable_tls()->set_cert_file("server.pem");
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("go together")));
}

TEST(ControllerConfigTest, ConflictCorrectionsNeedAWindow) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.set_conflict_window_s(0);
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("conflict_window_s")));
  c.set_conflict_corrections(0);  // the hold off: no window needed
  EXPECT_THAT(FinishControllerConfig(&c), IsOk());
}

TEST(ControllerConfigTest, LeaseMustBeAtLeastTwiceTheHeartbeat) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.set_heartbeat_interval_ms(1501);
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_ms")));
  c.set_heartbeat_interval_ms(1500);
  EXPECT_THAT(FinishControllerConfig(&c), IsOk());
}

// Found by tests/fuzz/config_fuzz.cc: 2147483649 * 2 wrapped to 2 in uint32
// arithmetic, so a heartbeat interval of 24 days passed against a 3 s lease.
TEST(ControllerConfigTest, HugeHeartbeatDoesNotWrapPastTheLeaseCheck) {
  v1::ControllerConfig c = DefaultControllerConfig();
  c.set_heartbeat_interval_ms(2147483649u);
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_ms")));
  c.set_heartbeat_interval_ms(4294967295u);
  c.set_lease_ms(4294967295u);
  EXPECT_THAT(FinishControllerConfig(&c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lease_ms")));
}

}  // namespace
}  // namespace writeback::controller
