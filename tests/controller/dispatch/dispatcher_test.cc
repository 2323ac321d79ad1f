// The dispatcher against a real SQLite store and fake agent sessions.
#include "controller/dispatch/dispatcher.h"

#include <cstdlib>

#include "controller/store/sqlite_store.h"
#include "tests/controller/dispatch/fake_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dispatcher_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = SqliteStore::Open(dir_ + "/state.db");
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(store_->AddForest({"corp.example.test", {"OU=Mailboxes,DC=corp"}, 0}));
    Dispatcher::Options options;
    options.tick = absl::Milliseconds(10);
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), Clock::Real(), options);
  }
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  void AddMailbox(const std::string& id, char anchor_byte) {
    MailboxRecord m;
    m.cloud_id = id;
    m.forest = "corp.example.test";
    m.source_anchor = std::string(16, anchor_byte);
    m.desired_gen = 1;
    (*m.desired.mutable_attributes())["mail"].add_values(id + "@x.com");
    ASSERT_OK(store_->AddMailbox(m));
  }
  std::string Attach(const std::string& agent, uint32_t credit, std::shared_ptr<FakeSink> sink) {
    SessionInfo info;
    info.agent_id = agent;
    info.forest = "corp.example.test";
    info.max_in_flight = credit;
    return dispatcher_->Attach(info, sink).session_id();
  }
  v1::Observed Observe(const v1::ReadRequest& request, const std::string& mail) {
    v1::Observed o;
    o.set_request_id(request.request_id());
    auto* obj = o.add_objects();
    obj->set_mailbox_id(request.targets(0).mailbox_id());
    obj->set_dn("CN=" + request.targets(0).mailbox_id() + ",OU=Mailboxes,DC=corp");
    (*obj->mutable_attributes()->mutable_attributes())["mail"].add_values(mail);
    return o;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, ReadsFirstThenSendsJobThenRecordsTheAck) {
  AddMailbox("m1", 1);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 8, sink);
  dispatcher_->Start();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_read_request()) << "onboarding read comes first";
  dispatcher_->OnObserved(session, Observe(sent[0].read_request(), "old@x.com"));
  dispatcher_->FlushAnswers();

  sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  const v1::Job& job = sent[1].jobs().jobs(0);
  EXPECT_EQ(job.changes(0).expected(0), "old@x.com");
  EXPECT_EQ(job.changes(0).desired(0), "m1@x.com");

  v1::JobResults results;
  auto* r = results.add_results();
  r->set_job_id(job.job_id());
  r->set_outcome(v1::APPLIED);
  dispatcher_->OnResults(session, results);
  dispatcher_->FlushAnswers();
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::IN_SYNC);
  EXPECT_EQ(m->applied_gen, 1u);
  v1::ListProvisioningLogRequest filter;
  filter.set_mailbox_id("m1");
  auto log = store_->ListLog(filter);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 2u);  // the read and the job
  EXPECT_EQ((*log)[0].outcome(), v1::APPLIED);
  EXPECT_EQ((*log)[0].agent_id(), "a1");
}

TEST_F(DispatcherTest, WelcomeGoesOutBeforeAnyWorkEvenWhenWorkIsWaiting) {
  AddMailbox("m1", 1);
  dispatcher_->Start();  // placing work already while the agent attaches
  auto sink = std::make_shared<FakeSink>();
  Attach("a1", 8, sink);
  sink->WaitFor(1);
  auto kinds = sink->kinds();
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(kinds[0], v1::ControllerMessage::kWelcome);
  EXPECT_EQ(kinds[1], v1::ControllerMessage::kReadRequest);
}

TEST_F(DispatcherTest, NeverExceedsTheAgentsCredit) {
  for (int i = 0; i < 5; ++i) AddMailbox("m" + std::to_string(i), static_cast<char>(i + 1));
  auto sink = std::make_shared<FakeSink>();
  Attach("a1", 2, sink);
  dispatcher_->Start();
  sink->WaitFor(2);
  absl::SleepFor(absl::Milliseconds(200));  // several placement rounds
  EXPECT_EQ(sink->Count(), 2u);
}

TEST_F(DispatcherTest, RefusesAResultFromASessionThatWasNotGivenTheJob) {
  AddMailbox("m1", 1);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 8, sink);
  auto other = std::make_shared<FakeSink>();
  std::string intruder = Attach("a2", 0, other);  // credit 0: never given work
  dispatcher_->Start();
  auto sent = sink->WaitFor(1);
  ASSERT_TRUE(sent[0].has_read_request());
  dispatcher_->OnObserved(intruder, Observe(sent[0].read_request(), "forged@x.com"));
  dispatcher_->FlushAnswers();
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::IN_FLIGHT);
  EXPECT_FALSE(m->last_known.has_value());
}

TEST_F(DispatcherTest, LostSessionsWorkIsRedeliveredOnlyAfterLeasePlusLdapTimeout) {
  AddMailbox("m1", 1);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 8, sink);
  dispatcher_->Start();
  sink->WaitFor(1);
  absl::Time before = absl::Now();
  dispatcher_->Detach(session);
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::RETRY_WAIT);
  // Defaults: lease 3 s + LDAP timeout 3 s.
  EXPECT_GE(m->next_attempt_ms, absl::ToUnixMillis(before + absl::Seconds(6)));
  auto next = std::make_shared<FakeSink>();
  Attach("a2", 8, next);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(next->Count(), 0u) << "redelivered before the fence";
}

TEST_F(DispatcherTest, PlacesEachMailboxOnItsRendezvousOwner) {
  for (int i = 0; i < 20; ++i) AddMailbox("m" + std::to_string(i), static_cast<char>(i + 1));
  auto s1 = std::make_shared<FakeSink>();
  auto s2 = std::make_shared<FakeSink>();
  Attach("agent-1", 100, s1);
  Attach("agent-2", 100, s2);
  dispatcher_->Start();
  absl::SleepFor(absl::Milliseconds(300));
  auto check = [](const std::vector<v1::ControllerMessage>& sent, const std::string& me,
                  const std::string& other) {
    for (const auto& msg : sent) {
      const std::string& anchor = msg.read_request().targets(0).source_anchor();
      EXPECT_GT(RendezvousScore(anchor, me), RendezvousScore(anchor, other));
    }
  };
  auto a = s1->WaitFor(0), b = s2->WaitFor(0);
  EXPECT_EQ(a.size() + b.size(), 20u);
  check(a, "agent-1", "agent-2");
  check(b, "agent-2", "agent-1");
}

// The owner of `anchor` among `agents`: highest rendezvous score.
std::string Owner(const std::string& anchor, const std::vector<std::string>& agents) {
  std::string best;
  for (const std::string& a : agents) {
    if (best.empty() || RendezvousScore(anchor, a) > RendezvousScore(anchor, best)) best = a;
  }
  return best;
}

TEST(RendezvousTest, AJoiningAgentTakesOnlyItsShareAndNothingElseMoves) {
  const std::vector<std::string> two = {"agent-1", "agent-2"};
  const std::vector<std::string> three = {"agent-1", "agent-2", "agent-3"};
  int moved = 0, counts[3] = {0, 0, 0};
  const int kAnchors = 3000;
  for (int i = 0; i < kAnchors; ++i) {
    std::string anchor(16, '\0');
    for (int b = 0; b < 4; ++b) anchor[b] = static_cast<char>((i >> (8 * b)) & 0xff);
    const std::string before = Owner(anchor, two), after = Owner(anchor, three);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "agent-3") << "an anchor moved between the agents that stayed";
    }
    counts[after.back() - '1']++;
  }
  // The joiner's share is about a third; each agent within 10 % of even.
  EXPECT_NEAR(moved, kAnchors / 3, kAnchors / 30);
  for (int c : counts) EXPECT_NEAR(c, kAnchors / 3, kAnchors / 30);
}

}  // namespace
}  // namespace writeback::controller

namespace writeback::controller {
namespace {

TEST(DispatcherStuckAgentTest, SessionLeavingWorkUnansweredIsCut) {
  char tmpl[] = "/tmp/dispatcher_stuck.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto store = SqliteStore::Open(dir + "/state.db");
  ASSERT_OK(store);
  ASSERT_OK((*store)->AddForest({"corp.example.test", {"OU=Mailboxes,DC=corp"}, 0}));
  MailboxRecord m;
  m.cloud_id = "m1";
  m.forest = "corp.example.test";
  m.source_anchor = std::string(16, '\x01');
  ASSERT_OK((*store)->AddMailbox(m));
  FakeClock clock(absl::Now());
  Dispatcher::Options options;
  options.tick = absl::Milliseconds(10);
  options.answer_timeout = absl::Seconds(30);
  options.lease = absl::Hours(1);  // only the unanswered work can cut it
  Dispatcher dispatcher(store->get(), &clock, options);
  auto sink = std::make_shared<FakeSink>();
  SessionInfo info;
  info.agent_id = "a1";
  info.forest = "corp.example.test";
  info.max_in_flight = 4;
  dispatcher.Attach(info, sink);
  dispatcher.Start();
  ASSERT_EQ(sink->WaitFor(1).size(), 1u);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(sink->aborted()) << "cut before the timeout";
  clock.Advance(absl::Seconds(31));
  absl::Time deadline = absl::Now() + absl::Seconds(10);  // hang guard
  while (!sink->aborted() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(sink->aborted());
  dispatcher.Stop();
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace writeback::controller
