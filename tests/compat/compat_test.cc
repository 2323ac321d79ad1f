// Acceptance (issue 4, #5): for every fixture directory tests/compat/v*/
// (a store file and an agent session recorded by that version, see
// tests/compat/README.md), the current writeback-controller binary opens the
// store (running its schema migrations), shows through the Admin API what the
// old controller showed, and serves the recorded agent, replayed byte for
// byte where possible, to the same end. Loopback only; no DC: the agent side
// is the recording.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "controller/ctl/credentials.h"
#include "controller/store/schema.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/compat/compat_fixture.pb.h"
#include "tests/compat/replay_stream.h"
#include "tests/compat/session_replay.h"
#include "tests/compat/store_file.h"
#include "tests/harness/certs.h"
#include "tests/harness/process.h"
#include "tests/harness/session_recording.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = writeback::v1;
using compat::AdminView;
using compat::Expectation;
using google::protobuf::util::MessageDifferencer;

// Hang guards: generous bounds that only catch a stall.
constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kReplayTimeout = absl::Seconds(120);
// How long the controller may have nothing to do while mailboxes are not in
// their recorded end state before the test gives up.
constexpr absl::Duration kSettledTimeout = absl::Seconds(10);

std::vector<std::string> FixtureDirs() {
  std::vector<std::string> dirs;
  for (const auto& entry : fs::directory_iterator(WB_COMPAT_DIR)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.size() > 1 && name[0] == 'v') dirs.push_back(name);
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

struct Fixture {
  std::string dir;
  Expectation expected;
  std::vector<RecordedMessage> recording;
};

absl::StatusOr<Fixture> LoadFixture(const std::string& name) {
  Fixture f;
  f.dir = absl::StrCat(WB_COMPAT_DIR, "/", name);
  WB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(f.dir + "/expected.textpb"));
  if (!google::protobuf::TextFormat::ParseFromString(text, &f.expected)) {
    return absl::InvalidArgumentError(f.dir + "/expected.textpb does not parse");
  }
  WB_ASSIGN_OR_RETURN(std::string session, ReadFileToString(f.dir + "/agent_session.txt"));
  WB_ASSIGN_OR_RETURN(f.recording, ParseSession(session));
  for (const char* extra : {"/store.db-wal", "/store.db-shm"}) {
    if (fs::exists(f.dir + extra)) {
      return absl::FailedPreconditionError(
          absl::StrCat(f.dir, extra, " exists: a fixture store must be one file"));
    }
  }
  return f;
}

// writeback-controller on a store file, loopback ports chosen by the kernel.
struct Controller {
  std::unique_ptr<ChildProcess> process;
  std::string agent_address;
  std::unique_ptr<v1::AdminService::Stub> admin;

  static absl::StatusOr<Controller> Start(const std::string& dir, const std::string& certs,
                                          const std::string& store) {
    std::string ports = dir + "/ports";
    std::string config = absl::StrCat(
        "agent_listen: \"127.0.0.1:0\"\nadmin_listen: \"127.0.0.1:0\"\n",
        "metrics_listen: \"127.0.0.1:0\"\n", "store_path: \"", store,
        "\"\nports_file: \"", ports, "\"\n", "tls { cert_file: \"", certs,
        "/controller.pem\" key_file: \"", certs, "/controller.key\" ca_file: \"", certs,
        "/ca.pem\" }\n");
    WB_RETURN_IF_ERROR(WriteFileAtomically(dir + "/controller.conf", config));
    Controller c;
    WB_ASSIGN_OR_RETURN(c.process, ChildProcess::Spawn(WB_CONTROLLER_BIN,
                                                       {"--config=" + dir + "/controller.conf"},
                                                       dir + "/controller.log"));
    absl::Time deadline = absl::Now() + kStartTimeout;
    while (absl::Now() < deadline && c.process->running()) {
      auto text = ReadFileToString(ports);
      if (text.ok()) {
        std::map<std::string, int> port;
        for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
          std::pair<std::string, std::string> kv = absl::StrSplit(line, '=');
          (void)absl::SimpleAtoi(kv.second, &port[kv.first]);
        }
        c.agent_address = absl::StrCat("127.0.0.1:", port["agent"]);
        // As the local operator, whose token the controller's first start
        // wrote beside the store.
        ctl::CtlSettings admin;
        admin.controller = absl::StrCat("127.0.0.1:", port["admin"]);
        admin.token_file = (fs::path(store).parent_path() / "admin.token").string();
        WB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, ctl::OpenAdminChannel(admin));
        c.admin = v1::AdminService::NewStub(channel);
        return c;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::InternalError(absl::StrCat("the controller did not start on the fixture store: ",
                                            ReadFileToString(dir + "/controller.log").value_or("")));
  }
};

template <typename Request, typename Response, typename Method>
absl::Status Call(v1::AdminService::Stub& stub, Method method, const Request& request,
                  Response* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status s = (stub.*method)(&context, request, response);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("Admin API: ", s.error_message()));
  return absl::OkStatus();
}

absl::StatusOr<AdminView> ReadView(v1::AdminService::Stub& stub) {
  AdminView view;
  v1::ListForestsResponse forests;
  WB_RETURN_IF_ERROR(
      Call(stub, &v1::AdminService::Stub::ListForests, v1::ListForestsRequest(), &forests));
  *view.mutable_forests() = forests.forests();
  v1::ListMailboxesRequest mr;
  mr.set_limit(100000);
  v1::ListMailboxesResponse mailboxes;
  WB_RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::ListMailboxes, mr, &mailboxes));
  *view.mutable_mailboxes() = mailboxes.mailboxes();
  v1::ListProvisioningLogRequest lr;
  lr.set_limit(100000);
  v1::ListProvisioningLogResponse log;
  WB_RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::ListProvisioningLog, lr, &log));
  *view.mutable_log() = log.records();
  return view;
}

// Empty when equivalent (unset equals default; attribute values compared as
// sets, as the directory compares them); else the differences.
std::string Diff(const google::protobuf::Message& expected,
                 const google::protobuf::Message& actual) {
  std::string report;
  MessageDifferencer d;
  d.set_message_field_comparison(MessageDifferencer::EQUIVALENT);
  d.TreatAsSet(v1::AttributeValues::descriptor()->FindFieldByName("values"));
  d.ReportDifferencesToString(&report);
  return d.Compare(expected, actual) ? "" : report;
}

// Compares two lists keyed by `key`; every difference is one failure.
template <typename T, typename Key>
void ExpectSameByKey(const std::string& what, const google::protobuf::RepeatedPtrField<T>& expected,
                     const google::protobuf::RepeatedPtrField<T>& actual, Key key) {
  std::map<std::string, const T*> want, got;
  for (const T& e : expected) want[key(e)] = &e;
  for (const T& a : actual) got[key(a)] = &a;
  for (const auto& [k, e] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      ADD_FAILURE() << what << " " << k << " is missing; expected " << e->ShortDebugString();
      continue;
    }
    std::string diff = Diff(*e, *it->second);
    EXPECT_TRUE(diff.empty()) << what << " " << k << " differs (expected -> now):\n" << diff;
  }
  for (const auto& [k, a] : got) {
    EXPECT_TRUE(want.count(k)) << what << " " << k << " is not expected: " << a->ShortDebugString();
  }
}

// True when the controller has nothing left to do: no mailbox waits for an
// agent, is out with one, or waits for a retry.
bool Settled(const AdminView& view) {
  for (const auto& m : view.mailboxes()) {
    if (m.status() == v1::PENDING || m.status() == v1::IN_FLIGHT ||
        m.status() == v1::RETRY_WAIT) {
      return false;
    }
  }
  return true;
}

// Mailboxes whose status or generations differ from `after`, one line each.
std::vector<std::string> AfterDifferences(const AdminView& after, const AdminView& now) {
  std::map<std::string, const v1::Mailbox*> got;
  for (const auto& m : now.mailboxes()) got[m.cloud_id()] = &m;
  std::vector<std::string> out;
  for (const auto& want : after.mailboxes()) {
    auto it = got.find(want.cloud_id());
    if (it == got.end()) {
      out.push_back(absl::StrCat(want.cloud_id(), ": missing"));
      continue;
    }
    const v1::Mailbox& m = *it->second;
    if (m.status() != want.status() || m.desired_gen() != want.desired_gen() ||
        m.applied_gen() != want.applied_gen()) {
      out.push_back(absl::StrCat(
          want.cloud_id(), ": expected ", v1::MailboxStatus_Name(want.status()), " gen ",
          want.applied_gen(), "/", want.desired_gen(), ", now ", v1::MailboxStatus_Name(m.status()),
          " gen ", m.applied_gen(), "/", m.desired_gen(),
          m.last_error().empty() ? "" : " (last_error: " + m.last_error() + ")"));
    }
  }
  return out;
}

int AgentNumber(const std::string& agent_id) {
  int n = 0;
  if (!absl::StartsWith(agent_id, "agent-") || !absl::SimpleAtoi(agent_id.substr(6), &n)) return 0;
  return n;
}

class CompatTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wb-compat.XXXXXX";
    work_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (getenv("WB_KEEP_DC_DIR") == nullptr) fs::remove_all(work_);
  }
  std::string work_;
};

TEST(CompatFixturesTest, TheFirstVersionIsKept) {
  std::vector<std::string> dirs = FixtureDirs();
  EXPECT_THAT(dirs, ::testing::Contains("v1")) << "fixtures are never removed";
}

TEST_P(CompatTest, ControllerOpensTheStoreAndServesTheRecordedAgent) {
  absl::StatusOr<Fixture> fixture = LoadFixture(GetParam());
  ASSERT_OK(fixture.status());
  const Expectation& expected = fixture->expected;
  const std::string store = work_ + "/store.db";
  fs::copy_file(fixture->dir + "/store.db", store);
  absl::StatusOr<int> written_by = StoreFileSchemaVersion(store);
  ASSERT_OK(written_by.status());
  EXPECT_EQ(*written_by, static_cast<int>(expected.schema_version()))
      << "store.db's schema version disagrees with expected.textpb";

  // The agents rows (not shown by the Admin API), read through this build's
  // Store on a second copy.
  {
    fs::copy_file(fixture->dir + "/store.db", work_ + "/agents.db");
    auto direct = controller::SqliteStore::Open(work_ + "/agents.db");
    ASSERT_OK(direct.status());
    auto agents = (*direct)->ListAgents("");
    ASSERT_OK(agents.status());
    google::protobuf::RepeatedPtrField<compat::StoredAgent> actual;
    for (const auto& a : *agents) {
      auto* out = actual.Add();
      out->set_agent_id(a.agent_id);
      out->set_forest(a.forest);
      out->set_version(a.version);
      out->set_state(a.state);
      out->set_last_seen_ms(a.last_seen_ms);
    }
    ExpectSameByKey("agents row", expected.agents(), actual,
                    [](const compat::StoredAgent& a) { return a.agent_id(); });
  }

  // The recorded agent's identity, in a fresh test PKI.
  const int agent_number = AgentNumber(expected.agent_id());
  ASSERT_GT(agent_number, 0) << "recorded agent id " << expected.agent_id()
                             << " is not agent-N, the only identities the test PKI makes";
  absl::StatusOr<std::string> certs =
      MakeTestCerts(work_ + "/certs", expected.forest(), agent_number);
  ASSERT_OK(certs.status());

  absl::StatusOr<Controller> controller = Controller::Start(work_, *certs, store);
  ASSERT_OK(controller.status());
  v1::AdminService::Stub& admin = *controller->admin;

  // Before: what the old controller showed on this store.
  absl::StatusOr<AdminView> before = ReadView(admin);
  ASSERT_OK(before.status());
  ExpectSameByKey("forest", expected.before().forests(), before->forests(),
                  [](const v1::Forest& f) { return f.name(); });
  ExpectSameByKey("mailbox", expected.before().mailboxes(), before->mailboxes(),
                  [](const v1::Mailbox& m) { return m.cloud_id(); });
  ExpectSameByKey("provisioning log record", expected.before().log(), before->log(),
                  [](const v1::ProvisioningRecord& r) { return absl::StrCat(r.id()); });
  EXPECT_EQ(before->log_size(), expected.before().log_size());

  // The session: the recorded Hello as it was, then answers from the recording.
  absl::StatusOr<SessionReplay> replay = SessionReplay::Create(fixture->recording, *before);
  ASSERT_OK(replay.status());
  auto stream = ReplayStream::Open(controller->agent_address, *certs, expected.agent_id());
  ASSERT_OK(stream.status());
  (*stream)->Start(replay->hello_bytes());
  v1::ControllerMessage first;
  {
    absl::StatusOr<std::optional<std::string>> next = (*stream)->Next(kStartTimeout);
    ASSERT_OK(next.status());
    ASSERT_TRUE(next->has_value()) << "no Welcome within " << kStartTimeout;
    ASSERT_TRUE(first.ParseFromString(**next) && first.has_welcome())
        << "the first message is not a Welcome: " << first.ShortDebugString();
  }
  EXPECT_EQ(first.welcome().protocol_version(), replay->hello().protocol_version())
      << "the controller must speak the recorded agent's protocol version";
  EXPECT_EQ(first.welcome().forest(), replay->recorded_welcome().forest());
  EXPECT_EQ(first.welcome().agent_id(), replay->recorded_welcome().agent_id());
  const absl::Duration heartbeat =
      absl::Milliseconds(std::max<uint32_t>(100, first.welcome().heartbeat_interval_ms()));

  absl::Time start = absl::Now();
  absl::Time next_heartbeat = start, next_poll = start;
  absl::Time settled_since = absl::InfiniteFuture();
  uint64_t sequence = 0;
  std::vector<std::string> differences = {"not checked yet"};
  while (!differences.empty()) {
    absl::StatusOr<std::optional<std::string>> next = (*stream)->Next(absl::Milliseconds(50));
    ASSERT_OK(next.status());
    if (next->has_value()) {
      v1::ControllerMessage message;
      ASSERT_TRUE(message.ParseFromString(**next)) << "a controller message does not parse";
      absl::StatusOr<std::vector<v1::AgentMessage>> answers = replay->Answer(message);
      ASSERT_OK(answers.status());
      for (const auto& a : *answers) (*stream)->Send(a.SerializeAsString());
      continue;
    }
    absl::Time now = absl::Now();
    if (now >= next_heartbeat) {
      v1::AgentMessage hb;
      hb.mutable_heartbeat()->set_sequence(++sequence);
      (*stream)->Send(hb.SerializeAsString());
      next_heartbeat = now + heartbeat;
    }
    if (now >= next_poll) {
      absl::StatusOr<AdminView> view = ReadView(admin);
      ASSERT_OK(view.status());
      differences = AfterDifferences(expected.after(), *view);
      next_poll = now + absl::Milliseconds(250);
      if (!Settled(*view)) settled_since = absl::InfiniteFuture();
      else if (settled_since == absl::InfiniteFuture()) settled_since = now;
    }
    // Settled elsewhere (nothing pending for a while), or a hang guard.
    ASSERT_TRUE(now - settled_since < kSettledTimeout && now - start < kReplayTimeout)
        << "after " << absl::FormatDuration(now - start)
        << ", mailboxes not in their recorded end state:\n  " << absl::StrJoin(differences, "\n  ")
        << "\ncontroller log:\n"
        << ReadFileToString(work_ + "/controller.log").value_or("");
  }
  std::cout << "replayed in " << absl::FormatDuration(absl::Now() - start) << ": "
            << replay->answered_jobs().size() << " jobs, " << replay->answered_reads().size()
            << " reads, " << replay->answered_scans().size() << " scans answered" << std::endl;
  for (const auto& s : replay->synthesized()) std::cout << "  synthesized: " << s << std::endl;
  for (const auto& u : replay->Unused()) std::cout << "  not asked for: " << u << std::endl;
  ASSERT_OK((*stream)->Close(absl::Seconds(10)));

  // Every replayed job, read and scan has its log record, by the recorded
  // agent (a scan's record carries the scan id as job_id).
  v1::ListProvisioningLogRequest lr;
  lr.set_agent_id(expected.agent_id());
  lr.set_limit(100000);
  v1::ListProvisioningLogResponse log;
  ASSERT_OK(Call(admin, &v1::AdminService::Stub::ListProvisioningLog, lr, &log));
  std::set<std::string> logged;
  for (const auto& r : log.records()) logged.insert(r.job_id());
  for (const auto* ids :
       {&replay->answered_jobs(), &replay->answered_reads(), &replay->answered_scans()}) {
    for (const std::string& id : *ids) {
      EXPECT_TRUE(logged.count(id)) << "no provisioning log record of " << id << " by agent "
                                    << expected.agent_id();
    }
  }
  EXPECT_FALSE(replay->answered_jobs().empty()) << "the controller sent no job at all";

  // A clean stop leaves the store migrated to this build's schema.
  ASSERT_OK(controller->process->Signal(SIGTERM));
  absl::StatusOr<ExitStatus> exit = controller->process->WaitExit(absl::Seconds(30));
  ASSERT_OK(exit.status());
  EXPECT_TRUE(exit->ok()) << "controller ended with " << exit->ToString();
  absl::StatusOr<int> migrated = StoreFileSchemaVersion(store);
  ASSERT_OK(migrated.status());
  EXPECT_EQ(*migrated, controller::LatestSchemaVersion());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CompatTest, ::testing::ValuesIn(FixtureDirs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace writeback::testing
