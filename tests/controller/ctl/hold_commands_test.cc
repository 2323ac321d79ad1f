// `writebackctl forest set`: the flags become the SetForestPolicy request.
#include "controller/ctl/hold_commands.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::ctl {
namespace {

using ::testing::HasSubstr;
using writeback::testing::StatusIs;

TEST(ForestPolicyTest, ThresholdAndWindowBecomeTheirFields) {
  HoldFlags flags;
  flags.threshold = "0";
  flags.window = "30m";
  auto request = ParseForestPolicy("corp.example.com", flags);
  ASSERT_OK(request);
  EXPECT_EQ(request->name(), "corp.example.com");
  ASSERT_TRUE(request->has_mass_change_threshold()) << "0 (disabled) is sent, not dropped";
  EXPECT_EQ(request->mass_change_threshold(), 0u);
  EXPECT_EQ(request->mass_change_window_s(), 1800u);
  EXPECT_FALSE(request->use_defaults());
}

TEST(ForestPolicyTest, UnsetFlagsKeepTheCurrentValues) {
  HoldFlags flags;
  flags.window = "1h";
  auto request = ParseForestPolicy("corp.example.com", flags);
  ASSERT_OK(request);
  EXPECT_FALSE(request->has_mass_change_threshold());
  EXPECT_EQ(request->mass_change_window_s(), 3600u);
}

TEST(ForestPolicyTest, BadValuesNameTheFlag) {
  HoldFlags flags;
  flags.threshold = "many";
  EXPECT_THAT(ParseForestPolicy("f", flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--mass_change_threshold")));
  flags.threshold.clear();
  flags.window = "0s";
  EXPECT_THAT(ParseForestPolicy("f", flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--mass_change_window")));
  EXPECT_THAT(ParseForestPolicy("f", HoldFlags{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("give")));
}

}  // namespace
}  // namespace writeback::ctl
