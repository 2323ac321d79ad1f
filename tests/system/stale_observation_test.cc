// Acceptance of DESIGN §6 "an observation never overrides newer knowledge",
// for real: the agent's stream runs through a RecordingProxy that holds back
// its ScanPage messages. A pass reads the object (gen-1); before its page
// reaches the controller, a cloud change (gen-2) is applied and
// acknowledged; only then is the old page let through. It must be ignored:
// no drift record, no correction job (the DC's audit log shows exactly one
// modify since the pass: the cloud change), the mailbox stays IN_SYNC with
// gen-2.
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/recording_proxy.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAttr[] = "extensionAttribute1";

// The "scan" provisioning record of `scan_id` (hang guard one minute).
absl::StatusOr<v1::ProvisioningRecord> WaitPassEnded(AdminClient& admin,
                                                     const std::string& scan_id) {
  absl::Time give_up = absl::Now() + absl::Minutes(1);
  while (absl::Now() < give_up) {
    v1::ListProvisioningLogRequest scans;
    scans.set_kind("scan");
    auto log = admin.ProvisioningLog(scans);
    if (!log.ok()) return log.status();
    for (const auto& r : *log) {
      if (r.job_id() == scan_id || (scan_id.empty() && !r.job_id().empty())) return r;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(absl::StrCat("pass ", scan_id, " never ended"));
}

TEST(StaleObservationTest, APageReadBeforeANewerAcknowledgementIsIgnored) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(1);
  ASSERT_OK(users);
  const std::string dn = (*users)[0].dn;
  auto account = env.dc().AddAdminAccount("wb-agent");
  ASSERT_OK(account);
  env.set_controller_config("reconcile_interval_s: 0\nconflict_corrections: 3\n");
  ASSERT_OK(env.StartController());

  std::atomic<bool> holding{false};
  RecordingProxy::Options options;
  options.cert_dir = env.cert_dir();
  options.upstream = absl::StrCat("127.0.0.1:", env.agent_port());
  options.upstream_agent = "agent-1";
  options.hold_from_agent = [&holding](const std::string& bytes) {
    v1::AgentMessage m;
    return holding.load() && m.ParseFromString(bytes) && m.has_scan_page();
  };
  auto proxy = RecordingProxy::Start(options);
  ASSERT_OK(proxy);
  WritebackEnv::AgentOptions agent;
  agent.bind_dn = account->dn;
  agent.password_file = account->password_file;
  agent.controller = (*proxy)->address();
  ASSERT_OK(env.StartAgent(1, agent));
  auto ids = env.AddMailboxes(*users);
  ASSERT_OK(ids);
  const std::string id = (*ids)[0];
  ASSERT_OK(env.Admin().UpdateMailbox(id, {AdminClient::Set(kAttr, "gen-1")}));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();
  ASSERT_OK(WaitPassEnded(env.Admin(), ""));  // the pass on connect

  // A pass reads gen-1; its pages are held back.
  holding = true;
  v1::ReconcileForestRequest request;
  request.set_forest(WritebackEnv::kForest);
  request.set_full(true);
  v1::ReconcileForestResponse started;
  {
    grpc::ClientContext context;
    grpc::Status s = env.Admin().stub().ReconcileForest(&context, request, &started);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  bool last_held = false;
  for (absl::Time give_up = absl::Now() + absl::Minutes(1); !last_held && absl::Now() < give_up;
       absl::SleepFor(absl::Milliseconds(100))) {
    for (const std::string& bytes : (*proxy)->Held()) {
      v1::AgentMessage m;
      ASSERT_TRUE(m.ParseFromString(bytes));
      if (m.scan_page().scan_id() == started.scan_id() && m.scan_page().last()) last_held = true;
    }
  }
  ASSERT_TRUE(last_held) << "the agent never finished the pass\n" << env.LogsForFailure();
  bool saw_gen1 = false;
  for (const std::string& bytes : (*proxy)->Held()) {
    v1::AgentMessage m;
    ASSERT_TRUE(m.ParseFromString(bytes));
    for (const auto& o : m.scan_page().objects()) {
      auto it = o.attributes().attributes().find(kAttr);
      if (it != o.attributes().attributes().end() && it->second.values_size() == 1 &&
          it->second.values(0) == "gen-1") {
        saw_gen1 = true;
      }
    }
  }
  ASSERT_TRUE(saw_gen1) << "the held page must carry the old value";

  // Meanwhile the cloud changes the mailbox; the change is applied and
  // acknowledged (the acknowledgement passes the proxy).
  auto mark = env.dc().AuditEvents();
  ASSERT_OK(mark);
  ASSERT_OK(env.Admin().UpdateMailbox(id, {AdminClient::Set(kAttr, "gen-2")}));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  // Now the old observation arrives.
  (*proxy)->ReleaseHeld();
  auto ended = WaitPassEnded(env.Admin(), started.scan_id());
  ASSERT_OK(ended);
  EXPECT_THAT(ended->diagnostic(), HasSubstr("drift=0"));
  EXPECT_THAT(ended->diagnostic(), HasSubstr("ignored_stale=1"));
  absl::SleepFor(absl::Seconds(2));  // time for a wrong correction to be placed

  v1::ListDriftRequest list;
  v1::ListDriftResponse drift;
  grpc::ClientContext context;
  ASSERT_TRUE(env.Admin().stub().ListDrift(&context, list, &drift).ok());
  EXPECT_EQ(drift.records_size(), 0) << drift.DebugString();
  auto m = env.Admin().GetMailbox(id);
  ASSERT_OK(m);
  EXPECT_EQ(m->status(), v1::IN_SYNC);
  EXPECT_EQ(m->applied_gen(), m->desired_gen());
  EXPECT_THAT(m->last_known().attributes().at(kAttr).values(), ElementsAre("gen-2"));

  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  std::vector<std::string> writes;
  for (size_t i = mark->size(); i < events->size(); ++i) {
    const AuditEvent& e = (*events)[i];
    if (e.operation != "Modify" || e.performed_as_system || !absl::EqualsIgnoreCase(e.dn, dn)) {
      continue;
    }
    std::string written;
    if (WrittenValue(e, kAttr, &written)) writes.push_back(written);
  }
  EXPECT_THAT(writes, ElementsAre("gen-2")) << "exactly one modify: the cloud change";
  auto attrs = env.dc().Read(dn, {kAttr});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)[kAttr], ElementsAre("gen-2"));
}

}  // namespace
}  // namespace writeback::testing
