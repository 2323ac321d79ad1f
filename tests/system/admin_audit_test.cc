// Issue 5, audit trail: every Admin API call that changes something is
// recorded, refused ones included, with caller, arguments and result; reads
// are not. Needs no DC: the real controller and writebackctl on loopback.
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(AdminAuditTest, EveryChangingCallIsRecordedWithCallerArgumentsAndResult) {
  WritebackEnv env;
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.AddForest());
  const std::string id = WritebackEnv::CloudId(1);
  const std::string anchor = "--anchor=0badf00d-0000-4000-8000-000000000001";
  const std::string forest = std::string("--forest=") + WritebackEnv::kForest;
  ASSERT_EQ(env.Ctl({"mailbox", "add", id, forest, anchor}).exit_code, 0);
  EXPECT_EQ(env.Ctl({"mailbox", "add", id, forest, anchor}).exit_code, 1);  // refused: taken
  ASSERT_EQ(env.Ctl({"mailbox", "set", id, "extensionAttribute1=audited"}).exit_code, 0);
  ASSERT_EQ(env.Ctl({"mailbox", "get", id}).exit_code, 0);  // a read: not audited
  ASSERT_EQ(env.Ctl({"mailbox", "remove", id}).exit_code, 0);

  CtlResult audit = env.Ctl({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  std::vector<writeback::v1::AuditRecord> records;
  for (absl::string_view line : absl::StrSplit(audit.output, '\n', absl::SkipEmpty())) {
    writeback::v1::AuditRecord r;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &r).ok()) << line;
    records.push_back(r);
  }
  std::vector<std::string> methods;
  for (const auto& r : records) methods.push_back(r.method());
  EXPECT_THAT(methods, ElementsAre("RemoveMailbox", "UpdateMailbox", "AddMailbox", "AddMailbox",
                                   "AddForest"));
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].result(), "OK");
  EXPECT_THAT(records[1].arguments(), HasSubstr("audited"));
  EXPECT_THAT(records[2].result(), StartsWith("ALREADY_EXISTS: "));
  EXPECT_EQ(records[3].result(), "OK");
  for (const auto& r : records) {
    // The authenticated principal (writebackctl with the controller's
    // first-start local operator token), not a peer address.
    EXPECT_EQ(r.caller(), "token:local-operator (operator)") << r.method();
    EXPECT_GT(r.time_ms(), 0);
  }
  CtlResult only = env.Ctl({"audit", "--method=AddMailbox"});
  EXPECT_EQ(only.exit_code, 0);
  EXPECT_THAT(only.output, HasSubstr("ALREADY_EXISTS"));
  EXPECT_THAT(only.output, ::testing::Not(HasSubstr("UpdateMailbox")));
}

}  // namespace
}  // namespace writeback::testing
