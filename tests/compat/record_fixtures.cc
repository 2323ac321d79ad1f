// Writes the compat fixtures of this build's store schema and agent protocol
// version (tests/compat/README.md) with the real binaries: a Samba AD DC, the
// controller, agent-1 and writebackctl (WritebackEnv). Run it through
// tests/compat/record.sh, which builds it and runs it in its own network
// namespace:
//
//   tests/compat/record.sh tests/compat/v2
//
// Phase 1: eight mailboxes: six are registered, changed and synced by agent-1
//   connected directly; a seventh, whose anchor matches nothing in AD, ends
//   in a permanent state after its onboarding read (QUARANTINED up to
//   protocol 1, OBJECT_NOT_FOUND since protocol 2).
// Phase 2 (no agent connected): cloud edits of some mailboxes (one of them
//   twice, so generations coalesce; one of them quarantined, so the change is
//   held), a dual writer changes two objects in AD (one to exactly the cloud's
//   new value), two new mailboxes are registered and edited but never read.
//   The controller is stopped with SIGTERM and its store file copied to
//   OUT_DIR/store.db; no -wal file may be left.
// Phase 3: the controller is started on a copy of OUT_DIR/store.db, its Admin
//   API is read ("before"), and agent-1 connects through a RecordingProxy and
//   carries out the pending work: reads, plain jobs, a coalesced job, a
//   conflict and its retry, an ALREADY_IN_STATE. The session is written to
//   OUT_DIR/agent_session.txt and the Admin API read again ("after").
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/anchor.h"
#include "common/protocol.h"
#include "controller/store/schema.h"
#include "controller/store/sqlite_store.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "tests/compat/compat_fixture.pb.h"
#include "tests/compat/store_file.h"
#include "tests/harness/process.h"
#include "tests/harness/recording_proxy.h"
#include "tests/system/writeback_env.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;
using compat::AdminView;
using compat::Expectation;

constexpr char kAgent[] = "agent-1";
constexpr char kDomain[] = "@corp.example.test";
// An anchor that no object of the test DC has.
constexpr char kOrphanAnchor[] = "0badc0de-0000-4000-8000-00000000dead";

absl::Status Check(bool ok, const std::string& what) {
  return ok ? absl::OkStatus() : absl::InternalError(what);
}

absl::Status Ctl(WritebackEnv& env, const std::vector<std::string>& args) {
  CtlResult r = env.Ctl(args);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("writebackctl ", absl::StrJoin(args, " "),
                                            " failed (exit ", r.exit_code, "): ", r.output));
  }
  return absl::OkStatus();
}

template <typename Message>
absl::Status ParseJson(const std::string& json, Message* out) {
  auto s = google::protobuf::util::JsonStringToMessage(json, out);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("cannot parse writebackctl --json output: ",
                                            s.ToString(), ": ", json.substr(0, 300)));
  }
  return absl::OkStatus();
}

// What the Admin API shows, read with `writebackctl --json`.
absl::StatusOr<AdminView> ReadAdminView(WritebackEnv& env) {
  AdminView view;
  CtlResult forests = env.Ctl({"--json", "forest", "list"});
  WB_RETURN_IF_ERROR(Check(forests.exit_code == 0, "forest list: " + forests.output));
  v1::ListForestsResponse fr;
  WB_RETURN_IF_ERROR(ParseJson(forests.output, &fr));
  *view.mutable_forests() = fr.forests();
  CtlResult mailboxes = env.Ctl({"--json", "mailbox", "list", "--limit=100000"});
  WB_RETURN_IF_ERROR(Check(mailboxes.exit_code == 0, "mailbox list: " + mailboxes.output));
  v1::ListMailboxesResponse mr;
  WB_RETURN_IF_ERROR(ParseJson(mailboxes.output, &mr));
  *view.mutable_mailboxes() = mr.mailboxes();
  CtlResult log = env.Ctl({"--json", "log", "--limit=100000"});
  WB_RETURN_IF_ERROR(Check(log.exit_code == 0, "log: " + log.output));
  for (absl::string_view line : absl::StrSplit(log.output, '\n', absl::SkipWhitespace())) {
    WB_RETURN_IF_ERROR(ParseJson(std::string(line), view.add_log()));
  }
  return view;
}

absl::StatusOr<v1::Mailbox> GetMailbox(WritebackEnv& env, const std::string& id) {
  CtlResult r = env.Ctl({"--json", "mailbox", "get", id});
  WB_RETURN_IF_ERROR(Check(r.exit_code == 0, "mailbox get: " + r.output));
  v1::Mailbox m;
  WB_RETURN_IF_ERROR(ParseJson(r.output, &m));
  return m;
}

// `mailbox wait` with a bound below writebackctl's own hang guard.
absl::Status WaitInSync(WritebackEnv& env, const std::vector<std::string>& ids) {
  std::vector<std::string> args = {"mailbox", "wait", "--timeout_s=50"};
  args.insert(args.end(), ids.begin(), ids.end());
  absl::Status s = Ctl(env, args);
  if (!s.ok()) return absl::InternalError(absl::StrCat(s.message(), "\n", env.LogsForFailure()));
  return s;
}

// Waits until `id` is in one of `statuses`.
absl::Status WaitForStatus(WritebackEnv& env, const std::string& id,
                           std::vector<v1::MailboxStatus> statuses) {
  absl::Time deadline = absl::Now() + absl::Seconds(60);  // hang guard
  while (true) {
    WB_ASSIGN_OR_RETURN(v1::Mailbox m, GetMailbox(env, id));
    for (v1::MailboxStatus status : statuses) {
      if (m.status() == status) return absl::OkStatus();
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("mailbox ", id, " is ",
                                                      v1::MailboxStatus_Name(m.status()),
                                                      ", not ",
                                                      v1::MailboxStatus_Name(statuses[0])));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::Status WaitNoAgentConnected(WritebackEnv& env) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);  // hang guard
  while (true) {
    WB_ASSIGN_OR_RETURN(AdminView view, ReadAdminView(env));
    bool any = false;
    for (const auto& f : view.forests()) any |= f.connected_agents() > 0;
    if (!any) return absl::OkStatus();
    if (absl::Now() > deadline) return absl::DeadlineExceededError("agent still connected");
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::Status StopWithSigterm(ChildProcess& process, const std::string& what) {
  WB_RETURN_IF_ERROR(process.Signal(SIGTERM));
  WB_ASSIGN_OR_RETURN(ExitStatus st, process.WaitExit(absl::Seconds(30)));  // hang guard
  return Check(st.ok(), absl::StrCat(what, " ended with ", st.ToString(), " on SIGTERM"));
}

// agent-N bound to the DC, dialing `controller` (WritebackEnv::StartAgent
// dials the controller itself).
absl::StatusOr<std::unique_ptr<ChildProcess>> StartAgentVia(WritebackEnv& env, int n,
                                                            const std::string& controller) {
  const std::string& certs = env.cert_dir();
  std::string config = absl::StrCat(
      "controller: \"", controller, "\"\n",
      "tls { cert_file: \"", certs, "/agent-", n, ".pem\" key_file: \"", certs, "/agent-", n,
      ".key\" ca_file: \"", certs, "/ca.pem\" }\n",
      "ldap { urls: \"", env.dc().url(), "\" ca_file: \"", env.dc().ca_file(), "\" bind_dn: \"",
      env.dc().admin_dn(), "\" password_file: \"", env.dc().admin_password_file(), "\" }\n",
      "scope_ous: \"", env.ScopeOu(), "\"\n",
      "reconnect_initial_ms: 200\nreconnect_max_ms: 2000\nmetrics_listen: \"127.0.0.1:0\"\n");
  std::string path = absl::StrCat(env.work_dir(), "/agent-", n, "-proxied.conf");
  WB_RETURN_IF_ERROR(WriteFileAtomically(path, config));
  return ChildProcess::Spawn(WB_AGENT_BIN, {"--config=" + path},
                             absl::StrCat(env.work_dir(), "/agent-", n, "-proxied.log"));
}

absl::Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  return Check(!ec, absl::StrCat("copying ", from, " to ", to, ": ", ec.message()));
}

// The agents rows of the store file at `path`, read from a copy (opening
// migrates, and the fixture must stay as the controller left it).
absl::StatusOr<std::vector<controller::AgentRecord>> StoredAgents(const std::string& path,
                                                                  const std::string& scratch) {
  WB_RETURN_IF_ERROR(CopyFile(path, scratch));
  WB_ASSIGN_OR_RETURN(auto store, controller::SqliteStore::Open(scratch));
  return store->ListAgents("");
}

absl::Status Record(const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  Expectation expectation;
  auto& notes = *expectation.mutable_notes();
  WritebackEnv env;
  WB_RETURN_IF_ERROR(env.StartDc());
  WB_ASSIGN_OR_RETURN(std::vector<SambaDc::User> users, env.dc().AddUsers(8));

  // Phase 1: agent-1 connected directly.
  WB_RETURN_IF_ERROR(env.StartController());
  WB_RETURN_IF_ERROR(env.StartAgent(1));
  std::vector<SambaDc::User> first(users.begin(), users.begin() + 6);
  WB_ASSIGN_OR_RETURN(std::vector<std::string> ids, env.RegisterMailboxes(first));
  for (int i = 0; i < 6; ++i) {
    const std::string& sam = users[i].sam;
    std::vector<std::string> edit = {
        "mailbox", "set", ids[i],
        absl::StrCat("proxyAddresses:=SMTP:", sam, ".g1", kDomain),
        absl::StrCat("proxyAddresses:=smtp:", sam, kDomain),
        absl::StrCat("mail=", sam, ".g1", kDomain),
        absl::StrCat("extensionAttribute1=g1-", i + 1)};
    if (i % 2 == 1) edit.push_back("msExchRecipientTypeDetails=2147483648");
    WB_RETURN_IF_ERROR(Ctl(env, edit));
  }
  const std::string orphan = WritebackEnv::CloudId(9);
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "add", orphan,
                               absl::StrCat("--forest=", WritebackEnv::kForest),
                               absl::StrCat("--anchor=", kOrphanAnchor)}));
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", orphan, "extensionAttribute1=g1-orphan"}));
  WB_RETURN_IF_ERROR(WaitInSync(env, ids));
  WB_RETURN_IF_ERROR(WaitForStatus(env, orphan, {v1::QUARANTINED, v1::OBJECT_NOT_FOUND}));
  WB_RETURN_IF_ERROR(StopWithSigterm(env.agent(1), "agent-1"));
  WB_RETURN_IF_ERROR(WaitNoAgentConnected(env));

  // Phase 2: the cloud and a dual writer change things while no agent is
  // connected.
  const auto& u = users;
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", ids[0], "extensionAttribute1=g2-1",
                               absl::StrCat("proxyAddresses+=smtp:", u[0].sam, ".g2", kDomain)}));
  notes[ids[0]] = "phase 2: edited (one generation pending)";
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", ids[1], "extensionAttribute1=g2-2"}));
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", ids[1], "extensionAttribute3=g3-2"}));
  notes[ids[1]] = "phase 2: edited twice (two generations coalesce into one job)";
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", ids[2], "extensionAttribute1=g2-3"}));
  WB_RETURN_IF_ERROR(env.dc().Modify(u[2].dn, {{"extensionAttribute1", {"onprem-3"}}}));
  notes[ids[2]] =
      "phase 2: edited; a dual writer set extensionAttribute1=onprem-3 in AD (CONFLICT, retry)";
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", ids[3], "extensionAttribute2=g2-4"}));
  WB_RETURN_IF_ERROR(env.dc().Modify(u[3].dn, {{"extensionAttribute2", {"g2-4"}}}));
  notes[ids[3]] =
      "phase 2: edited; a dual writer wrote the same value in AD (ALREADY_IN_STATE)";
  notes[ids[4]] = "phase 1 only: in sync";
  notes[ids[5]] = "phase 1 only: in sync";
  WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "set", orphan, "extensionAttribute1=g2-orphan"}));
  notes[orphan] =
      "anchor matches nothing in AD: a permanent state after its onboarding read in phase 1; "
      "edited in phase 2 (held)";
  for (int i = 6; i < 8; ++i) {
    std::string id = WritebackEnv::CloudId(i + 1);
    WB_RETURN_IF_ERROR(Ctl(env, {"mailbox", "add", id,
                                 absl::StrCat("--forest=", WritebackEnv::kForest),
                                 "--anchor=" + AnchorToGuidString(u[i].object_guid)}));
    std::vector<std::string> edit = {"mailbox", "set", id,
                                     absl::StrCat("extensionAttribute1=g1-", i + 1)};
    if (i == 7) {
      edit.push_back(absl::StrCat("proxyAddresses:=SMTP:", u[i].sam, kDomain));
      edit.push_back(absl::StrCat("proxyAddresses:=sip:", u[i].sam, kDomain));
    }
    WB_RETURN_IF_ERROR(Ctl(env, edit));
    notes[id] = "phase 2: registered and edited, never read";
    ids.push_back(id);
  }

  // The store file, as a clean stop leaves it.
  WB_RETURN_IF_ERROR(StopWithSigterm(env.controller(), "writeback-controller"));
  const std::string store = env.store_path();
  struct stat st;
  if (::stat((store + "-wal").c_str(), &st) == 0 && st.st_size > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the controller left ", store, "-wal (", st.st_size,
        " bytes) after a clean stop: store.db alone would miss committed changes"));
  }
  const std::string fixture_store = out_dir + "/store.db";
  WB_RETURN_IF_ERROR(CopyFile(store, fixture_store));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store + suffix);
  WB_RETURN_IF_ERROR(CopyFile(fixture_store, store));  // phase 3 runs on the fixture's bytes
  WB_ASSIGN_OR_RETURN(int schema, StoreFileSchemaVersion(fixture_store));
  expectation.set_schema_version(schema);
  WB_ASSIGN_OR_RETURN(auto agents, StoredAgents(fixture_store, env.work_dir() + "/agents.db"));
  for (const auto& a : agents) {
    auto* out = expectation.add_agents();
    out->set_agent_id(a.agent_id);
    out->set_forest(a.forest);
    out->set_version(a.version);
    out->set_state(a.state);
    out->set_last_seen_ms(a.last_seen_ms);
  }

  // Phase 3: the controller on the fixture store; agent-1 through the proxy.
  WB_RETURN_IF_ERROR(env.StartController());
  WB_ASSIGN_OR_RETURN(*expectation.mutable_before(), ReadAdminView(env));
  RecordingProxy::Options proxy_options;
  proxy_options.cert_dir = env.cert_dir();
  proxy_options.upstream = absl::StrCat("127.0.0.1:", env.agent_port());
  proxy_options.upstream_agent = kAgent;
  WB_ASSIGN_OR_RETURN(auto proxy, RecordingProxy::Start(proxy_options));
  WB_ASSIGN_OR_RETURN(auto agent, StartAgentVia(env, 1, proxy->address()));
  WB_RETURN_IF_ERROR(WaitInSync(env, ids));
  absl::SleepFor(absl::Seconds(2));  // a few heartbeats both ways
  WB_RETURN_IF_ERROR(StopWithSigterm(*agent, "agent-1 (proxied)"));
  WB_RETURN_IF_ERROR(proxy->WaitForStreamsDone(absl::Seconds(30)));
  WB_RETURN_IF_ERROR(WaitNoAgentConnected(env));
  AdminView after;
  WB_ASSIGN_OR_RETURN(after, ReadAdminView(env));
  *expectation.mutable_after()->mutable_mailboxes() = after.mailboxes();
  WB_RETURN_IF_ERROR(StopWithSigterm(env.controller(), "writeback-controller"));

  std::vector<RecordingProxy::StreamRecord> streams = proxy->Streams();
  WB_RETURN_IF_ERROR(Check(streams.size() == 1,
                           absl::StrCat("phase 3 needs exactly one agent stream, the proxy saw ",
                                        streams.size(), "\n", env.LogsForFailure())));
  const RecordingProxy::StreamRecord& session = streams[0];
  WB_RETURN_IF_ERROR(Check(!session.messages.empty() &&
                               session.messages[0].direction == Direction::kAgentToController,
                           "the recorded stream does not start with the agent's Hello"));
  v1::AgentMessage hello;
  WB_RETURN_IF_ERROR(Check(hello.ParseFromString(session.messages[0].bytes) && hello.has_hello(),
                           "the first recorded message is not a Hello"));
  expectation.set_protocol_version(hello.hello().protocol_version());
  expectation.set_writer_version(BuildVersion());
  expectation.set_agent_id(session.agent_id);
  expectation.set_forest(session.forest);

  std::vector<std::string> header = {
      "writeback agent session recording: format in tests/harness/session_recording.h,",
      "how it was made in tests/compat/README.md. The base64 is the record; the text",
      "form in each comment is for reviewers.",
      absl::StrCat("agent ", session.agent_id, " of forest ", session.forest, "; writer ",
                   BuildVersion(), ", agent protocol ", hello.hello().protocol_version(),
                   ", store schema ", schema),
      absl::StrCat("stream ended by the agent (SIGTERM); controller status ",
                   session.status_code, " ", session.status_message)};
  WB_RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/agent_session.txt",
                                         FormatSession(session.messages, header)));
  std::string text;
  google::protobuf::TextFormat::PrintToString(expectation, &text);
  WB_RETURN_IF_ERROR(WriteFileAtomically(
      out_dir + "/expected.textpb",
      absl::StrCat("# proto-file: tests/compat/compat_fixture.proto\n",
                   "# proto-message: writeback.compat.Expectation\n", text)));
  std::cout << "wrote " << out_dir << "/{store.db,agent_session.txt,expected.textpb}: "
            << session.messages.size() << " messages recorded, schema " << schema
            << ", protocol " << hello.hello().protocol_version() << std::endl;
  return absl::OkStatus();
}

}  // namespace
}  // namespace writeback::testing

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " OUT_DIR  (run through tests/compat/record.sh)\n";
    return 2;
  }
  absl::Status s = writeback::testing::Record(argv[1]);
  if (!s.ok()) {
    std::cerr << "record_fixtures: " << s << std::endl;
    return 1;
  }
  return 0;
}
