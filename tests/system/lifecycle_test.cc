// Issue 4, lifecycle and drain: a mailbox that stops being cloud-managed
// leaves writeback without any write to AD; deleted, moved-away and missing
// objects end in named permanent states without a write; a drained agent
// answers what it holds and exits while the other agent takes the work.
// The DC's audit log and LDAP reads are the oracle.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Modify events (any status) of `dn` in the DC's audit log.
int ModifiesOf(SambaDc& dc, const std::string& dn) {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  int n = 0;
  for (const auto& e : events.value_or(std::vector<SambaDc::AuditEvent>{})) {
    n += e.operation == "Modify" && absl::EqualsIgnoreCase(e.dn, dn);
  }
  return n;
}

CtlResult Set(WritebackEnv& env, const std::string& id, const std::string& value) {
  return env.Ctl({"mailbox", "set", id, "extensionAttribute5=" + value});
}

TEST(LifecycleTest, RemovedMailboxLeavesWritebackWithoutAnyWrite) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(3);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  for (const std::string& id : *ids) ASSERT_EQ(Set(env, id, "cloud-" + id).exit_code, 0);
  // Mailbox 2 stops being cloud-managed before any agent could act.
  CtlResult removed = env.Ctl({"mailbox", "remove", (*ids)[1]});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_THAT(removed.output, HasSubstr("AD was not changed"));
  ASSERT_OK(env.StartAgent(1));
  CtlResult waited = env.Ctl({"mailbox", "wait", (*ids)[0], (*ids)[2], "--timeout_s=120"});
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();

  EXPECT_EQ(ModifiesOf(env.dc(), (*users)[1].dn), 0) << "a removed mailbox was written";
  EXPECT_EQ(ModifiesOf(env.dc(), (*users)[0].dn), 1);
  auto attrs = env.dc().Read((*users)[1].dn, {"extensionAttribute5"});
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->count("extensionAttribute5"), 0u);
  CtlResult get = env.Ctl({"mailbox", "get", (*ids)[1]});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_THAT(get.output, HasSubstr("not registered"));
  CtlResult log = env.Ctl({"log", "--mailbox=" + (*ids)[1]});
  EXPECT_THAT(log.output, HasSubstr("removed"));
}

TEST(LifecycleTest, DeletedMovedAndMissingObjectsGetNamedStatesAndNoWrite) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(3);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  const std::string ghost = WritebackEnv::CloudId(99);
  CtlResult added = env.Ctl({"mailbox", "add", ghost, absl::StrCat("--forest=", WritebackEnv::kForest),
                             "--anchor=0badf00d-0000-4000-8000-000000000099"});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  for (const std::string& id : *ids) ASSERT_EQ(Set(env, id, "first").exit_code, 0);
  ASSERT_EQ(Set(env, ghost, "first").exit_code, 0);
  CtlResult waited = env.Ctl({"mailbox", "wait", (*ids)[0], (*ids)[1], (*ids)[2]});
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();

  ASSERT_OK(env.dc().Delete((*users)[0].dn));
  auto moved = env.dc().Move((*users)[1].dn, "OU=Outside," + env.dc().base_dn());
  ASSERT_OK(moved);
  ASSERT_EQ(Set(env, (*ids)[0], "second").exit_code, 0);
  ASSERT_EQ(Set(env, (*ids)[1], "second").exit_code, 0);
  const std::pair<std::string, std::string> expected[] = {
      {(*ids)[0], "OBJECT_DELETED"}, {(*ids)[1], "OUT_OF_SCOPE"}, {ghost, "OBJECT_NOT_FOUND"}};
  for (const auto& [id, state] : expected) {
    CtlResult w = env.Ctl({"mailbox", "wait", id, "--timeout_s=120"});
    EXPECT_EQ(w.exit_code, 1) << id << ": " << w.output << env.LogsForFailure();
    EXPECT_THAT(w.output, HasSubstr(state)) << id;
    CtlResult get = env.Ctl({"mailbox", "get", id});
    EXPECT_THAT(get.output, HasSubstr("status      " + state)) << get.output;
  }
  // Nothing was written after the delete and the move.
  EXPECT_EQ(ModifiesOf(env.dc(), *moved), 0);
  auto attrs = env.dc().Read(*moved, {"extensionAttribute5"});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)["extensionAttribute5"], ElementsAre("first"));
  // The third, untouched, is still served.
  ASSERT_EQ(Set(env, (*ids)[2], "second").exit_code, 0);
  EXPECT_EQ(env.Ctl({"mailbox", "wait", (*ids)[2]}).exit_code, 0);
}

TEST(LifecycleTest, DrainedAgentAnswersWhatItHoldsAndExitsWhileTheOtherTakesOver) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(60);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  // agent-1 writes slowly, so that it holds work when the drain comes.
  WritebackEnv::AgentOptions slow;
  slow.extra_config = "max_writes_per_second: 5\n";
  ASSERT_OK(env.StartAgent(1, slow));
  ASSERT_OK(env.StartAgent(2));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  for (const std::string& id : *ids) ASSERT_EQ(Set(env, id, "before-drain").exit_code, 0);
  // Drain agent-1 while it holds work.
  absl::Time deadline = absl::Now() + absl::Seconds(60);  // hang guard
  bool holding = false;
  while (!holding && absl::Now() < deadline) {
    CtlResult list = env.Ctl({"agent", "list", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.output;
    // JSON leaves out a zero in_flight: look inside agent-1's own object.
    size_t at = list.output.find("\"agent_id\":\"agent-1\"");
    if (at != std::string::npos) {
      holding = absl::StrContains(list.output.substr(at, list.output.find('}', at) - at),
                                  "\"in_flight\"");
    }
    if (!holding) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(holding) << "agent-1 never held work";
  CtlResult drained = env.Ctl({"agent", "drain", "agent-1", "--reason=test upgrade"});
  ASSERT_EQ(drained.exit_code, 0) << drained.output;
  auto exited = env.agent(1).WaitExit(absl::Seconds(60));  // hang guard
  ASSERT_OK(exited);
  EXPECT_TRUE(exited->exited);
  EXPECT_EQ(exited->code, 0) << env.LogsForFailure();

  for (const std::string& id : *ids) ASSERT_EQ(Set(env, id, "after-drain").exit_code, 0);
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=120"};
  wait.insert(wait.end(), ids->begin(), ids->end());
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  for (const auto& user : *users) {
    auto attrs = env.dc().Read(user.dn, {"extensionAttribute5"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute5"], ElementsAre("after-drain")) << user.dn;
  }
  // The drain answered everything: nothing of agent-1 was lost.
  CtlResult log = env.Ctl({"log", "--agent=agent-1", "--limit=100000"});
  EXPECT_THAT(log.output, ::testing::Not(HasSubstr(" lost "))) << log.output;
  CtlResult agents = env.Ctl({"agent", "list"});
  EXPECT_THAT(agents.output, ::testing::ContainsRegex("agent-1 +corp.example.test +disconnected"))
      << agents.output;
}

}  // namespace
}  // namespace writeback::testing
