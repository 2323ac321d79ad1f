// The stream of cloud changes every chaos scenario runs while its fault
// happens, and the record of what was sent (the model the invariant checks
// against, tests/chaos/invariants.h).
//
//   ChaosWorkload work(env, ChaosSizes::FromEnv());
//   ASSERT_OK(work.Register());        // users, mailboxes, onboarding
//   work.StartChanges();               // generations 1..G, in the background
//   ASSERT_OK(work.WaitApplied(work.sizes().mailboxes / 4));
//   ... inject the fault ...
//   ASSERT_OK(work.WaitChangesSent());
//   ASSERT_OK(work.WaitConverged());
//   EXPECT_OK(CheckInvariants(env, work.Expected(), work.Options()));
//
// Generation g of mailbox i sets extensionAttribute1 to "chaos-g<g>-<i>" and,
// on even generations, extensionAttribute2 to "chaos-g<g>-<i>-b": every value
// names its generation, so the DC's audit log tells a stale write. A change
// that fails (the controller is down) is sent again until accepted; setting
// the same values twice is one change. Not copyable.
#ifndef WRITEBACK_TESTS_CHAOS_CHAOS_WORKLOAD_H_
#define WRITEBACK_TESTS_CHAOS_CHAOS_WORKLOAD_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/chaos/invariants.h"
#include "tests/system/writeback_env.h"

namespace writeback::testing {

struct ChaosSizes {
  int mailboxes = 200;
  int generations = 4;
  // WB_CHAOS_MAILBOXES and WB_CHAOS_GENERATIONS override the moderate
  // defaults (tests/chaos/run.sh --long sets thousands).
  static ChaosSizes FromEnv();
};

// The estate most scenarios run on: the DC, the controller with
// ChaosWorkload::kControllerConfig, agent-1 and agent-2.
absl::Status StartTwoAgentEstate(WritebackEnv& env);

class ChaosWorkload {
 public:
  static constexpr char kAttr1[] = "extensionAttribute1";
  static constexpr char kAttr2[] = "extensionAttribute2";
  // Short leases so that a lost session's work moves within seconds
  // (lease + LDAP timeout); the rest as the controller's defaults.
  static constexpr char kControllerConfig[] =
      "lease_ms: 3000\nldap_timeout_ms: 3000\nheartbeat_interval_ms: 1000\n";

  ChaosWorkload(WritebackEnv& env, ChaosSizes sizes);
  ~ChaosWorkload();  // stops the sender (a test that ended early) and waits for it
  ChaosWorkload(const ChaosWorkload&) = delete;
  ChaosWorkload& operator=(const ChaosWorkload&) = delete;

  // Creates the users chaos0001.. in the scope OU, registers them as
  // mailboxes (the controller must run), waits until every one is onboarded,
  // and marks the DC's audit log (Options().audit_from).
  absl::Status Register();

  // Sends generations 1..G of every mailbox from four threads, each
  // mailbox's generations in order, with a pause after each generation so
  // that the stream lasts while the agents work (a fault triggered by
  // WaitSent(total_changes() / 2) comes mid-stream).
  void StartChanges();
  // Waits for the sender; its first error (a change never accepted).
  absl::Status WaitChangesSent();
  int changes_sent() const { return sent_.load(); }
  int total_changes() const { return sizes_.mailboxes * sizes_.generations; }

  // Polls until `n` changes were accepted (hang guard).
  absl::Status WaitSent(int n);
  // Polls the provisioning log until `n` jobs were APPLIED (hang guard).
  absl::Status WaitApplied(int n);
  // Polls until some mailbox has work out with an agent (hang guard).
  absl::Status WaitInFlight();
  // Where a scenario injects its fault: `sent` changes accepted, `applied`
  // jobs APPLIED, and work out with an agent right now.
  absl::Status WaitMidStream(int sent, int applied);

  // How many "lost" provisioning records name `agent_id`: one per job or read
  // its session held unanswered when the session was lost.
  absl::StatusOr<int> LostRecords(const std::string& agent_id);

  // Waits until every mailbox is IN_SYNC at its desired generation (hang
  // guard); fails at once on a quarantined mailbox. A forest the failure
  // guard paused (a burst of failed jobs: a DC that stopped, or stalled past
  // the LDAP timeout on a loaded machine) is resumed as an operator would,
  // printing the pause's reason: a pause is the guard's designed answer, not
  // a loss, and the invariant is checked afterwards all the same.
  absl::Status WaitConverged();
  // Resumes every forest the controller paused, printing why it was paused.
  absl::Status ResumePausedForests();

  // A hang guard scaled to the sizes (never a performance bound).
  absl::Duration Guard() const;

  // The model: what the cloud wants of each mailbox after every change was
  // accepted, and which generation carried each value.
  std::vector<ExpectedMailbox> Expected() const;
  InvariantOptions Options() const;

  static std::string Value1(int generation, int i);
  static std::string Value2(int generation, int i);

  const ChaosSizes& sizes() const { return sizes_; }
  const std::vector<SambaDc::User>& users() const { return users_; }
  const std::vector<std::string>& ids() const { return ids_; }
  size_t audit_mark() const { return audit_mark_; }

 private:
  void Send(int thread, int threads);

  WritebackEnv& env_;
  const ChaosSizes sizes_;
  std::vector<SambaDc::User> users_;
  std::vector<std::string> ids_;
  size_t audit_mark_ = 0;
  std::atomic<int> sent_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> senders_;
  absl::Mutex mu_;
  absl::Status send_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_CHAOS_CHAOS_WORKLOAD_H_
