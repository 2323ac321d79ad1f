// The stream part of the bad-input corpus (tests/corpus/README.md): hostile
// agents holding valid agent certificates of the test PKI (agent-2, agent-3)
// speak the real protocol over mutual TLS and send malformed, out-of-order,
// oversized or forged messages while the real agent-1 serves the forest.
// Each hostile stream is either ended with a clear status or its message is
// refused with a warning in the controller's log while the session goes on
// (heartbeats still echoed), as agent_session.cc and dispatcher.cc decide.
// Nothing a hostile stream sends changes a mailbox or reaches AD: the last
// test makes a change, sees agent-1 carry it to AD (LDAP read), and finds in
// the DC's audit log only the writes of the test's own valid changes.
//
// The mailboxes are those whose rendezvous owner among agent-1..agent-3 is
// agent-1, so no job is ever placed on a hostile session.
#include "tests/system/hostile_stream.h"

#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/files.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;
using v1::AgentMessage;

class HostileStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new WritebackEnv;
    // A long lease: agent-1 is stopped (SIGSTOP) for a moment with a job out.
    env_->set_controller_config("lease_ms: 20000\n");
    ASSERT_OK(env_->StartDc());
    // Each user's owner is a hash of its random objectGUID: a third land on
    // agent-1, and 12 users hold fewer than two of them 5% of the time. Add
    // batches of 12 until two are agent-1's (60 users fail 1 in 10^9).
    users_ = new std::vector<SambaDc::User>;
    for (int batch = 0; batch < 5 && users_->size() < 2; ++batch) {
      auto all = env_->dc().AddUsers(12, absl::StrCat("hostile", batch, "-"));
      ASSERT_OK(all);
      for (const auto& u : *all) {
        uint64_t mine = controller::RendezvousScore(u.object_guid, "agent-1");
        if (mine > controller::RendezvousScore(u.object_guid, "agent-2") &&
            mine > controller::RendezvousScore(u.object_guid, "agent-3")) {
          users_->push_back(u);
        }
      }
    }
    ASSERT_GE(users_->size(), 2u) << "too few of 60 users placed on agent-1";
    ASSERT_OK(env_->StartController());
    ASSERT_OK(env_->StartAgent(1));
    auto ids = env_->AddMailboxes(*users_);
    ASSERT_OK(ids);
    ids_ = new std::vector<std::string>(*ids);
    ASSERT_OK(env_->Admin().WaitAllInSync(absl::Minutes(2))) << env_->LogsForFailure();
    auto events = env_->dc().AuditEvents();
    ASSERT_OK(events);
    audit_mark_ = events->size();
  }
  static void TearDownTestSuite() {
    delete env_;
    delete users_;
    delete ids_;
  }

  static std::string Pem(const std::string& name) {
    return ReadFileToString(env_->cert_dir() + "/" + name).value_or("");
  }
  // A stream with agent-N's certificate.
  static std::unique_ptr<HostileStream> Open(int n = 2) {
    return HostileStream::Open(env_->agent_port(), Pem("ca.pem"),
                               Pem(absl::StrCat("agent-", n, ".pem")),
                               Pem(absl::StrCat("agent-", n, ".key")));
  }
  // A welcomed protocol-2 session (protocol 3 would make it a candidate for
  // reconciliation passes).
  static std::unique_ptr<HostileStream> Session(int n = 2) {
    auto h = Open(n);
    auto welcome = h->Hello(2, 1);
    EXPECT_OK(welcome);
    return h;
  }
  // True when one line of the controller's log holds every one of `parts`
  // (waits for it: the log line may follow the message that caused it).
  static bool Logged(const std::vector<std::string>& parts) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);  // hang guard
    do {
      std::string log = ReadFileToString(env_->controller().log_file()).value_or("");
      for (absl::string_view line : absl::StrSplit(log, '\n')) {
        bool all = true;
        for (const auto& p : parts) all = all && absl::StrContains(line, p);
        if (all) return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    return false;
  }
  static controller::MailboxRecord Stored(const std::string& id) {
    auto store = controller::SqliteStore::Open(env_->store_path());
    EXPECT_OK(store);
    auto m = (*store)->GetMailbox(id);
    EXPECT_OK(m);
    return m.ok() ? *m : controller::MailboxRecord{};
  }
  static AgentMessage Result(const std::string& job_id, const std::string& mailbox_value) {
    AgentMessage m;
    v1::JobResult* r = m.mutable_results()->add_results();
    r->set_job_id(job_id);
    r->set_outcome(v1::CONFLICT);
    r->set_diagnostic("forged");
    (*r->mutable_found()->mutable_attributes())["extensionAttribute1"].add_values(mailbox_value);
    return m;
  }

  static WritebackEnv* env_;
  static std::vector<SambaDc::User>* users_;
  static std::vector<std::string>* ids_;
  static size_t audit_mark_;
};

WritebackEnv* HostileStreamTest::env_ = nullptr;
std::vector<SambaDc::User>* HostileStreamTest::users_ = nullptr;
std::vector<std::string>* HostileStreamTest::ids_ = nullptr;
size_t HostileStreamTest::audit_mark_ = 0;

// The first message must be Hello: anything else ends the stream.
TEST_F(HostileStreamTest, AnythingButHelloFirstEndsTheStream) {
  AgentMessage heartbeat;
  heartbeat.mutable_heartbeat()->set_sequence(1);
  AgentMessage empty;
  struct Case {
    std::string name;
    AgentMessage first;
  } cases[] = {{"heartbeat", heartbeat}, {"results", Result("j-none", "x")}, {"empty", empty}};
  for (const Case& c : cases) {
    auto h = Open();
    h->Send(c.first);
    grpc::Status end = h->Finish();
    EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_THAT(end.error_message(), HasSubstr("first message must be Hello")) << c.name;
  }
}

TEST_F(HostileStreamTest, HelloTwiceEndsTheStream) {
  auto h = Session();
  AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(2);
  h->Send(hello);
  grpc::Status end = h->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(end.error_message(), HasSubstr("Hello sent twice"));
}

TEST_F(HostileStreamTest, ProtocolVersionZeroIsRefused) {
  auto h = Open();
  auto welcome = h->Hello(0, 1);
  EXPECT_THAT(welcome.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(welcome.status().message()), HasSubstr("protocol version 0"));
}

// Out-of-range numbers in Hello are clamped, as agent_session.cc documents:
// the version to the newest the controller speaks, the credit to 1..10000.
TEST_F(HostileStreamTest, HugeVersionAndCreditAreClamped) {
  struct Case {
    uint32_t protocol, credit;
    uint32_t want_protocol;
    std::string want_credit;
  } cases[] = {{4294967295u, 0, 3, "credit=1"}, {2, 4294967295u, 2, "credit=10000"}};
  for (const Case& c : cases) {
    auto h = Open(3);
    auto welcome = h->Hello(c.protocol, c.credit);
    ASSERT_OK(welcome);
    EXPECT_EQ(welcome->protocol_version(), c.want_protocol);
    EXPECT_TRUE(Logged({"agent connected", "session=" + welcome->session_id(), c.want_credit}))
        << c.want_credit;
    EXPECT_TRUE(h->Alive());
  }
}

// Answers for work the session was never given are refused one by one with a
// warning; the session goes on and no mailbox changes.
TEST_F(HostileStreamTest, AnswersForWorkNeverGivenAreRefused) {
  const controller::MailboxRecord before = Stored((*ids_)[0]);
  auto h = Session();
  AgentMessage observed;
  observed.mutable_observed()->set_request_id("r-never-asked");
  v1::ObservedObject* o = observed.mutable_observed()->add_objects();
  o->set_mailbox_id((*ids_)[0]);
  o->set_source_anchor((*users_)[0].object_guid);
  (*o->mutable_attributes()->mutable_attributes())["extensionAttribute1"].add_values("forged");
  AgentMessage page;
  page.mutable_scan_page()->set_scan_id("scan-never-asked");
  *page.mutable_scan_page()->add_objects() = *o;
  page.mutable_scan_page()->set_last(true);
  struct Case {
    std::string name;
    AgentMessage message;
    std::vector<std::string> warning;
  } cases[] = {
      {"unknown job",
       Result("j-unknown-1", "forged"),
       {"refused a result for a job the session was not given", "j-unknown-1"}},
      {"observation never asked",
       observed,
       {"refused an observation the session was not asked for", "r-never-asked"}},
      {"scan page without a scan", page, {"refused a scan page", "scan-never-asked"}},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(h->Send(c.message)) << c.name;
    EXPECT_TRUE(h->Alive()) << c.name;
    EXPECT_TRUE(Logged(c.warning)) << c.name;
  }
  const controller::MailboxRecord after = Stored((*ids_)[0]);
  EXPECT_EQ(after.status, before.status);
  EXPECT_EQ(after.applied_gen, before.applied_gen);
  EXPECT_EQ(after.last_known->DebugString(), before.last_known->DebugString());
}

// A message kind this controller does not know (a newer agent's) is ignored.
TEST_F(HostileStreamTest, UnknownMessageKindIsIgnored) {
  auto h = Session();
  // Field 99, length-delimited, three bytes: valid protobuf, no known body.
  ASSERT_TRUE(
      h->SendRaw(std::string("\x9a\x06\x03"
                             "abc",
                             6)));
  EXPECT_TRUE(h->Alive());
}

TEST_F(HostileStreamTest, FloodsDoNotStopTheSession) {
  auto h = Session();
  for (int i = 1; i <= 5000; ++i) {
    AgentMessage hb;
    hb.mutable_heartbeat()->set_sequence(i);
    ASSERT_TRUE(h->Send(hb)) << i;
  }
  for (int i = 0; i < 20; ++i) {
    AgentMessage results;
    for (int j = 0; j < 50; ++j) {
      v1::JobResult* r = results.mutable_results()->add_results();
      r->set_job_id(absl::StrCat("j-flood-", i, "-", j));
      r->set_outcome(v1::APPLIED);
    }
    ASSERT_TRUE(h->Send(results)) << i;
  }
  EXPECT_TRUE(h->Alive());
  EXPECT_TRUE(Logged({"refused a result", "j-flood-19-49"}));
}

TEST_F(HostileStreamTest, OversizedMessageEndsTheStream) {
  auto h = Session();
  AgentMessage huge;
  v1::JobResult* r = huge.mutable_results()->add_results();
  r->set_job_id("j-huge");
  r->set_diagnostic(std::string(5 << 20, 'z'));  // over gRPC's 4 MB receive limit
  h->Send(huge);
  grpc::Status end = h->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << end.error_message();
}

// Bytes that are no AgentMessage end the stream: gRPC's callback API reports
// a message it cannot parse like the client closing its side. Before a Hello
// that is refused by name; after one the session ends as a closed stream
// does (OK: a drained agent ends its stream so) and is detached.
TEST_F(HostileStreamTest, BytesThatAreNoProtobufEndTheStream) {
  const std::string garbage("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage", 18);
  auto first = Open();
  first->SendRaw(garbage);
  grpc::Status end = first->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << end.error_message();
  EXPECT_THAT(end.error_message(), HasSubstr("must be Hello"));

  auto later = Open();
  auto welcome = later->Hello(2, 1);
  ASSERT_OK(welcome);
  later->SendRaw(garbage);
  EXPECT_FALSE(later->ReadUntil([](const v1::ControllerMessage&) { return false; }));
  EXPECT_TRUE(Logged({"agent disconnected", "session=" + welcome->session_id()}));
}

// DESIGN §7: a result for a job the session was not given is refused, even
// from an agent of the same forest that names the job exactly. agent-1 is
// stopped with the job out; the forged CONFLICT changes nothing; resumed,
// agent-1 carries the job to AD itself.
TEST_F(HostileStreamTest, ResultForAnotherAgentsJobIsRefused) {
  const std::string& id = (*ids_)[0];
  auto h = Session();
  ASSERT_OK(env_->SuspendAgent(1));
  ASSERT_OK(env_->Admin().UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "real-1")}));
  controller::MailboxRecord out;
  absl::Time deadline = absl::Now() + absl::Seconds(20);  // hang guard
  while (absl::Now() < deadline) {
    out = Stored(id);
    if (out.status == v1::IN_FLIGHT && !out.inflight_id.empty()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(out.status, v1::IN_FLIGHT);
  ASSERT_TRUE(h->Send(Result(out.inflight_id, "forged-by-agent-2")));
  EXPECT_TRUE(h->Alive());
  EXPECT_TRUE(Logged({"refused a result", out.inflight_id, "agent-2"}));
  controller::MailboxRecord still = Stored(id);
  EXPECT_EQ(still.status, v1::IN_FLIGHT);
  EXPECT_EQ(still.inflight_id, out.inflight_id);
  EXPECT_EQ(still.inflight_session, out.inflight_session);
  EXPECT_EQ(still.last_known->DebugString(), out.last_known->DebugString());
  ASSERT_OK(env_->ResumeAgent(1));
  ASSERT_OK(env_->Admin().WaitAllInSync(absl::Minutes(1))) << env_->LogsForFailure();
  auto attrs = env_->dc().Read((*users_)[0].dn, {"extensionAttribute1"});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)["extensionAttribute1"], ::testing::ElementsAre("real-1"));
  // Replayed once answered: still refused (the job is no longer out).
  ASSERT_TRUE(h->Send(Result(out.inflight_id, "replayed")));
  EXPECT_TRUE(h->Alive());
  EXPECT_EQ(Stored(id).applied_gen, still.desired_gen);
}

// Runs last (definition order): agent-1 kept serving through every attack,
// and only the test's valid changes reached AD.
TEST_F(HostileStreamTest, AfterAllOfItTheRealAgentStillConverges) {
  const std::string& id = (*ids_)[1];
  ASSERT_OK(
      env_->Admin().UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "after-attacks")}));
  ASSERT_OK(env_->Admin().WaitAllInSync(absl::Minutes(1))) << env_->LogsForFailure();
  auto found = env_->dc().Search(env_->ScopeOu(), "(extensionAttribute1=after-attacks)",
                                 {"extensionAttribute1"});
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(absl::AsciiStrToLower(found->begin()->first), absl::AsciiStrToLower((*users_)[1].dn));
  auto events = env_->dc().AuditEvents();
  ASSERT_OK(events);
  for (const auto& [dn, modifies] : ModifiesByDn(*events, audit_mark_)) {
    for (const AuditEvent* e : modifies) {
      if (e->performed_as_system) continue;
      std::string value;
      ASSERT_TRUE(WrittenValue(*e, "extensionAttribute1", &value)) << dn;
      EXPECT_TRUE(value == "real-1" || value == "after-attacks") << dn << " got " << value;
    }
  }
}

}  // namespace
}  // namespace writeback::testing
