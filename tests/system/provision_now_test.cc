// Provision on demand (writebackctl mailbox provision / provision-now): a
// changed mailbox is written at once while a long queue waits behind a slow
// agent, and the answer names the steps and the modified properties with the
// values AD held before and after; a mailbox whose object is missing gets a
// match failure and nothing is written; a paused forest refuses. The DC's
// audit log and LDAP reads are the oracle.
#include <iostream>

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

constexpr int kQueue = 300;

// Modify events (any status) from `from` on, of `dn` (all DNs if empty).
std::vector<SambaDc::AuditEvent> Modifies(SambaDc& dc, size_t from, const std::string& dn = "") {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  std::vector<SambaDc::AuditEvent> out;
  if (!events.ok()) return out;
  for (size_t i = from; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    if (e.operation == "Modify" && (dn.empty() || absl::EqualsIgnoreCase(e.dn, dn))) {
      out.push_back(e);
    }
  }
  return out;
}

size_t AuditMark(SambaDc& dc) {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  return events.ok() ? events->size() : 0;
}

std::vector<std::string> StepsOf(const v1::ProvisionNowResponse& r) {
  std::vector<std::string> out;
  for (const auto& s : r.steps()) out.push_back(s.name() + "=" + s.status());
  return out;
}

absl::Status WaitForStatus(WritebackEnv& env, const std::string& id, v1::MailboxStatus status) {
  absl::Time guard = absl::Now() + absl::Seconds(60);
  while (absl::Now() < guard) {
    auto m = env.Admin().GetMailbox(id);
    if (m.ok() && m->status() == status) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("mailbox ", id, " never reached ", v1::MailboxStatus_Name(status)));
}

TEST(ProvisionNowTest, ChangedMailboxIsWrittenAtOnceWhileALongQueueWaits) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kQueue + 1);
  ASSERT_OK(users);
  const SambaDc::User target = users->back();
  ASSERT_OK(env.dc().Modify(target.dn, {{"extensionAttribute1", {"on-prem-before"}}}));
  ASSERT_OK(env.StartController());
  // A slow agent: two writes a second, four pieces of work at a time.
  WritebackEnv::AgentOptions slow;
  slow.extra_config = "max_writes_per_second: 2\nmax_in_flight: 4\n";
  ASSERT_OK(env.StartAgent(1, slow));
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  const std::string target_id = ids->back();
  std::vector<v1::UpdateMailboxRequest> edits;
  for (int i = 0; i < kQueue; ++i) {
    v1::UpdateMailboxRequest request;
    request.set_cloud_id((*ids)[i]);
    *request.add_edits() = AdminClient::Set("extensionAttribute1", absl::StrCat("queued-", i));
    edits.push_back(std::move(request));
  }
  ASSERT_OK(env.Admin().UpdateMailboxes(edits));
  // The target was onboarded with nothing to write; its change comes last,
  // behind the whole queue.
  ASSERT_OK(WaitForStatus(env, target_id, v1::IN_SYNC)) << env.LogsForFailure();
  ASSERT_OK(env.Admin()
                .UpdateMailbox(target_id, {AdminClient::Set("extensionAttribute1", "on-demand")})
                .status());
  v1::ListProvisioningLogRequest jobs;
  jobs.set_kind("job");
  absl::Time guard = absl::Now() + absl::Seconds(60);
  while (env.Admin().CountLog(jobs, 2).value_or(0) < 2 && absl::Now() < guard) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(env.Admin().CountLog(jobs, 2).value_or(0), 2) << "the queue never started writing";

  const size_t mark = AuditMark(env.dc());
  CtlResult r = env.Ctl({"mailbox", "provision", target_id, "--timeout=60s", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output << env.LogsForFailure();
  // Most of the queue is still pending when the answer comes.
  const size_t queue_writes = Modifies(env.dc(), 0).size() - Modifies(env.dc(), 0, target.dn).size();
  EXPECT_LT(queue_writes, kQueue / 2u) << "the on-demand write waited for the queue";
  auto mailboxes = env.Admin().ListMailboxes();
  ASSERT_OK(mailboxes);
  int pending = 0;
  for (const auto& m : *mailboxes) pending += m.status() != v1::IN_SYNC;
  EXPECT_GT(pending, kQueue / 2);

  v1::ProvisionNowResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.output, &response).ok()) << r.output;
  std::cout << "provision on demand answered in " << response.duration_ms() << " ms; "
            << queue_writes << " of " << kQueue << " queued writes done, " << pending
            << " mailboxes not in sync" << std::endl;
  EXPECT_THAT(StepsOf(response), ElementsAre("import=success", "match=success", "scope=success",
                                             "export=success"));
  EXPECT_EQ(response.outcome(), v1::APPLIED);
  EXPECT_TRUE(absl::EqualsIgnoreCase(response.dn(), target.dn)) << response.dn();
  EXPECT_EQ(response.agent_id(), "agent-1");
  EXPECT_EQ(response.status(), v1::IN_SYNC);
  ASSERT_EQ(response.modified_size(), 1) << r.output;
  EXPECT_EQ(response.modified(0).name(), "extensionAttribute1");
  EXPECT_THAT(response.modified(0).old_values(), ElementsAre("on-prem-before"));
  EXPECT_THAT(response.modified(0).new_values(), ElementsAre("on-demand"));
  // AD: the value written, by exactly one successful modify since the mark.
  auto attrs = env.dc().Read(target.dn, {"extensionAttribute1"});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)["extensionAttribute1"], ElementsAre("on-demand"));
  auto target_writes = Modifies(env.dc(), mark, target.dn);
  ASSERT_EQ(target_writes.size(), 1u);
  EXPECT_EQ(target_writes[0].status_code, 0);
  // Recorded as normal work, and audited.
  v1::ListProvisioningLogRequest filter;
  filter.set_mailbox_id(target_id);
  filter.set_kind("job");
  auto log = env.Admin().ProvisioningLog(filter);
  ASSERT_OK(log);
  ASSERT_FALSE(log->empty());
  EXPECT_EQ(log->back().job_id(), response.job_id());
  EXPECT_EQ(log->back().outcome(), v1::APPLIED);
  CtlResult audit = env.Ctl({"audit", "--method=ProvisionNow"});
  EXPECT_THAT(audit.output, HasSubstr("ProvisionNow  OK")) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr(target_id));
}

TEST(ProvisionNowTest, MissingObjectIsAMatchFailureAndNothingIsWritten) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(1);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  const std::string deleted = (*ids)[0];
  const std::string ghost = WritebackEnv::CloudId(99);
  CtlResult added = env.Ctl({"mailbox", "add", ghost, absl::StrCat("--forest=", WritebackEnv::kForest),
                             "--anchor=0badf00d-0000-4000-8000-000000000099"});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  ASSERT_OK(env.dc().Delete((*users)[0].dn));
  for (const std::string& id : {deleted, ghost}) {
    ASSERT_EQ(env.Ctl({"mailbox", "set", id, "extensionAttribute1=wanted"}).exit_code, 0);
  }
  // Normal work finds neither object first.
  ASSERT_OK(WaitForStatus(env, ghost, v1::OBJECT_NOT_FOUND)) << env.LogsForFailure();
  ASSERT_OK(WaitForStatus(env, deleted, v1::OBJECT_DELETED)) << env.LogsForFailure();

  const size_t mark = AuditMark(env.dc());
  CtlResult r = env.Ctl({"provision-now", ghost});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("match    failure  not found: no object under"));
  EXPECT_THAT(r.output, HasSubstr("0badf00d-0000-4000-8000-000000000099"));
  EXPECT_THAT(r.output, HasSubstr("export   skipped  not attempted"));
  EXPECT_THAT(r.output, HasSubstr("mailbox now OBJECT_NOT_FOUND"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("PROPERTY"))) << "modified properties shown";

  CtlResult d = env.Ctl({"mailbox", "provision", deleted, "--json"});
  EXPECT_EQ(d.exit_code, 1) << d.output;
  v1::ProvisionNowResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(d.output, &response).ok()) << d.output;
  EXPECT_THAT(StepsOf(response), ElementsAre("import=success", "match=failure", "scope=skipped",
                                             "export=skipped"));
  EXPECT_THAT(response.steps(1).detail(), HasSubstr("was deleted"));
  EXPECT_THAT(response.steps(1).detail(), HasSubstr("REASON_OBJECT_DELETED"));
  EXPECT_TRUE(response.job_id().empty());
  EXPECT_EQ(response.modified_size(), 0);
  EXPECT_EQ(response.status(), v1::OBJECT_DELETED);

  absl::SleepFor(absl::Seconds(1));  // anything sent would have reached the DC by now
  EXPECT_THAT(Modifies(env.dc(), mark), ::testing::IsEmpty()) << "something was written";
}

TEST(ProvisionNowTest, PausedForestRefusesAndWritesNothing) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(1);
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  const std::string id = (*ids)[0];
  ASSERT_OK(WaitForStatus(env, id, v1::IN_SYNC)) << env.LogsForFailure();  // onboarded
  CtlResult paused =
      env.Ctl({"forest", "pause", WritebackEnv::kForest, "--reason=DC maintenance"});
  ASSERT_EQ(paused.exit_code, 0) << paused.output;
  ASSERT_EQ(env.Ctl({"mailbox", "set", id, "extensionAttribute1=wanted"}).exit_code, 0);

  const size_t mark = AuditMark(env.dc());
  CtlResult r = env.Ctl({"mailbox", "provision", id});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("forest corp.example.test is paused (paused by the operator: DC maintenance)"));
  EXPECT_THAT(r.output, HasSubstr("writebackctl forest resume corp.example.test"));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_THAT(Modifies(env.dc(), mark), ::testing::IsEmpty()) << "written while paused";
  auto m = env.Admin().GetMailbox(id);
  ASSERT_OK(m);
  EXPECT_EQ(m->status(), v1::PENDING);
  auto attrs = env.dc().Read((*users)[0].dn, {"extensionAttribute1"});
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->count("extensionAttribute1"), 0u);
  CtlResult audit = env.Ctl({"audit", "--method=ProvisionNow"});
  EXPECT_THAT(audit.output, HasSubstr("ProvisionNow  FAILED_PRECONDITION")) << audit.output;
}

}  // namespace
}  // namespace writeback::testing
