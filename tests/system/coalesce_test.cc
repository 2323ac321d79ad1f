// Acceptance (issue 4, #4): changes to one mailbox while its agent is away
// coalesce (DESIGN §3): after 100 different changes, the DC's audit log shows
// exactly ONE modify of the object once the agent is back, carrying the
// final values.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::UnorderedElementsAreArray;

constexpr int kChanges = 100;
const char* const kSingle[] = {"extensionAttribute1", "extensionAttribute2",
                               "extensionAttribute3", "extensionAttribute4",
                               "extensionAttribute5"};
constexpr char kMulti[] = "msExchExtensionCustomAttribute1";

TEST(CoalesceTest, HundredChangesWhileTheAgentIsAwayBecomeOneModify) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(1);
  ASSERT_OK(users);
  const std::string dn = (*users)[0].dn;
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  const std::string id = (*ids)[0];

  // Synced once.
  std::map<std::string, std::vector<std::string>> want;
  std::vector<v1::AttributeEdit> first;
  for (const char* attr : kSingle) {
    want[attr] = {absl::StrCat(attr, "-initial")};
    first.push_back(AdminClient::Set(attr, want[attr][0]));
  }
  want[kMulti] = {"initial-a", "initial-b"};
  first.push_back(AdminClient::Replace(kMulti, want[kMulti]));
  auto synced = env.Admin().UpdateMailbox(id, first);
  ASSERT_OK(synced);
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  ASSERT_OK(env.StopAgent(1));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 0, absl::Seconds(30)));
  // 100 changes, each different: one single-valued attribute in turn, and
  // every third change the multi-valued one too.
  for (int c = 1; c <= kChanges; ++c) {
    const char* attr = kSingle[(c - 1) % 5];
    std::vector<v1::AttributeEdit> edits = {AdminClient::Set(attr, absl::StrCat("change-", c))};
    want[attr] = {absl::StrCat("change-", c)};
    if (c % 3 == 0) {
      want[kMulti] = {absl::StrCat("custom-", c, "-a"), absl::StrCat("custom-", c, "-b")};
      edits.push_back(AdminClient::Replace(kMulti, want[kMulti]));
    }
    ASSERT_OK(env.Admin().UpdateMailbox(id, edits));
  }
  auto pending = env.Admin().GetMailbox(id);
  ASSERT_OK(pending);
  EXPECT_EQ(pending->desired_gen(), synced->desired_gen() + kChanges) << "every change accepted";

  auto mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  ASSERT_OK(env.StartAgent(1));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  std::vector<const AuditEvent*> writes;
  for (size_t i = mark->size(); i < events->size(); ++i) {
    if (!(*events)[i].performed_as_system && absl::EqualsIgnoreCase((*events)[i].dn, dn)) {
      writes.push_back(&(*events)[i]);
    }
  }
  ASSERT_EQ(writes.size(), 1u) << "the burst was not coalesced into one modify";
  const AuditEvent& modify = *writes[0];
  EXPECT_EQ(modify.operation, "Modify");
  EXPECT_EQ(modify.status_code, 0) << modify.status;
  EXPECT_EQ(modify.attributes.size(), want.size()) << "touches exactly the changed attributes";
  for (const auto& [attr, values] : want) {
    std::string written;
    ASSERT_TRUE(WrittenValue(modify, attr, &written)) << attr << " not in the modify";
    std::vector<std::string> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(written, absl::StrJoin(sorted, "|")) << attr;
  }
  // And AD holds the final values (an independent read).
  std::vector<std::string> names;
  for (const auto& [attr, values] : want) names.push_back(attr);
  auto attrs = env.dc().Read(dn, names);
  ASSERT_OK(attrs);
  for (const auto& [attr, values] : want) {
    EXPECT_THAT((*attrs)[attr], UnorderedElementsAreArray(values)) << attr;
  }
}

}  // namespace
}  // namespace writeback::testing
