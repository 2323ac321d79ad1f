// writebackctl's log filters: flags to request, and the usage errors.
#include "controller/ctl/log_commands.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::ctl {
namespace {

using ::testing::HasSubstr;
using writeback::testing::StatusIs;

TEST(LogFilterTest, EveryFlagBecomesItsField) {
  LogFlags flags;
  flags.mailbox = "6F1C0000-0000-0000-0000-000000000001";
  flags.forest = "Corp.Example.Test";
  flags.agent = "agent-1";
  flags.outcome = "applied";
  flags.kind = "Read";
  flags.since = "2026-11-30T08:00:00Z";
  flags.until = "1797000000000";
  flags.limit = 7;
  auto request = ParseLogFilter(flags);
  ASSERT_OK(request);
  EXPECT_EQ(request->mailbox_id(), "6f1c0000-0000-0000-0000-000000000001");
  EXPECT_EQ(request->forest(), "corp.example.test");
  EXPECT_EQ(request->agent_id(), "agent-1");
  EXPECT_EQ(request->outcome(), writeback::v1::APPLIED);
  EXPECT_EQ(request->kind(), "read");
  EXPECT_EQ(request->since_ms(), 1796025600000);
  EXPECT_EQ(request->until_ms(), 1797000000000);
  EXPECT_EQ(request->limit(), 7u);
}

TEST(LogFilterTest, NoFlagsMeansEverything) {
  auto request = ParseLogFilter({});
  ASSERT_OK(request);
  EXPECT_EQ(request->ByteSizeLong(), 0u);
}

TEST(LogTimeTest, AcceptsRfc3339WithOffsetsAndFractionsAndUnixMillis) {
  EXPECT_EQ(*ParseLogTime("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(*ParseLogTime("1970-01-01T01:00:01.250+01:00"), 1250);
  EXPECT_EQ(*ParseLogTime("1234"), 1234);
}

TEST(LogTimeTest, RefusesOtherFormsSayingWhatIsAccepted) {
  EXPECT_THAT(ParseLogTime("yesterday"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("RFC 3339")));
  EXPECT_THAT(ParseLogTime("2026-11-30"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLogTime("-5"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LogFilterTest, BadValuesNameTheFlag) {
  LogFlags flags;
  flags.outcome = "WORKED";
  EXPECT_THAT(ParseLogFilter(flags), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("--outcome: \"WORKED\"")));
  flags = {};
  flags.outcome = "OUTCOME_UNSPECIFIED";
  EXPECT_THAT(ParseLogFilter(flags), StatusIs(absl::StatusCode::kInvalidArgument));
  flags = {};
  flags.kind = "attempt";
  EXPECT_THAT(ParseLogFilter(flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--kind")));
  flags = {};
  flags.since = "noon";
  EXPECT_THAT(ParseLogFilter(flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--since")));
  flags = {};
  flags.since = "2000";
  flags.until = "1000";
  EXPECT_THAT(ParseLogFilter(flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--until")));
  flags = {};
  flags.limit = -1;
  EXPECT_THAT(ParseLogFilter(flags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--limit")));
}

}  // namespace
}  // namespace writeback::ctl
