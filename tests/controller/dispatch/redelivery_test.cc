// Redelivery after a lost session, its verification read, the agent's own
// LDAP timeout in the fence, and Drain: the dispatcher against a real SQLite
// store, fake sessions and a fake clock.
#include <cstdlib>

#include "common/base/clock.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/dispatch/fake_sink.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RedeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/redelivery_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = SqliteStore::Open(dir_ + "/state.db");
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(store_->AddForest({"corp.example.test", {"OU=Mailboxes,DC=corp"}, 0}));
    Dispatcher::Options options;  // lease 3 s + LDAP timeout 3 s
    options.tick = absl::Milliseconds(10);
    options.answer_timeout = absl::Hours(1);
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &clock_, options);
  }
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  // An onboarded mailbox whose AD value is `known` and desired `want`.
  void AddMailbox(const std::string& id, char anchor, const std::string& known,
                  const std::string& want) {
    MailboxRecord m;
    m.cloud_id = id;
    m.forest = "corp.example.test";
    m.source_anchor = std::string(16, anchor);
    m.desired_gen = 1;
    (*m.desired.mutable_attributes())["mail"].add_values(want);
    m.last_known.emplace();
    (*m.last_known->mutable_attributes())["mail"].add_values(known);
    ASSERT_OK(store_->AddMailbox(m));
  }
  std::string Attach(const std::string& agent, std::shared_ptr<FakeSink> sink,
                     absl::Duration ldap_timeout = absl::ZeroDuration()) {
    SessionInfo info;
    info.agent_id = agent;
    info.forest = "corp.example.test";
    info.max_in_flight = 8;
    info.ldap_timeout = ldap_timeout;
    return dispatcher_->Attach(info, sink).session_id();
  }
  void Answer(const std::string& session, const v1::Job& job, v1::Outcome outcome,
              const std::string& found_mail = "") {
    v1::JobResults results;
    v1::JobResult* r = results.add_results();
    r->set_job_id(job.job_id());
    r->set_outcome(outcome);
    if (!found_mail.empty()) {
      (*r->mutable_found()->mutable_attributes())["mail"].add_values(found_mail);
    }
    dispatcher_->OnResults(session, results);
    dispatcher_->FlushAnswers();
  }
  std::vector<v1::ProvisioningRecord> Log(const std::string& mailbox) {
    v1::ListProvisioningLogRequest filter;
    filter.set_mailbox_id(mailbox);
    auto log = store_->ListLog(filter);
    EXPECT_OK(log);
    return log.ok() ? *log : std::vector<v1::ProvisioningRecord>{};
  }
  // Loses a1's session holding m1's job (old -> new1); returns that job.
  v1::Job LoseFirstJob() {
    AddMailbox("m1", 1, "old@x.com", "new1@x.com");
    auto first = std::make_shared<FakeSink>();
    std::string lost = Attach("a1", first);
    dispatcher_->Start();
    auto sent = first->WaitFor(1);
    EXPECT_EQ(sent.size(), 1u);
    v1::Job job = sent.empty() ? v1::Job() : sent[0].jobs().jobs(0);
    dispatcher_->Detach(lost);
    return job;
  }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(RedeliveryTest, LostJobIsLoggedRedeliveredAfterTheFenceAndVerifiedByARead) {
  const absl::Time start = clock_.Now();
  v1::Job lost_job = LoseFirstJob();
  auto log = Log("m1");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind(), "lost");
  EXPECT_EQ(log[0].agent_id(), "a1");
  EXPECT_EQ(log[0].job_id(), lost_job.job_id());
  EXPECT_EQ(log[0].generation(), 1u);
  EXPECT_FALSE(log[0].session_id().empty());
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::RETRY_WAIT);
  EXPECT_EQ(m->next_attempt_ms, absl::ToUnixMillis(start + absl::Seconds(6)));
  ASSERT_EQ(m->unconfirmed.jobs_size(), 1);
  EXPECT_TRUE(m->verify_read);

  auto second = std::make_shared<FakeSink>();
  std::string session = Attach("a2", second);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(second->Count(), 0u) << "redelivered before lease + LDAP timeout";
  clock_.Advance(absl::Seconds(6));
  auto sent = second->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_jobs());
  const v1::Job redelivered = sent[0].jobs().jobs(0);
  EXPECT_NE(redelivered.job_id(), lost_job.job_id());
  EXPECT_EQ(redelivered.generation(), 1u);
  EXPECT_THAT(redelivered.changes(0).desired(), ElementsAre("new1@x.com"));
  Answer(session, redelivered, v1::ALREADY_IN_STATE);  // the lost write had landed

  sent = second->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_read_request()) << "verification read after the redelivery";
  v1::Observed observed;
  observed.set_request_id(sent[1].read_request().request_id());
  v1::ObservedObject* object = observed.add_objects();
  object->set_mailbox_id("m1");
  object->set_dn("CN=m1,OU=Mailboxes,DC=corp");
  (*object->mutable_attributes()->mutable_attributes())["mail"].add_values("new1@x.com");
  dispatcher_->OnObserved(session, observed);
  dispatcher_->FlushAnswers();
  absl::Time deadline = absl::Now() + absl::Seconds(10);  // hang guard
  while (store_->GetMailbox("m1")->status != v1::IN_SYNC && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  m = store_->GetMailbox("m1");
  EXPECT_EQ(m->status, v1::IN_SYNC);
  EXPECT_EQ(m->applied_gen, 1u);
  EXPECT_FALSE(m->verify_read);
  EXPECT_EQ(m->unconfirmed.jobs_size(), 0);
}

TEST_F(RedeliveryTest, FindingWhatALostJobWroteIsNoConflict) {
  LoseFirstJob();
  ASSERT_OK(store_->UpdateMailbox("m1", [](MailboxRecord& m) {  // the cloud moves on
    (*m.desired.mutable_attributes())["mail"].set_values(0, "new2@x.com");
    m.desired_gen = 2;
    return absl::OkStatus();
  }));
  auto second = std::make_shared<FakeSink>();
  std::string session = Attach("a2", second);
  clock_.Advance(absl::Seconds(6));
  auto sent = second->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  const v1::Job job = sent[0].jobs().jobs(0);
  EXPECT_THAT(job.changes(0).expected(), ElementsAre("old@x.com"));
  Answer(session, job, v1::CONFLICT, /*found_mail=*/"new1@x.com");

  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->applied_gen, 1u) << "generation 1's target was found: already in state";
  EXPECT_EQ(m->attempts, 0u) << "not counted as a conflict";
  EXPECT_EQ(m->last_error, "");
  auto log = Log("m1");
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(log[0].diagnostic(), HasSubstr("answer was lost"));
  sent = second->WaitFor(2);  // planned again from what AD holds
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  EXPECT_THAT(sent[1].jobs().jobs(0).changes(0).expected(), ElementsAre("new1@x.com"));
  EXPECT_THAT(sent[1].jobs().jobs(0).changes(0).desired(), ElementsAre("new2@x.com"));

  // A value nobody of ours wrote is a conflict.
  Answer(session, sent[1].jobs().jobs(0), v1::CONFLICT, /*found_mail=*/"onprem@x.com");
  m = store_->GetMailbox("m1");
  EXPECT_EQ(m->attempts, 1u);
  EXPECT_THAT(m->last_error, HasSubstr("conflict"));
}

TEST_F(RedeliveryTest, TheAgentsOwnLongerLdapTimeoutLengthensTheFence) {
  AddMailbox("m1", 1, "old@x.com", "new@x.com");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", sink, /*ldap_timeout=*/absl::Seconds(20));
  dispatcher_->Start();
  sink->WaitFor(1);
  const absl::Time lost_at = clock_.Now();
  dispatcher_->Detach(session);
  EXPECT_EQ(store_->GetMailbox("m1")->next_attempt_ms,
            absl::ToUnixMillis(lost_at + absl::Seconds(3 + 20)));
}

TEST_F(RedeliveryTest, DrainedAgentIsToldAndGetsNoNewWork) {
  auto s1 = std::make_shared<FakeSink>();
  auto s2 = std::make_shared<FakeSink>();
  Attach("agent-1", s1);
  Attach("agent-2", s2);
  EXPECT_EQ(dispatcher_->Drain("agent-1", "upgrade"), 1);
  EXPECT_EQ(dispatcher_->Drain("agent-9", "nobody"), 0);
  auto sent = s1->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_drain());
  EXPECT_EQ(sent[0].drain().reason(), "upgrade");
  for (int i = 0; i < 6; ++i) {  // within agent-2's credit of 8
    AddMailbox("m" + std::to_string(i), static_cast<char>(i + 1), "old@x.com", "new@x.com");
  }
  dispatcher_->Start();
  absl::Time deadline = absl::Now() + absl::Seconds(10);  // hang guard
  while (dispatcher_->Sessions().back().outstanding < 6 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  int jobs = 0;
  for (const auto& message : s2->WaitFor(1)) jobs += message.jobs().jobs_size();
  EXPECT_EQ(jobs, 6) << "the other agent takes all the work";
  EXPECT_EQ(s1->Count(), 1u) << "only the Drain went to the draining agent";
  std::vector<LiveSession> live = dispatcher_->Sessions();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_TRUE(live[0].draining);
  EXPECT_FALSE(live[1].draining);
  EXPECT_EQ(live[1].outstanding, 6u);
}

}  // namespace
}  // namespace writeback::controller
