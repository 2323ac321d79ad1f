// Issue 7: every writebackctl verb against a real controller, agent and DC,
// as a table and as --json (parsed into the Admin API's message and checked),
// and every documented exit code: 0, 1 (refused), 2 (usage), 3 (unreachable),
// 4 (mailbox wait timed out), 5 (no or a wrong token). `status` must show the
// agent connected and the real queue depth.
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/identity/anchor.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/system/ctl_test_util.h"
#include "tests/system/trust_helpers.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kOther[] = "other.example.test";

// Every non-empty line of `out` parsed as M; fails the test for one that is
// not.
template <typename M>
std::vector<M> JsonLines(const std::string& out) {
  std::vector<M> all;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    M m;
    EXPECT_TRUE(ParseJson(std::string(line), &m)) << "not JSON: " << line;
    all.push_back(std::move(m));
  }
  return all;
}

// One JSON value of M (the whole of stdout).
template <typename M>
M Json(WritebackEnv& env, const std::vector<std::string>& args, int want_exit = 0) {
  std::vector<std::string> all = {"--json"};
  all.insert(all.end(), args.begin(), args.end());
  ShellResult r = CtlStdout(env, all);
  EXPECT_EQ(r.exit_code, want_exit) << args[0] << " " << r.output;
  M m;
  EXPECT_TRUE(ParseJson(r.output, &m)) << "stdout of " << args[0] << " is not one JSON "
                                       << M::descriptor()->name() << ": " << r.output;
  return m;
}

// The table of a list verb: exit 0, a header row naming `column`, `rows` lines
// after it.
void ExpectTable(WritebackEnv& env, const std::vector<std::string>& args, const std::string& column,
                 const std::string& contains = "") {
  CtlResult r = env.Ctl(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty()) << args[0];
  bool header = false;
  for (const auto& l : lines) header = header || absl::StartsWith(l, column);
  EXPECT_TRUE(header) << "no header row starting " << column << ":\n" << r.output;
  if (!contains.empty()) EXPECT_THAT(r.output, HasSubstr(contains));
}

v1::GetStatusResponse Status(WritebackEnv& env) {
  return Json<v1::GetStatusResponse>(env, {"status"});
}

int64_t QueueDepth(const v1::GetStatusResponse& s, const std::string& forest) {
  for (const auto& f : s.forests()) {
    if (f.name() == forest) return f.queue_depth();
  }
  return -1;
}

// Polls `hold list --json` until the forest has an open hold; its id or 0.
int64_t WaitOpenHold(WritebackEnv& env) {
  for (absl::Time end = absl::Now() + absl::Seconds(20); absl::Now() < end;) {
    auto holds = Json<v1::ListHoldsResponse>(env, {"hold", "list"});
    for (const auto& h : holds.holds()) {
      if (h.state() == "open") return h.id();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return 0;
}

TEST(CtlVerbsTest, EveryVerbAsTableAndJsonWithItsExitCodes) {
  WritebackEnv env;
  env.set_controller_ca_mode(true);
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(auto users, env.dc().AddUsers(10));
  ASSERT_OK(env.StartController());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(users));
  ASSERT_OK(EnrollAndStartAgent(env, 1));
  AdminClient& admin = env.Admin();
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Minutes(1)));
  // Mailboxes 7-10 (ids[6..9]) get no attributes yet: never written, never
  // counted by the mass-change guard, they open its holds below.
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK(
        admin.UpdateMailbox(ids[i], {AdminClient::Set("extensionAttribute1", "v1")}).status());
  }
  ASSERT_OK(admin.WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  // status: the agent connected, nothing queued.
  ExpectTable(env, {"status"}, "FOREST", "agent-1");
  v1::GetStatusResponse status = Status(env);
  ASSERT_THAT(status.agents(), SizeIs(1));
  EXPECT_EQ(status.agents(0).agent_id(), "agent-1");
  EXPECT_EQ(status.agents(0).stream_state(), "connected");
  EXPECT_EQ(status.total_mailboxes(), 10);
  EXPECT_EQ(QueueDepth(status, WritebackEnv::kForest), 0);

  // The queue depth is real: a paused forest keeps three changes waiting.
  EXPECT_TRUE(Json<v1::Forest>(env, {"forest", "pause", WritebackEnv::kForest}).paused());
  for (int i = 0; i < 3; ++i) {
    v1::Mailbox m = Json<v1::Mailbox>(env, {"mailbox", "set", ids[i], "extensionAttribute1=v2"});
    EXPECT_EQ(m.desired_gen(), 2u) << m.ShortDebugString();
  }
  status = Status(env);
  EXPECT_EQ(QueueDepth(status, WritebackEnv::kForest), 3) << status.ShortDebugString();
  EXPECT_EQ(status.forests(0).pending(), 3);
  EXPECT_TRUE(status.forests(0).paused());
  // Exit 4: waiting on a paused forest times out.
  CtlResult timed_out = env.Ctl({"mailbox", "wait", ids[0], "--timeout_s=1"});
  EXPECT_EQ(timed_out.exit_code, 4) << timed_out.output;
  EXPECT_FALSE(Json<v1::Forest>(env, {"forest", "resume", WritebackEnv::kForest}).paused());
  auto waited = Json<v1::ListMailboxesResponse>(
      env, {"mailbox", "wait", ids[0], ids[1], ids[2], "--timeout_s=60"});
  ASSERT_THAT(waited.mailboxes(), SizeIs(3));
  for (const auto& m : waited.mailboxes()) EXPECT_EQ(m.status(), v1::IN_SYNC);
  EXPECT_EQ(QueueDepth(Status(env), WritebackEnv::kForest), 0);
  ASSERT_OK_AND_ASSIGN(auto read, env.dc().Read(users[0].dn, {"extensionAttribute1"}));
  EXPECT_EQ(read["extensionAttribute1"], std::vector<std::string>{"v2"});

  // Exit codes 1, 2, 3, 5.
  EXPECT_EQ(env.Ctl({"mailbox", "get", "00000000-0000-0000-0000-00000000dead"}).exit_code, 1);
  EXPECT_EQ(env.Ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(env.Ctl({"mailbox", "import"}).exit_code, 2);
  EXPECT_EQ(env.Ctl({"mailbox", "import", env.work_dir() + "/no-such-file.jsonl"}).exit_code, 2);
  EXPECT_EQ(env.Ctl({"log", "--kind=nonsense"}).exit_code, 2);
  ShellResult closed = RunShell(absl::StrCat("WRITEBACKCTL_TOKEN_FILE=", env.admin_token_file(),
                                             " WRITEBACKCTL_CONFIG= ", WB_CTL_BIN,
                                             " --controller=127.0.0.1:1 status"));
  EXPECT_EQ(closed.exit_code, 3) << closed.output;
  EXPECT_EQ(env.CtlWithEnv({"WRITEBACKCTL_TOKEN_FILE="}, {"status"}).exit_code, 5);
  const std::string wrong = env.work_dir() + "/wrong.token";
  std::ofstream(wrong) << "not-the-token\n";
  chmod(wrong.c_str(), 0600);
  EXPECT_EQ(env.CtlWithEnv({"WRITEBACKCTL_TOKEN_FILE=" + wrong}, {"status"}).exit_code, 5);

  // forest add / list / set.
  EXPECT_EQ(Json<v1::Forest>(env, {"forest", "add", kOther,
                                   "--scope_ous=OU=Mailboxes,DC=other,DC=example,DC=test"})
                .name(),
            kOther);
  ExpectTable(env, {"forest", "list"}, "FOREST", kOther);
  EXPECT_THAT(Json<v1::ListForestsResponse>(env, {"forest", "list"}).forests(), SizeIs(2));

  // The mass-change guard: forest set, hold list, approve, hold reject.
  v1::Forest guarded =
      Json<v1::Forest>(env, {"forest", "set", WritebackEnv::kForest, "--mass_change_threshold=1",
                             "--mass_change_window=1h"});
  EXPECT_EQ(guarded.mass_change_threshold(), 1u);
  for (int i = 6; i < 9; ++i) {
    ASSERT_OK(
        admin.UpdateMailbox(ids[i], {AdminClient::Set("extensionAttribute1", "v3")}).status());
  }
  int64_t hold = WaitOpenHold(env);
  ASSERT_NE(hold, 0) << env.LogsForFailure();
  ExpectTable(env, {"hold", "list"}, "HOLD", "open");
  EXPECT_EQ(Json<v1::Hold>(env, {"approve", absl::StrCat(hold)}).state(), "approved");
  ASSERT_EQ(env.Ctl({"mailbox", "wait", ids[6], ids[7], ids[8]}).exit_code, 0);
  // Another mailbox not counted in this window yet: past the threshold, held.
  ASSERT_OK(admin.UpdateMailbox(ids[9], {AdminClient::Set("extensionAttribute1", "v4")}).status());
  hold = WaitOpenHold(env);
  ASSERT_NE(hold, 0) << env.LogsForFailure();
  EXPECT_EQ(Json<v1::Hold>(env, {"hold", "reject", absl::StrCat(hold)}).state(), "rejected");
  EXPECT_FALSE(Json<v1::Forest>(env, {"forest", "set", WritebackEnv::kForest, "--use_defaults"})
                   .has_mass_change_threshold());

  // mailbox add / get / list / retry / provision / remove; retry, quarantine.
  const std::string extra = "99999999-0000-0000-0000-000000000001";
  v1::Mailbox added =
      Json<v1::Mailbox>(env, {"mailbox", "add", extra, std::string("--forest=") + kOther,
                              "--anchor=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"});
  EXPECT_EQ(added.forest(), kOther);
  EXPECT_EQ(Json<v1::Mailbox>(env, {"mailbox", "get", ids[1]})
                .desired()
                .attributes()
                .at("extensionAttribute1")
                .values(0),
            "v2");
  ExpectTable(env, {"mailbox", "list"}, "CLOUD_ID", ids[5]);
  EXPECT_THAT(Json<v1::ListMailboxesResponse>(env, {"mailbox", "list"}).mailboxes(), SizeIs(11));
  EXPECT_EQ(Json<v1::Mailbox>(env, {"mailbox", "retry", ids[0]}).cloud_id(), ids[0]);
  EXPECT_EQ(Json<v1::Mailbox>(env, {"retry", ids[0]}).cloud_id(), ids[0]);
  EXPECT_EQ(Json<v1::Mailbox>(env, {"quarantine", "release", ids[0]}).cloud_id(), ids[0]);
  ExpectTable(env, {"quarantine"}, "CLOUD_ID");
  // Nothing is quarantined or conflict-held; the added mailbox (PENDING in a
  // forest without agents) must not be listed.
  EXPECT_THAT(Json<v1::ListMailboxesResponse>(env, {"quarantine", "list"}).mailboxes(), SizeIs(0));
  ASSERT_OK(admin.UpdateMailbox(ids[1], {AdminClient::Set("extensionAttribute2", "now")}).status());
  v1::ProvisionNowResponse provisioned =
      Json<v1::ProvisionNowResponse>(env, {"mailbox", "provision", ids[1]});
  EXPECT_FALSE(provisioned.steps().empty()) << provisioned.ShortDebugString();
  EXPECT_EQ(env.Ctl({"provision-now", ids[1]}).exit_code, 0);
  EXPECT_EQ(Json<v1::Mailbox>(env, {"mailbox", "remove", extra}).cloud_id(), extra);

  // mailbox import from stdin, JSON summary.
  const std::string import = env.work_dir() + "/one.jsonl";
  std::ofstream(import) << "{\"cloud_id\":\"" << ids[2] << "\",\"forest\":\""
                        << WritebackEnv::kForest << "\",\"anchor\":\""
                        << AnchorToGuidString(users[2].object_guid)
                        << "\",\"attributes\":{\"extensionAttribute1\":\"v5\"}}\n";
  ShellResult imported = CtlStdout(env, {"--json", "mailbox", "import", "-"}, import);
  EXPECT_EQ(imported.exit_code, 0) << imported.output;
  auto summary = JsonLines<google::protobuf::Struct>(imported.output);
  ASSERT_THAT(summary, SizeIs(1));
  EXPECT_EQ(summary[0].fields().at("updated").number_value(), 1);
  ASSERT_EQ(env.Ctl({"mailbox", "wait", ids[2]}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(read, env.dc().Read(users[2].dn, {"extensionAttribute1"}));
  EXPECT_EQ(read["extensionAttribute1"], std::vector<std::string>{"v5"});

  // agent list; log, log export, log --follow; drift; forest reconcile; audit.
  ExpectTable(env, {"agent", "list"}, "AGENT", "agent-1");
  EXPECT_THAT(Json<v1::ListAgentsResponse>(env, {"agent", "list"}).agents(), SizeIs(1));
  ExpectTable(env, {"log"}, "TIME (UTC)", ids[0]);
  ShellResult log = CtlStdout(env, {"log", "--json", "--mailbox=" + ids[2]});
  auto records = JsonLines<v1::ProvisioningRecord>(log.output);
  EXPECT_FALSE(records.empty());
  for (const auto& r : records) EXPECT_EQ(r.mailbox_id(), ids[2]);
  ShellResult exported = CtlStdout(env, {"log", "export", "--mailbox=" + ids[2]});
  EXPECT_EQ(JsonLines<v1::ProvisioningRecord>(exported.output).size(), records.size());
  ShellResult followed;
  std::thread follower([&] {
    followed = CtlStdout(env, {"log", "--follow", "--json", "--limit=1", "--mailbox=" + ids[4]});
  });
  absl::SleepFor(absl::Seconds(1));
  ASSERT_OK(admin.UpdateMailbox(ids[4], {AdminClient::Set("extensionAttribute1", "v6")}).status());
  follower.join();
  EXPECT_EQ(followed.exit_code, 0);
  auto new_records = JsonLines<v1::ProvisioningRecord>(followed.output);
  ASSERT_THAT(new_records, SizeIs(1)) << followed.output;
  EXPECT_EQ(new_records[0].mailbox_id(), ids[4]);
  EXPECT_EQ(env.Ctl({"forest", "reconcile", WritebackEnv::kForest, "--wait"}).exit_code, 0);
  ExpectTable(env, {"drift"}, "TIME (UTC)");
  ExpectTable(env, {"drift", "--summary"}, "MAILBOX");
  JsonLines<v1::DriftRecord>(CtlStdout(env, {"drift", "--json"}).output);
  ExpectTable(env, {"audit"}, "TIME (UTC)", "PauseForest");
  auto audit = JsonLines<v1::AuditRecord>(
      CtlStdout(env, {"audit", "--json", "--method=PauseForest"}).output);
  ASSERT_THAT(audit, SizeIs(1));
  EXPECT_THAT(audit[0].arguments(), HasSubstr(WritebackEnv::kForest));

  // token create / list / revoke; ca; ca rotate (finish refused: exit 1).
  auto token = Json<v1::CreateJoinTokenResponse>(
      env, {"token", "create", std::string("--forest=") + WritebackEnv::kForest});
  EXPECT_FALSE(token.token().empty());
  ExpectTable(env, {"token", "list"}, "TOKEN_ID", token.info().token_id());
  EXPECT_THAT(Json<v1::ListJoinTokensResponse>(env, {"token", "list"}).tokens(), SizeIs(2));
  EXPECT_EQ(Json<v1::JoinToken>(env, {"token", "revoke", token.info().token_id()}).state(),
            "revoked");
  EXPECT_EQ(env.Ctl({"ca"}).exit_code, 0);
  v1::CertificateAuthority ca = Json<v1::CertificateAuthority>(env, {"ca", "show"});
  EXPECT_FALSE(ca.ShortDebugString().empty());
  Json<v1::CertificateAuthority>(env, {"ca", "rotate"});
  EXPECT_EQ(env.Ctl({"ca", "rotate", "--finish"}).exit_code, 1);

  // agent drain, agent revoke (last: the agent leaves).
  EXPECT_EQ(Json<v1::Agent>(env, {"agent", "drain", "agent-1"}).agent_id(), "agent-1");
  EXPECT_NE(Json<v1::Agent>(env, {"agent", "revoke", "agent-1", "--reason=test"}).revoked_ms(), 0);
}

}  // namespace
}  // namespace writeback::testing
