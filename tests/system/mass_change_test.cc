// Acceptance (issue: mass-change guard, DESIGN §3): a burst touching more
// mailboxes of a forest than its threshold within the window is held until an
// operator decides. Against a real Samba DC, checked in its audit log and by
// LDAP search:
//  - the first onboarding pass of 20 mailboxes with threshold 5: exactly 5
//    are written, 15 wait under one hold; a held mailbox changed again stays
//    held and nothing reaches the DC; a retry does not release it;
//  - approval: all 15 are written once each, with their LATEST values;
//  - a second burst (threshold raised to 8 with `forest set`) opens a second
//    hold, which is rejected: the DC shows no modify of the held objects,
//    their old values stay, desired reverts, the log has "rejected" records.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int kMailboxes = 20;
constexpr char kAttr[] = "extensionAttribute1";

std::string Value(const v1::Mailbox& m) {
  auto it = m.desired().attributes().find(kAttr);
  if (it == m.desired().attributes().end() || it->second.values().empty()) return "";
  return it->second.values(0);
}

// Polls (hang guard 90 s) until `held` mailboxes are HELD and `synced` are
// IN_SYNC at their desired generation with a value starting with `prefix`.
absl::StatusOr<std::vector<v1::Mailbox>> WaitForSplit(WritebackEnv& env, int held, int synced,
                                                      const std::string& prefix) {
  absl::Time deadline = absl::Now() + absl::Seconds(90);
  std::string seen;
  while (absl::Now() < deadline) {
    auto all = env.Admin().ListMailboxes();
    if (!all.ok()) return all.status();
    int h = 0, s = 0;
    for (const auto& m : *all) {
      h += m.status() == v1::HELD;
      s += m.status() == v1::IN_SYNC && m.applied_gen() == m.desired_gen() &&
           absl::StartsWith(Value(m), prefix);
    }
    seen = absl::StrCat(h, " held, ", s, " in sync with ", prefix);
    if (h == held && s == synced) return all;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError("waiting for the guard's split: " + seen);
}

// Successful modifies of `dn` from audit event `from` on.
int Modifies(const std::vector<AuditEvent>& events, const std::string& dn, size_t from) {
  auto by_dn = ModifiesByDn(events, from);
  int n = 0;
  for (const AuditEvent* e : by_dn[absl::AsciiStrToLower(dn)]) n += e->status_code == 0;
  return n;
}

v1::ListHoldsResponse Holds(WritebackEnv& env) {
  CtlResult list = env.Ctl({"hold", "list", "--json"});
  v1::ListHoldsResponse holds;
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(list.output, &holds).ok())
      << list.output;
  return holds;
}

TEST(MassChangeTest, HeldBurstsWaitForApprovalOrRejection) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  env.set_controller_config("mass_change_threshold: 5\nmass_change_window_s: 3600\n");
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  std::map<std::string, std::string> dn_of;  // cloud id -> DN
  auto mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  const size_t burst1 = mark->size();

  // The first onboarding pass: 20 mailboxes with desired values.
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  for (int i = 0; i < kMailboxes; ++i) {
    dn_of[(*ids)[i]] = (*users)[i].dn;
    ASSERT_OK(env.Admin().UpdateMailbox((*ids)[i], {AdminClient::Set(kAttr, absl::StrCat("b1-", i, "-g1"))}));
  }
  auto split = WaitForSplit(env, 15, 5, "b1-");
  ASSERT_OK(split) << env.LogsForFailure();
  std::vector<std::string> held;
  for (const auto& m : *split) {
    if (m.status() == v1::HELD) held.push_back(m.cloud_id());
  }
  v1::ListHoldsResponse holds = Holds(env);
  ASSERT_THAT(holds.holds(), SizeIs(1));
  const v1::Hold first = holds.holds(0);
  EXPECT_EQ(first.state(), "open");
  EXPECT_EQ(first.mailboxes(), 15u);
  EXPECT_THAT(first.reason(), HasSubstr("threshold of 5"));
  CtlResult forests = env.Ctl({"forest", "list"});
  EXPECT_THAT(forests.output, HasSubstr(absl::StrCat("mass-change hold ", first.id(), " holds 15")));

  // Frozen: changed again while held, still held; a retry does not release it.
  const std::string again = held[0];
  ASSERT_OK(env.Admin().UpdateMailbox(again, {AdminClient::Set(kAttr, "b1-again-g2")}));
  CtlResult retry = env.Ctl({"mailbox", "retry", again});
  EXPECT_EQ(retry.exit_code, 1) << retry.output;
  EXPECT_THAT(retry.output, HasSubstr("approve or reject the hold"));
  absl::SleepFor(absl::Seconds(3));  // many placement rounds
  auto m = env.Admin().GetMailbox(again);
  ASSERT_OK(m);
  EXPECT_EQ(m->status(), v1::HELD);
  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  int written = 0;
  for (const auto& [id, dn] : dn_of) {
    bool is_held = std::find(held.begin(), held.end(), id) != held.end();
    int n = Modifies(*events, dn, burst1);
    if (is_held) {
      EXPECT_EQ(n, 0) << "held mailbox " << id << " reached the DC";
    }
    written += n;
  }
  EXPECT_EQ(written, 5) << "exactly the threshold's worth of mailboxes changed";

  // Approved: every held mailbox is written once, with its latest values.
  CtlResult approve = env.Ctl({"hold", "approve", absl::StrCat(first.id())});
  ASSERT_EQ(approve.exit_code, 0) << approve.output;
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();
  events = env.dc().AuditEvents();
  ASSERT_OK(events);
  for (int i = 0; i < kMailboxes; ++i) {
    const std::string& id = (*ids)[i];
    EXPECT_EQ(Modifies(*events, dn_of[id], burst1), 1) << "mailbox " << id;
    auto attrs = env.dc().Read(dn_of[id], {kAttr});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)[kAttr],
                ElementsAre(id == again ? std::string("b1-again-g2") : absl::StrCat("b1-", i, "-g1")));
  }
  holds = Holds(env);
  ASSERT_THAT(holds.holds(), SizeIs(1));
  EXPECT_EQ(holds.holds(0).state(), "approved");
  // Approved through writebackctl as the controller's local operator.
  EXPECT_EQ(holds.holds(0).decided_by(), "token:local-operator (operator)");
  v1::ListProvisioningLogRequest held_log;
  held_log.set_kind("held");
  auto log = env.Admin().ProvisioningLog(held_log);
  ASSERT_OK(log);
  EXPECT_THAT(*log, SizeIs(15));
  EXPECT_THAT(env.Ctl({"audit", "--method=ApproveHold"}).output, HasSubstr("ApproveHold  OK"));

  // A second burst over ten of the approved mailboxes (they did not use up
  // the window; the five written first did). Threshold 8 for the forest:
  // 5 counted + 3 more go out, 7 are held.
  CtlResult set = env.Ctl({"forest", "set", WritebackEnv::kForest, "--mass_change_threshold=8",
                           "--mass_change_window=1h"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  const size_t burst2 = mark->size();
  std::vector<std::string> second(held.begin() + 1, held.begin() + 11);
  std::map<std::string, std::string> before;  // what AD holds before burst 2
  for (const auto& id : second) {
    auto current = env.Admin().GetMailbox(id);
    ASSERT_OK(current);
    before[id] = Value(*current);
    ASSERT_OK(env.Admin().UpdateMailbox(id, {AdminClient::Set(kAttr, "b2-" + id)}));
  }
  split = WaitForSplit(env, 7, 3, "b2-");
  ASSERT_OK(split) << env.LogsForFailure();
  std::vector<std::string> held2;
  for (const auto& mb : *split) {
    if (mb.status() == v1::HELD) held2.push_back(mb.cloud_id());
  }
  ASSERT_OK(env.Admin().UpdateMailbox(held2[0], {AdminClient::Set(kAttr, "b2-again")}));
  holds = Holds(env);
  ASSERT_THAT(holds.holds(), SizeIs(2));
  const v1::Hold second_hold = holds.holds(0);  // newest first
  EXPECT_EQ(second_hold.state(), "open");
  EXPECT_EQ(second_hold.mailboxes(), 7u);

  // Meanwhile someone else changes one held object on-prem: after the
  // rejection, what AD holds stands (it is read again), not the older
  // value the controller knew.
  const std::string& dual = held2[1];
  ASSERT_OK(env.dc().Modify(dn_of[dual], {{kAttr, {"onprem-while-held"}}}));

  CtlResult reject = env.Ctl({"hold", "reject", absl::StrCat(second_hold.id())});
  ASSERT_EQ(reject.exit_code, 0) << reject.output;
  EXPECT_THAT(reject.output, HasSubstr("nothing was written"));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Seconds(30))) << env.LogsForFailure();
  absl::SleepFor(absl::Seconds(2));  // a stray write would show by now
  events = env.dc().AuditEvents();
  ASSERT_OK(events);
  v1::ListProvisioningLogRequest rejected_log;
  rejected_log.set_kind("rejected");
  log = env.Admin().ProvisioningLog(rejected_log);
  ASSERT_OK(log);
  EXPECT_THAT(*log, SizeIs(7));
  std::map<std::string, v1::ProvisioningRecord> rejected;
  for (const auto& r : *log) rejected[r.mailbox_id()] = r;
  for (const auto& id : held2) {
    // The on-prem edit of `dual` is the only modify after the burst began.
    EXPECT_EQ(Modifies(*events, dn_of[id], burst2), id == dual ? 1 : 0)
        << "rejected mailbox " << id << " written";
    const std::string in_ad = id == dual ? std::string("onprem-while-held") : before[id];
    auto attrs = env.dc().Read(dn_of[id], {kAttr});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)[kAttr], ElementsAre(in_ad)) << id;
    auto reverted = env.Admin().GetMailbox(id);
    ASSERT_OK(reverted);
    EXPECT_EQ(reverted->status(), v1::IN_SYNC);
    EXPECT_EQ(Value(*reverted), in_ad) << "desired reverts to what AD holds";
    ASSERT_EQ(rejected.count(id), 1u);
    ASSERT_THAT(rejected[id].modified(), SizeIs(1));
    EXPECT_THAT(rejected[id].modified(0).old_values(), ElementsAre(before[id]));
    EXPECT_THAT(rejected[id].modified(0).new_values(),
                ElementsAre(id == held2[0] ? std::string("b2-again") : "b2-" + id));
  }
  for (const auto& id : second) {
    if (std::find(held2.begin(), held2.end(), id) != held2.end()) continue;
    EXPECT_EQ(Modifies(*events, dn_of[id], burst2), 1) << "within the threshold: written";
  }
  EXPECT_THAT(env.Ctl({"audit", "--method=RejectHold"}).output, HasSubstr("RejectHold  OK"));
}

}  // namespace
}  // namespace writeback::testing
