// Acceptance (issue 2, #3): a change accepted by the controller survives
// SIGKILL of the controller before delivery and still reaches AD.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST(ControllerCrashTest, AcceptedChangesSurviveKillBeforeDelivery) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(10);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  // No agent is connected: nothing can be delivered before the kill. The new
  // mail is also the new primary SMTP address (the agent's local policy
  // refuses a mail that differs from the primary), the old one kept as
  // secondary.
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string& sam = (*users)[i].sam;
    CtlResult r = env.Ctl({"mailbox", "set", (*ids)[i], absl::StrCat("extensionAttribute2=kept-", i),
                           absl::StrCat("proxyAddresses:=SMTP:", sam, ".crash@corp.example.test"),
                           absl::StrCat("proxyAddresses:=smtp:", sam, "@corp.example.test"),
                           absl::StrCat("mail=", sam, ".crash@corp.example.test")});
    ASSERT_EQ(r.exit_code, 0) << r.output;  // accepted = committed
  }
  ASSERT_OK(env.KillController());
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));

  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=120"};
  wait.insert(wait.end(), ids->begin(), ids->end());
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string& sam = (*users)[i].sam;
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute2", "mail", "proxyAddresses"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute2"], ElementsAre(absl::StrCat("kept-", i)));
    EXPECT_THAT((*attrs)["mail"], ElementsAre(sam + ".crash@corp.example.test"));
    EXPECT_THAT((*attrs)["proxyAddresses"],
                UnorderedElementsAre("SMTP:" + sam + ".crash@corp.example.test",
                                     "smtp:" + sam + "@corp.example.test"));
  }
}

TEST(ControllerCrashTest, KillWhileJobsAreInFlightLosesNothing) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(40);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  for (size_t i = 0; i < ids->size(); ++i) {
    CtlResult r = env.Ctl({"mailbox", "set", (*ids)[i], absl::StrCat("extensionAttribute3=v-", i)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  ASSERT_OK(env.KillController());  // some jobs are out with the agent
  ASSERT_OK(env.StartController());
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=120"};
  wait.insert(wait.end(), ids->begin(), ids->end());
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  for (size_t i = 0; i < ids->size(); ++i) {
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute3"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute3"], ElementsAre(absl::StrCat("v-", i)));
  }
}

}  // namespace
}  // namespace writeback::testing
