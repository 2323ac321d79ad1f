#include "controller/ctl/edit_syntax.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::ctl {
namespace {

using ::testing::ElementsAre;
using writeback::testing::StatusIs;
using writeback::v1::AttributeEdit;

TEST(EditSyntaxTest, ParsesEveryOperator) {
  auto edits = ParseEdits({"mail=a@x.com", "extensionAttribute1=", "extensionAttribute2!",
                           "proxyAddresses+=smtp:b@x.com", "proxyAddresses-=smtp:c@x.com",
                           "msExchExtensionCustomAttribute1-=v"});
  ASSERT_OK(edits);
  ASSERT_EQ(edits->size(), 6u);
  EXPECT_EQ((*edits)[0].set(), "a@x.com");
  EXPECT_TRUE((*edits)[1].clear());
  EXPECT_TRUE((*edits)[2].clear());
  EXPECT_THAT((*edits)[3].add().values(), ElementsAre("smtp:b@x.com"));
  EXPECT_THAT((*edits)[4].remove().values(), ElementsAre("smtp:c@x.com"));
  EXPECT_EQ((*edits)[5].attribute(), "msExchExtensionCustomAttribute1");
  EXPECT_THAT((*edits)[5].remove().values(), ElementsAre("v"));
}

TEST(EditSyntaxTest, RepeatedReplaceBuildsOneSet) {
  auto edits = ParseEdits({"proxyAddresses:=SMTP:a@x.com", "proxyAddresses:=smtp:b=c@x.com"});
  ASSERT_OK(edits);
  ASSERT_EQ(edits->size(), 1u);
  EXPECT_THAT((*edits)[0].replace().values(), ElementsAre("SMTP:a@x.com", "smtp:b=c@x.com"));
}

TEST(EditSyntaxTest, EmptyReplaceMeansEmptySet) {
  auto edits = ParseEdits({"proxyAddresses:="});
  ASSERT_OK(edits);
  EXPECT_EQ((*edits)[0].op_case(), AttributeEdit::kReplace);
  EXPECT_TRUE((*edits)[0].replace().values().empty());
}

TEST(EditSyntaxTest, GarbageIsRefusedNamingTheArgument) {
  EXPECT_THAT(ParseEdits({"=x"}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdits({"mail"}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace writeback::ctl
