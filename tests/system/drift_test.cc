// Acceptance of reconciliation (DESIGN §5–6), against the real DC with the
// real binaries: drift after an on-prem edit is recorded and corrected; a
// persistent dual writer ends in CONFLICT_HOLD after the configured
// corrections and is corrected again only when an operator retries it.
//
// The agent binds as an account of its own (SambaDc::AddAdminAccount) and
// the on-prem "dual writer" as the DC's Administrator (SambaDc::Modify), so
// the DC's audit log tells their writes apart by user SID.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAttr[] = "extensionAttribute1";

class DriftTest : public ::testing::Test {
 protected:
  // DC, controller (no periodic passes: each pass is asked for), one agent
  // under its own account, two mailboxes synced with cloud values.
  void SetUpEnv(int conflict_corrections) {
    ASSERT_OK(env_.StartDc());
    auto users = env_.dc().AddUsers(2);
    ASSERT_OK(users);
    users_ = *users;
    auto account = env_.dc().AddAdminAccount("wb-agent");
    ASSERT_OK(account);
    agent_sid_ = account->sid;
    env_.set_controller_config(absl::StrCat("reconcile_interval_s: 0\nconflict_corrections: ",
                                            conflict_corrections, "\nconflict_window_s: 3600\n"));
    ASSERT_OK(env_.StartController());
    WritebackEnv::AgentOptions agent;
    agent.bind_dn = account->dn;
    agent.password_file = account->password_file;
    ASSERT_OK(env_.StartAgent(1, agent));
    auto ids = env_.AddMailboxes(users_);
    ASSERT_OK(ids);
    ids_ = *ids;
    ASSERT_OK(env_.Admin().UpdateMailbox(ids_[0], {AdminClient::Set(kAttr, "cloud-0")}));
    ASSERT_OK(env_.Admin().UpdateMailbox(ids_[1], {AdminClient::Set(kAttr, "cloud-1")}));
    ASSERT_OK(env_.Admin().WaitAllInSync(absl::Minutes(1))) << env_.LogsForFailure();
    // The pass started when the agent connected has ended (one at a time).
    ASSERT_OK(WaitNoPassRuns());
  }

  // Polls the "scan" records until none of the forest's passes is running:
  // a ReconcileForest that is refused as "running" is retried (hang guard).
  absl::Status WaitNoPassRuns() {
    absl::Time give_up = absl::Now() + absl::Minutes(1);
    while (absl::Now() < give_up) {
      v1::ListProvisioningLogRequest scans;
      scans.set_kind("scan");
      auto log = env_.Admin().ProvisioningLog(scans);
      if (!log.ok()) return log.status();
      if (!log->empty()) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(200));
    }
    return absl::DeadlineExceededError("the first reconciliation pass never ended");
  }

  // `writebackctl forest reconcile --wait`: the pass's counts.
  std::string Reconcile() {
    CtlResult r = env_.Ctl({"forest", "reconcile", WritebackEnv::kForest, "--wait"});
    EXPECT_EQ(r.exit_code, 0) << r.output << env_.LogsForFailure();
    return r.output;
  }

  // Successful modifies of users_[i] from index `from` of the audit log, by
  // the agent's account and by anyone else.
  void Writes(size_t from, int i, std::vector<std::string>* by_agent,
              std::vector<std::string>* by_others) {
    auto events = env_.dc().AuditEvents();
    ASSERT_OK(events);
    for (size_t e = from; e < events->size(); ++e) {
      const AuditEvent& ev = (*events)[e];
      if (ev.operation != "Modify" || ev.status_code != 0 || ev.performed_as_system) continue;
      if (!absl::EqualsIgnoreCase(ev.dn, users_[i].dn)) continue;
      std::string written;
      if (!WrittenValue(ev, kAttr, &written)) continue;
      (ev.user_sid == agent_sid_ ? by_agent : by_others)->push_back(written);
    }
  }

  size_t AuditMark() {
    auto events = env_.dc().AuditEvents();
    EXPECT_OK(events);
    return events.ok() ? events->size() : 0;
  }

  std::vector<std::string> InAd(int i) {
    auto attrs = env_.dc().Read(users_[i].dn, {kAttr});
    EXPECT_OK(attrs);
    return attrs.ok() ? (*attrs)[kAttr] : std::vector<std::string>{};
  }

  WritebackEnv env_;
  std::vector<SambaDc::User> users_;
  std::vector<std::string> ids_;
  std::string agent_sid_;
};

TEST_F(DriftTest, AnOnPremEditIsRecordedAsDriftAndCorrected) {
  SetUpEnv(/*conflict_corrections=*/3);
  const size_t mark = AuditMark();
  ASSERT_OK(env_.dc().Modify(users_[0].dn, {{kAttr, {"onprem-edit"}}}));

  std::string counts = Reconcile();
  EXPECT_THAT(counts, HasSubstr("drift=1 corrected=1 conflicts=0"));
  ASSERT_OK(env_.Admin().WaitAllInSync(absl::Minutes(1))) << env_.LogsForFailure();

  // The drift record names attribute, expected, found, whenChanged and DC.
  v1::ListDriftRequest request;
  v1::ListDriftResponse drift;
  grpc::ClientContext context;
  ASSERT_TRUE(env_.Admin().stub().ListDrift(&context, request, &drift).ok());
  ASSERT_EQ(drift.records_size(), 1) << drift.DebugString();
  const v1::DriftRecord& d = drift.records(0);
  EXPECT_EQ(d.mailbox_id(), ids_[0]);
  EXPECT_EQ(d.attribute(), kAttr);
  EXPECT_THAT(d.expected(), ElementsAre("cloud-0"));
  EXPECT_THAT(d.found(), ElementsAre("onprem-edit"));
  EXPECT_FALSE(d.when_changed().empty());
  EXPECT_FALSE(d.dc().empty());
  EXPECT_TRUE(absl::EqualsIgnoreCase(d.dn(), users_[0].dn)) << d.dn();
  EXPECT_EQ(d.source(), "scan");
  EXPECT_EQ(d.action(), "corrected");

  // The DC saw the on-prem edit, then exactly one correcting modify by the
  // agent; nothing was written to the mailbox that did not drift.
  std::vector<std::string> by_agent, by_others;
  Writes(mark, 0, &by_agent, &by_others);
  EXPECT_THAT(by_others, ElementsAre("onprem-edit"));
  EXPECT_THAT(by_agent, ElementsAre("cloud-0"));
  std::vector<std::string> other_agent, other_others;
  Writes(mark, 1, &other_agent, &other_others);
  EXPECT_TRUE(other_agent.empty());
  EXPECT_THAT(InAd(0), ElementsAre("cloud-0"));

  CtlResult listed = env_.Ctl({"drift", "--mailbox=" + ids_[0]});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr("onprem-edit"));
}

TEST_F(DriftTest, APersistentDualWriterEndsInConflictHoldUntilTheOperatorRetries) {
  SetUpEnv(/*conflict_corrections=*/3);
  const size_t mark = AuditMark();
  for (int round = 1; round <= 3; ++round) {
    ASSERT_OK(env_.dc().Modify(users_[0].dn, {{kAttr, {absl::StrCat("onprem-", round)}}}));
    std::string counts = Reconcile();
    if (round < 3) {
      EXPECT_THAT(counts, HasSubstr("drift=1 corrected=1 conflicts=0")) << round;
      ASSERT_OK(env_.Admin().WaitAllInSync(absl::Minutes(1))) << env_.LogsForFailure();
      EXPECT_THAT(InAd(0), ElementsAre("cloud-0")) << "corrected in round " << round;
    } else {
      EXPECT_THAT(counts, HasSubstr("drift=1 corrected=0 conflicts=1"));
    }
  }
  auto held = env_.Admin().GetMailbox(ids_[0]);
  ASSERT_OK(held);
  EXPECT_EQ(held->status(), v1::CONFLICT_HOLD);
  EXPECT_THAT(held->last_error(), HasSubstr("onprem-3"));
  EXPECT_THAT(held->last_error(), HasSubstr(kAttr));
  // Give a wrongly planned job time to land before asking the oracle.
  absl::SleepFor(absl::Seconds(2));
  std::vector<std::string> by_agent, by_others;
  Writes(mark, 0, &by_agent, &by_others);
  EXPECT_THAT(by_others, ElementsAre("onprem-1", "onprem-2", "onprem-3"));
  EXPECT_THAT(by_agent, ElementsAre("cloud-0", "cloud-0"))
      << "the two corrections before the hold, none after it";
  EXPECT_THAT(InAd(0), ElementsAre("onprem-3")) << "the on-prem value stays while held";

  v1::ListDriftRequest request;
  request.set_summary(true);
  request.set_cloud_id(ids_[0]);
  v1::ListDriftResponse summary;
  grpc::ClientContext context;
  ASSERT_TRUE(env_.Admin().stub().ListDrift(&context, request, &summary).ok());
  ASSERT_EQ(summary.summary_size(), 1);
  EXPECT_EQ(summary.summary(0).drift_count(), 3u);
  EXPECT_THAT(summary.summary(0).last_found(), ElementsAre("onprem-3"));
  EXPECT_TRUE(summary.summary(0).in_conflict());

  // The operator decides for the cloud: released and corrected.
  CtlResult retry = env_.Ctl({"mailbox", "retry", ids_[0]});
  ASSERT_EQ(retry.exit_code, 0) << retry.output;
  ASSERT_OK(env_.Admin().WaitAllInSync(absl::Minutes(1))) << env_.LogsForFailure();
  EXPECT_THAT(InAd(0), ElementsAre("cloud-0"));
  by_agent.clear();
  by_others.clear();
  Writes(mark, 0, &by_agent, &by_others);
  EXPECT_THAT(by_agent, ElementsAre("cloud-0", "cloud-0", "cloud-0"));
}

}  // namespace
}  // namespace writeback::testing
