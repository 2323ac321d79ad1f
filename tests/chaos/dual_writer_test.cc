// Chaos scenario 6 (DESIGN §5–6): on-premises edits race cloud changes. While
// the cloud sends its generations, an on-prem writer (an account of its own,
// so the DC's audit log names it) replaces extensionAttribute1 or deletes
// extensionAttribute2 of every fifth mailbox, several rounds, the same
// attributes writeback owns. Afterwards a full reconciliation pass finds what
// the jobs' compare-and-swap could not see. The cloud is authoritative, so
// every mailbox converges to the desired state, except that a mailbox whose
// attribute kept being changed on-prem may legitimately end in CONFLICT_HOLD
// (conflict_corrections, 2 here so that holds occur at moderate sizes): such
// a mailbox must be one the on-prem writer touched, and the operator's
// decision for the cloud (RetryMailbox) must then bring it to the desired
// state. The invariant (tests/chaos/invariants.h)
// judges the agents' writes; the on-prem writer's are exempt, and a
// correction may re-write the generation a dual write displaced.
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/invariants.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

constexpr int kRounds = 4;
constexpr absl::Duration kBetweenRounds = absl::Milliseconds(300);

// Waits until every mailbox is IN_SYNC at its desired generation or in
// CONFLICT_HOLD (hang guard), resuming a forest the failure guard paused
// (ChaosWorkload::WaitConverged); fails at once on a quarantined mailbox.
absl::Status WaitSettled(WritebackEnv& env, ChaosWorkload& work) {
  const absl::Time give_up = absl::Now() + work.Guard();
  while (true) {
    absl::Status resumed = work.ResumePausedForests();
    if (!resumed.ok()) return resumed;
    auto mailboxes = env.Admin().ListMailboxes();
    if (!mailboxes.ok()) return mailboxes.status();
    const v1::Mailbox* open = nullptr;
    for (const auto& m : *mailboxes) {
      if (m.status() == v1::QUARANTINED) {
        return absl::FailedPreconditionError("mailbox " + m.cloud_id() +
                                             " quarantined: " + m.last_error());
      }
      const bool settled = m.status() == v1::CONFLICT_HOLD ||
                           (m.status() == v1::IN_SYNC && m.applied_gen() == m.desired_gen());
      if (!settled && open == nullptr) open = &m;
    }
    if (open == nullptr) return absl::OkStatus();
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat("hang guard: mailbox ", open->cloud_id(),
                                                      " is ",
                                                      v1::MailboxStatus_Name(open->status())));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// A full reconciliation pass, asked again while another pass runs.
absl::Status ReconcileFully(WritebackEnv& env, absl::Duration guard) {
  const absl::Time give_up = absl::Now() + guard;
  while (true) {
    CtlResult r = env.Ctl({"forest", "reconcile", WritebackEnv::kForest, "--full", "--wait"});
    if (r.exit_code == 0) {
      std::cout << "reconciliation pass: " << r.output;
      return absl::OkStatus();
    }
    if (absl::Now() > give_up) return absl::DeadlineExceededError("reconcile: " + r.output);
    absl::SleepFor(absl::Milliseconds(500));
  }
}

TEST(ChaosDualWriterTest, OnPremEditsRacingCloudChangesConverge) {
  WritebackEnv env;
  env.set_controller_config(absl::StrCat(ChaosWorkload::kControllerConfig,
                                         "reconcile_interval_s: 0\nconflict_corrections: 2\n"
                                         "conflict_window_s: 3600\n"));
  ASSERT_OK(env.StartDc());
  auto onprem = env.dc().AddAdminAccount("onprem-writer");
  ASSERT_OK(onprem);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  ASSERT_OK(env.StartAgent(2));
  ChaosWorkload work(env, ChaosSizes::FromEnv());
  ASSERT_OK(work.Register()) << env.LogsForFailure();

  work.StartChanges();  // the on-prem rounds run while the generations are sent
  std::set<std::string> touched;
  int dual_writes = 0;
  for (int round = 1; round <= kRounds; ++round) {
    for (int i = 0; i < work.sizes().mailboxes; i += 5) {
      const std::string& dn = work.users()[i].dn;
      SambaDc::Mod mod = (round + i / 5) % 2 == 0
                             ? SambaDc::Mod{SambaDc::Mod::Op::kReplace,
                                            ChaosWorkload::kAttr1,
                                            {absl::StrCat("onprem-r", round, "-", i)}}
                             : SambaDc::Mod{SambaDc::Mod::Op::kDelete, ChaosWorkload::kAttr2, {}};
      // A delete of an absent attribute fails (noSuchAttribute): a race lost.
      if (env.dc().ModifyOpsAs(*onprem, dn, {mod}).ok()) dual_writes++;
      touched.insert(work.ids()[i]);
    }
    absl::SleepFor(kBetweenRounds);
  }
  std::cout << dual_writes << " on-prem writes while " << work.changes_sent() << " of "
            << work.total_changes() << " changes were accepted" << std::endl;
  ASSERT_OK(work.WaitChangesSent());
  ASSERT_OK(WaitSettled(env, work)) << env.LogsForFailure();
  // The on-prem writes that landed on IN_SYNC mailboxes are found by a pass.
  ASSERT_OK(ReconcileFully(env, work.Guard())) << env.LogsForFailure();
  ASSERT_OK(WaitSettled(env, work)) << env.LogsForFailure();

  auto mailboxes = env.Admin().ListMailboxes();
  ASSERT_OK(mailboxes);
  int held = 0;
  for (const auto& m : *mailboxes) {
    if (m.status() != v1::CONFLICT_HOLD) continue;
    held++;
    EXPECT_EQ(touched.count(m.cloud_id()), 1u)
        << m.cloud_id() << " is in CONFLICT_HOLD without an on-prem writer: " << m.last_error();
    v1::RetryMailboxRequest retry;
    retry.set_cloud_id(m.cloud_id());
    v1::Mailbox answer;
    grpc::ClientContext context;
    grpc::Status s = env.Admin().stub().RetryMailbox(&context, retry, &answer);
    ASSERT_TRUE(s.ok()) << m.cloud_id() << ": " << s.error_message();
  }
  v1::ListDriftRequest request;
  request.set_summary(true);
  v1::ListDriftResponse drift;
  grpc::ClientContext context;
  ASSERT_TRUE(env.Admin().stub().ListDrift(&context, request, &drift).ok());
  std::cout << drift.summary_size() << " mailbox attributes drifted; " << held
            << " mailboxes in CONFLICT_HOLD, retried by the operator" << std::endl;
  EXPECT_GT(drift.summary_size(), 0) << "no on-prem write was noticed: nothing was tested";
  ASSERT_OK(work.WaitConverged()) << env.LogsForFailure();

  InvariantOptions options = work.Options();
  options.dual_writer_sids = {onprem->sid};
  EXPECT_OK(CheckInvariants(env, work.Expected(), options));
}

}  // namespace
}  // namespace writeback::testing
