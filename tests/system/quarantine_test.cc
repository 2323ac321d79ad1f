// Issue 5: retryable failures back off exponentially with jitter; a mailbox
// that keeps failing is quarantined with its last error; a quarantined
// mailbox is frozen (a later change joins it and is not carried out around
// it) until an operator retries it, and then AD gets the latest change.
//
// The failure is real: the DC is stopped while a change waits, so each
// attempt of the real agent fails to reach it (a retryable failure).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kRetryBaseMs = 400;
constexpr int kMaxAttempts = 4;

// Polls the mailbox until `done` holds (hang guard `guard`).
absl::StatusOr<v1::Mailbox> WaitMailbox(AdminClient& admin, const std::string& id,
                                        const std::function<bool(const v1::Mailbox&)>& done,
                                        absl::Duration guard) {
  absl::Time deadline = absl::Now() + guard;
  while (true) {
    absl::StatusOr<v1::Mailbox> m = admin.GetMailbox(id);
    if (m.ok() && done(*m)) return m;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("mailbox ", id, " ", m.ok() ? m->DebugString() : m.status().ToString()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// Modify events of `dn` in the DC's audit log.
std::vector<SambaDc::AuditEvent> ModifiesOf(SambaDc& dc, const std::string& dn) {
  std::vector<SambaDc::AuditEvent> out;
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  if (!events.ok()) return out;
  for (const auto& e : *events) {
    if (e.operation == "Modify" && absl::EqualsIgnoreCase(e.dn, dn)) out.push_back(e);
  }
  return out;
}

TEST(QuarantineTest, RepeatedRetryableFailuresBackOffThenQuarantineUntilRetried) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(2);
  ASSERT_OK(users);
  const SambaDc::User& a = (*users)[0];
  const SambaDc::User& b = (*users)[1];
  // The forest-wide failure guard is set out of the way: this test is about
  // one mailbox.
  env.set_controller_config(absl::StrCat("retry_base_ms: ", kRetryBaseMs,
                                         "\nretry_max_attempts: ", kMaxAttempts,
                                         "\npause_min_attempts: 1000\n"));
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);
  const std::string id_a = (*ids)[0], id_b = (*ids)[1];
  AdminClient& admin = env.Admin();
  ASSERT_OK(admin.WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  // The directory goes away; a change of A waits for it.
  ASSERT_OK(env.dc().Stop());
  auto changed = admin.UpdateMailbox(id_a, {AdminClient::Set("extensionAttribute1", "first")});
  ASSERT_OK(changed);
  const uint64_t first_gen = changed->desired_gen();

  auto quarantined = WaitMailbox(
      admin, id_a, [](const v1::Mailbox& m) { return m.status() == v1::QUARANTINED; },
      absl::Minutes(1));
  ASSERT_OK(quarantined) << env.LogsForFailure();
  EXPECT_EQ(quarantined->attempts(), static_cast<uint32_t>(kMaxAttempts));
  EXPECT_THAT(quarantined->last_error(),
              HasSubstr(absl::StrCat("quarantined after ", kMaxAttempts, " attempts")));

  // One provisioning log record per attempt, each a retryable failure of the
  // same generation, the waits between them doubling (jitter takes each wait
  // to between half and all of base * 2^n, so the lower bounds hold).
  v1::ListProvisioningLogRequest filter;
  filter.set_mailbox_id(id_a);
  filter.set_kind("job");
  auto attempts = admin.ProvisioningLog(filter);
  ASSERT_OK(attempts);
  ASSERT_EQ(attempts->size(), static_cast<size_t>(kMaxAttempts));
  for (size_t i = 0; i < attempts->size(); ++i) {
    const v1::ProvisioningRecord& r = (*attempts)[i];
    EXPECT_EQ(r.outcome(), v1::FAILED_RETRYABLE) << r.DebugString();
    EXPECT_EQ(r.generation(), first_gen);
    EXPECT_FALSE(r.diagnostic().empty()) << "a failure without a reason: " << r.DebugString();
    if (i > 0) {
      int64_t gap_ms = r.time_ms() - (*attempts)[i - 1].time_ms();
      int64_t floor_ms = kRetryBaseMs / 2 * (int64_t{1} << (i - 1));
      EXPECT_GE(gap_ms, floor_ms) << "attempt " << i + 1 << " came too soon";
    }
  }
  // The quarantined mailbox's last error is the last attempt's.
  EXPECT_THAT(quarantined->last_error(), HasSubstr(attempts->back().diagnostic()));

  // The directory is back. A later change of A joins the quarantined one and
  // is not carried out around it; B's change goes through meanwhile.
  ASSERT_OK(env.dc().Restart());
  ASSERT_OK(admin.UpdateMailbox(id_a, {AdminClient::Set("extensionAttribute1", "second")}));
  ASSERT_OK(admin.UpdateMailbox(id_b, {AdminClient::Set("extensionAttribute1", "b")}));
  ASSERT_OK(WaitMailbox(
      admin, id_b, [](const v1::Mailbox& m) { return m.status() == v1::IN_SYNC; },
      absl::Minutes(1)))
      << env.LogsForFailure();
  ASSERT_EQ(ModifiesOf(env.dc(), b.dn).size(), 1u);
  auto still = admin.GetMailbox(id_a);
  ASSERT_OK(still);
  EXPECT_EQ(still->status(), v1::QUARANTINED);
  EXPECT_GT(still->desired_gen(), first_gen);
  EXPECT_TRUE(ModifiesOf(env.dc(), a.dn).empty()) << "a quarantined mailbox was written";
  auto more = admin.ProvisioningLog(filter);
  ASSERT_OK(more);
  EXPECT_EQ(more->size(), static_cast<size_t>(kMaxAttempts)) << "attempted while quarantined";

  // The operator releases it: AD gets the latest desired value in one write.
  CtlResult retried = env.Ctl({"mailbox", "retry", id_a});
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  auto synced = WaitMailbox(
      admin, id_a, [](const v1::Mailbox& m) { return m.status() == v1::IN_SYNC; },
      absl::Minutes(1));
  ASSERT_OK(synced) << env.LogsForFailure();
  EXPECT_EQ(synced->attempts(), 0u);
  EXPECT_EQ(synced->last_error(), "");
  EXPECT_EQ(synced->applied_gen(), synced->desired_gen());
  auto attrs = env.dc().Read(a.dn, {"extensionAttribute1"});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)["extensionAttribute1"], ElementsAre("second"));
  std::vector<SambaDc::AuditEvent> writes = ModifiesOf(env.dc(), a.dn);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].status_code, 0);
  const auto* actions = writes[0].Find("extensionAttribute1");
  ASSERT_NE(actions, nullptr);
  EXPECT_EQ(actions->back().values, std::vector<std::string>{"second"});
  CtlResult audit = env.Ctl({"audit", "--method=RetryMailbox"});
  EXPECT_THAT(audit.output, HasSubstr(id_a));
}

}  // namespace
}  // namespace writeback::testing
