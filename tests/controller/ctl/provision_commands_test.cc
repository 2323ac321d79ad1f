// writebackctl's provision on demand output: the tables an operator reads and
// the exit code scripts rely on.
#include "controller/ctl/provision_commands.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;
using ::testing::HasSubstr;

v1::ProvisionNowResponse Applied() {
  v1::ProvisionNowResponse r;
  r.set_cloud_id("c10d0000-0000-4000-8000-000000000001");
  r.set_agent_id("agent-1");
  r.set_dn("CN=user1,OU=Mailboxes,DC=corp");
  r.set_generation(2);
  r.set_outcome(v1::APPLIED);
  r.set_status(v1::IN_SYNC);
  for (const char* name : {"import", "match", "scope", "export"}) {
    auto* s = r.add_steps();
    s->set_name(name);
    s->set_status("success");
  }
  auto* p = r.add_modified();
  p->set_name("extensionAttribute1");
  p->add_old_values("before");
  p->add_new_values("after");
  return r;
}

TEST(ProvisionCommandsTest, PrintsStepsAndModifiedPropertiesAsTables) {
  std::string out = FormatProvisionResult(Applied());
  EXPECT_THAT(out, HasSubstr("STEP     STATUS   DETAIL\nimport   success"));
  EXPECT_THAT(out, HasSubstr("export   success"));
  EXPECT_THAT(out, HasSubstr("extensionAttribute1  before  ->  after"));
  EXPECT_THAT(out, HasSubstr("outcome APPLIED"));
  EXPECT_THAT(out, HasSubstr("mailbox now IN_SYNC"));
}

TEST(ProvisionCommandsTest, AbsentValuesAreShownAsNone) {
  v1::ProvisionNowResponse r = Applied();
  r.mutable_modified(0)->clear_old_values();
  EXPECT_THAT(FormatProvisionResult(r), HasSubstr("(none)  ->  after"));
}

TEST(ProvisionCommandsTest, ExitCodeIsZeroOnlyWhenTheExportSucceededOrWasNotNeeded) {
  v1::ProvisionNowResponse r = Applied();
  EXPECT_EQ(ProvisionExitCode(r), 0);
  r.set_outcome(v1::ALREADY_IN_STATE);
  EXPECT_EQ(ProvisionExitCode(r), 0);
  for (v1::Outcome o : {v1::CONFLICT, v1::FAILED_PERMANENT, v1::FAILED_RETRYABLE,
                        v1::REJECTED_BY_POLICY, v1::OUTCOME_UNSPECIFIED}) {
    r.set_outcome(o);
    EXPECT_EQ(ProvisionExitCode(r), 1) << v1::Outcome_Name(o);
  }
}

}  // namespace
}  // namespace writeback::ctl
