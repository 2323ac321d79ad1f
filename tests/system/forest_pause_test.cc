// Issue 5: a DC that refuses the agent's writes pauses the forest as a whole;
// the pause names the failing requests with their LDAP codes; while paused
// nothing more is attempted (the DC's audit log shows no modify); once the
// cause is fixed the operator resumes the forest and retries the quarantined
// mailboxes, and AD ends equal to the desired state.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kMailboxes = 24;

// Modify events (any status) of the users' DNs from `from` on.
int ModifiesOfUsers(SambaDc& dc, const std::vector<SambaDc::User>& users, size_t from) {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  int n = 0;
  for (size_t i = from; i < events.value_or(std::vector<SambaDc::AuditEvent>{}).size(); ++i) {
    const auto& e = (*events)[i];
    if (e.operation != "Modify") continue;
    for (const auto& u : users) n += absl::EqualsIgnoreCase(e.dn, u.dn);
  }
  return n;
}

v1::Forest ReadForest(WritebackEnv& env) {
  CtlResult list = env.Ctl({"forest", "list", "--json"});
  v1::ListForestsResponse forests;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(list.output, &forests).ok())
      << list.output;
  return forests.forests_size() > 0 ? forests.forests(0) : v1::Forest();
}

TEST(ForestPauseTest, ARefusingDcPausesTheForestUntilResumedAndRetried) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  // A bind account that may read but not write the users: every modify is
  // refused with insufficientAccessRights (LDAP 50).
  auto reader = env.dc().AddAccount("svc-readonly", /*domain_admin=*/false);
  ASSERT_OK(reader);
  env.set_controller_config("pause_min_attempts: 10\n");
  ASSERT_OK(env.StartController());
  WritebackEnv::AgentOptions readonly;
  readonly.bind_dn = reader->dn;
  readonly.password_file = reader->password_file;
  ASSERT_OK(env.StartAgent(1, readonly));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  for (size_t i = 0; i < ids->size(); ++i) {
    ASSERT_EQ(env.Ctl({"mailbox", "set", (*ids)[i], absl::StrCat("extensionAttribute1=v", i)})
                  .exit_code,
              0);
  }

  // The guard pauses the forest and says why.
  v1::Forest forest;
  absl::Time deadline = absl::Now() + absl::Seconds(60);  // hang guard
  while (!(forest = ReadForest(env)).paused() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(forest.paused()) << env.LogsForFailure();
  EXPECT_THAT(forest.pause_reason(), HasSubstr("failure guard"));
  EXPECT_THAT(forest.pause_reason(), HasSubstr(": LDAP 50: "));
  EXPECT_THAT(forest.pause_reason(), HasSubstr("mailbox c10d0000-"));
  // Quarantined mailboxes keep their last error; retried, they stay pending
  // while the forest is paused, and nothing reaches the DC.
  absl::SleepFor(absl::Seconds(2));  // let answers of jobs already out arrive
  CtlResult get = env.Ctl({"mailbox", "get", (*ids)[0]});
  EXPECT_THAT(get.output, HasSubstr("QUARANTINED")) << get.output;
  EXPECT_THAT(get.output, HasSubstr("insufficient")) << get.output;
  auto mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  std::vector<std::string> retry = {"mailbox", "retry"};
  retry.insert(retry.end(), ids->begin(), ids->end());
  CtlResult retried = env.Ctl(retry);
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(ModifiesOfUsers(env.dc(), *users, mark->size()), 0) << "work placed while paused";
  EXPECT_THAT(env.Ctl({"mailbox", "get", (*ids)[0]}).output, HasSubstr("PENDING"));

  // The operator fixes the cause (an account allowed to write) and resumes.
  ASSERT_OK(env.StopAgent(1));
  ASSERT_OK(env.StartAgent(1));
  CtlResult resumed = env.Ctl({"forest", "resume", WritebackEnv::kForest});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=50"};
  wait.insert(wait.end(), ids->begin(), ids->end());
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  for (size_t i = 0; i < users->size(); ++i) {
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute1"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute1"], ElementsAre(absl::StrCat("v", i)));
  }
  EXPECT_FALSE(ReadForest(env).paused());
  CtlResult audit = env.Ctl({"audit", "--method=ResumeForest"});
  EXPECT_THAT(audit.output, HasSubstr("ResumeForest  OK"));
}

}  // namespace
}  // namespace writeback::testing
