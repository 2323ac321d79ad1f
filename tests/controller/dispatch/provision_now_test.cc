// Provision on demand (Dispatcher::ProvisionNow) against a real SQLite store
// and fake agent sessions: the test answers as the agent would.
#include "controller/dispatch/provision_now.h"

#include <cstdlib>
#include <future>

#include "controller/dispatch/dispatcher.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/dispatch/fake_sink.h"
#include "tests/controller/dispatch/store_fixture.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

constexpr const char* kForest = StoreFixture::kFixtureForest;
constexpr char kTarget[] = "target";

using Result = absl::StatusOr<v1::ProvisionNowResponse>;

std::vector<std::string> StepsOf(const v1::ProvisionNowResponse& r) {
  std::vector<std::string> out;
  for (const auto& s : r.steps()) out.push_back(s.name() + "=" + s.status());
  return out;
}

class ProvisionNowTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    Dispatcher::Options options;
    options.tick = absl::Milliseconds(10);
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), Clock::Real(), options);
  }
  // A mailbox wanting extensionAttribute1 = `want`; `known` (when set) is
  // what AD was last seen holding (already onboarded).
  void AddMailbox(const std::string& id, char anchor_byte, const std::string& want,
                  std::optional<std::string> known = std::nullopt,
                  v1::MailboxStatus status = v1::PENDING) {
    MailboxRecord m;
    m.cloud_id = id;
    m.forest = kForest;
    m.source_anchor = std::string(16, anchor_byte);
    m.desired_gen = 1;
    (*m.desired.mutable_attributes())["extensionAttribute1"].add_values(want);
    if (known.has_value()) {
      m.last_known.emplace();
      (*m.last_known->mutable_attributes())["extensionAttribute1"].add_values(*known);
    }
    m.status = status;
    ASSERT_OK(store_->AddMailbox(m));
  }
  std::string Attach(const std::string& agent, uint32_t credit, std::shared_ptr<FakeSink> sink) {
    SessionInfo info;
    info.agent_id = agent;
    info.forest = kForest;
    info.max_in_flight = credit;
    return dispatcher_->Attach(info, sink).session_id();
  }
  std::future<Result> ProvisionAsync(absl::Duration timeout = absl::Seconds(10)) {
    return std::async(std::launch::async,
                      [this, timeout] { return dispatcher_->ProvisionNow(kTarget, timeout); });
  }
  // Waits (hang guard 10 s) until a ProvisionNow call queues for a slot.
  void WaitForSlotWaiter() {
    absl::Time guard = absl::Now() + absl::Seconds(10);
    while (absl::Now() < guard) {
      for (const auto& s : dispatcher_->Sessions()) {
        if (s.on_demand_waiting > 0) return;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    FAIL() << "ProvisionNow never queued for a slot";
  }
  static v1::Observed Found(const v1::ReadRequest& request, const std::string& value) {
    v1::Observed o;
    o.set_request_id(request.request_id());
    auto* obj = o.add_objects();
    obj->set_mailbox_id(request.targets(0).mailbox_id());
    obj->set_dn("CN=" + request.targets(0).mailbox_id() + ",OU=Mailboxes,DC=corp");
    auto& attrs = *obj->mutable_attributes()->mutable_attributes();
    if (!value.empty()) attrs["extensionAttribute1"].add_values(value);
    else attrs["extensionAttribute1"];
    return o;
  }
  static v1::JobResults Answer(const v1::Job& job, v1::Outcome outcome) {
    v1::JobResults results;
    auto* r = results.add_results();
    r->set_job_id(job.job_id());
    r->set_outcome(outcome);
    r->set_dn("CN=" + job.mailbox_id() + ",OU=Mailboxes,DC=corp");
    return results;
  }

};

// The freed slot goes to the on-demand read although 50 mailboxes are due
// before it. (The waiter's reservation also closes the narrow race where the
// placement thread runs between the answer and the waiter's wake-up; a naive
// waiter without it passes this test too, since absl::Mutex wakes it on the
// answering thread's unlock.)
TEST_F(ProvisionNowTest, ReadThenJobGoOutOnTheNextFreeSlotAheadOfALongQueue) {
  for (int i = 0; i < 50; ++i) AddMailbox("q" + std::to_string(i), static_cast<char>(i + 1), "x");
  AddMailbox(kTarget, 'T', "new", "old", v1::IN_SYNC);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 2, sink);
  dispatcher_->Start();
  auto queued = sink->WaitFor(2);  // the queue takes all the credit
  ASSERT_EQ(queued.size(), 2u);
  auto call = ProvisionAsync();
  WaitForSlotWaiter();
  absl::SleepFor(absl::Milliseconds(100));  // placement rounds: the credit is full
  EXPECT_EQ(sink->Count(), 2u) << "credit exceeded";

  // One answer frees one slot: it goes to the on-demand read, not the queue.
  dispatcher_->OnObserved(session, Found(queued[0].read_request(), "x"));
  dispatcher_->FlushAnswers();
  auto sent = sink->WaitFor(3);
  ASSERT_EQ(sent.size(), 3u);
  ASSERT_TRUE(sent[2].has_read_request());
  EXPECT_EQ(sent[2].read_request().targets(0).mailbox_id(), kTarget);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(sink->Count(), 3u) << "credit exceeded";

  // AD holds something else than last known: the job expects what was read.
  dispatcher_->OnObserved(session, Found(sent[2].read_request(), "changed-on-prem"));
  dispatcher_->FlushAnswers();
  sent = sink->WaitFor(4);
  ASSERT_EQ(sent.size(), 4u);
  ASSERT_TRUE(sent[3].has_jobs()) << "the job keeps the read's slot";
  const v1::Job job = sent[3].jobs().jobs(0);
  EXPECT_EQ(job.mailbox_id(), kTarget);
  EXPECT_THAT(job.changes(0).expected(), ElementsAre("changed-on-prem"));
  EXPECT_THAT(job.changes(0).desired(), ElementsAre("new"));
  ASSERT_EQ(call.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "answered before the job was";

  dispatcher_->OnResults(session, Answer(job, v1::APPLIED));

  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  EXPECT_THAT(StepsOf(*r), ElementsAre("import=success", "match=success", "scope=success",
                                       "export=success"));
  EXPECT_EQ(r->outcome(), v1::APPLIED);
  EXPECT_EQ(r->agent_id(), "a1");
  EXPECT_EQ(r->dn(), "CN=target,OU=Mailboxes,DC=corp");
  EXPECT_EQ(r->job_id(), job.job_id());
  EXPECT_EQ(r->status(), v1::IN_SYNC);
  ASSERT_EQ(r->modified_size(), 1);
  EXPECT_EQ(r->modified(0).name(), "extensionAttribute1");
  EXPECT_THAT(r->modified(0).old_values(), ElementsAre("changed-on-prem"));
  EXPECT_THAT(r->modified(0).new_values(), ElementsAre("new"));
  // Recorded as normal work: a read and a job record, the mailbox in sync.
  v1::ListProvisioningLogRequest filter;
  filter.set_mailbox_id(kTarget);
  auto log = store_->ListLog(filter);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].kind(), "job");
  EXPECT_EQ((*log)[0].outcome(), v1::APPLIED);
  EXPECT_EQ((*log)[1].kind(), "read");
  auto m = store_->GetMailbox(kTarget);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::IN_SYNC);
  EXPECT_EQ(m->applied_gen, 1u);
  // Never held, but counted in the mass-change guard's window like any new
  // write, and let through at its generation.
  EXPECT_GT(m->guard_counted_ms, 0);
  EXPECT_EQ(m->guard_gen, m->desired_gen);
}

TEST_F(ProvisionNowTest, NothingToWriteWhenTheReadShowsTheDesiredValues) {
  AddMailbox(kTarget, 'T', "same");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);  // placement thread not started
  auto call = ProvisionAsync();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_read_request());
  dispatcher_->OnObserved(session, Found(sent[0].read_request(), "same"));
  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  EXPECT_THAT(StepsOf(*r), ElementsAre("import=success", "match=success", "scope=success",
                                       "export=skipped"));
  EXPECT_EQ(r->outcome(), v1::ALREADY_IN_STATE);
  EXPECT_TRUE(r->job_id().empty());
  EXPECT_EQ(r->modified_size(), 0);
  EXPECT_EQ(r->status(), v1::IN_SYNC);
  EXPECT_EQ(sink->Count(), 1u) << "a job was sent although nothing differs";
}

TEST_F(ProvisionNowTest, MissingObjectIsAMatchFailureAndNothingIsWritten) {
  AddMailbox(kTarget, 'T', "new", "old", v1::OBJECT_NOT_FOUND);  // lifecycle states may try
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  dispatcher_->Start();
  auto call = ProvisionAsync();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_read_request());
  v1::Observed o;
  o.set_request_id(sent[0].read_request().request_id());
  auto* obj = o.add_objects();
  obj->set_mailbox_id(kTarget);
  obj->set_failure(v1::FAILED_PERMANENT);
  obj->set_reason(v1::REASON_OBJECT_NOT_FOUND);
  obj->set_diagnostic("not found: no object under DC=corp has ms-DS-ConsistencyGuid or objectGUID x");
  dispatcher_->OnObserved(session, o);
  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  EXPECT_THAT(StepsOf(*r), ElementsAre("import=success", "match=failure", "scope=skipped",
                                       "export=skipped"));
  EXPECT_THAT(r->steps(1).detail(), HasSubstr("not found: no object under DC=corp"));
  EXPECT_THAT(r->steps(1).detail(), HasSubstr("REASON_OBJECT_NOT_FOUND"));
  EXPECT_THAT(r->steps(3).detail(), HasSubstr("nothing written"));
  EXPECT_EQ(r->outcome(), v1::FAILED_PERMANENT);
  EXPECT_EQ(r->status(), v1::OBJECT_NOT_FOUND);
  EXPECT_EQ(r->modified_size(), 0);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(sink->Count(), 1u) << "a job was sent for a missing object";
}

TEST_F(ProvisionNowTest, OutOfScopeIsAScopeFailure) {
  AddMailbox(kTarget, 'T', "new", "old");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  auto call = ProvisionAsync();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  v1::Observed o = Found(sent[0].read_request(), "old");
  o.mutable_objects(0)->set_failure(v1::FAILED_PERMANENT);
  o.mutable_objects(0)->set_reason(v1::REASON_OUT_OF_SCOPE);
  o.mutable_objects(0)->set_diagnostic("object CN=target,OU=Elsewhere is outside scope");
  dispatcher_->OnObserved(session, o);
  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  EXPECT_THAT(StepsOf(*r), ElementsAre("import=success", "match=success", "scope=failure",
                                       "export=skipped"));
  EXPECT_EQ(r->status(), v1::OUT_OF_SCOPE);
}

TEST_F(ProvisionNowTest, FailedExportCarriesTheLdapCodeAndWhatItTriedToWrite) {
  AddMailbox(kTarget, 'T', "new", "old");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  auto call = ProvisionAsync();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  dispatcher_->OnObserved(session, Found(sent[0].read_request(), "old"));
  dispatcher_->FlushAnswers();
  sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  v1::JobResults results = Answer(sent[1].jobs().jobs(0), v1::FAILED_RETRYABLE);
  results.mutable_results(0)->set_ldap_code(51);
  results.mutable_results(0)->set_diagnostic("busy");
  dispatcher_->OnResults(session, results);
  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  ASSERT_EQ(r->steps_size(), 4);
  EXPECT_EQ(r->steps(3).status(), "failure");
  EXPECT_THAT(r->steps(3).detail(), HasSubstr("FAILED_RETRYABLE: LDAP 51: busy"));
  EXPECT_EQ(r->ldap_code(), 51);
  ASSERT_EQ(r->modified_size(), 1);
  EXPECT_THAT(r->modified(0).old_values(), ElementsAre("old"));
  EXPECT_EQ(r->status(), v1::RETRY_WAIT);
}

TEST_F(ProvisionNowTest, RefusalsNameTheCauseAndSendNothing) {
  AddMailbox(kTarget, 'T', "new", "old");
  AddMailbox("held", 'H', "new", "old", v1::HELD);
  AddMailbox("conflict", 'C', "new", "old", v1::CONFLICT_HOLD);
  // No agent connected.
  EXPECT_THAT(dispatcher_->ProvisionNow(kTarget, absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no agent of forest")));
  auto sink = std::make_shared<FakeSink>();
  Attach("a1", 4, sink);
  EXPECT_THAT(dispatcher_->ProvisionNow("held", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("mass-change guard")));
  EXPECT_THAT(dispatcher_->ProvisionNow("conflict", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("writebackctl mailbox retry conflict")));
  EXPECT_THAT(dispatcher_->ProvisionNow("nobody", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(store_->SetForestPause(kForest, true, "by test", 1));
  EXPECT_THAT(dispatcher_->ProvisionNow(kTarget, absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("writebackctl forest resume corp.example.test")));
  EXPECT_EQ(sink->Count(), 0u);
  for (const char* id : {kTarget, "held", "conflict"}) {
    auto m = store_->GetMailbox(id);
    ASSERT_OK(m);
    EXPECT_TRUE(m->inflight_id.empty()) << id;
    EXPECT_EQ(m->attempts, 0u) << id;
  }
  EXPECT_EQ(store_->GetMailbox(kTarget)->status, v1::PENDING);
}

// Review finding: the rules are checked again when the read comes back; a
// forest paused while the read was out gets no job.
TEST_F(ProvisionNowTest, AForestPausedWhileTheReadIsOutGetsNoJob) {
  AddMailbox(kTarget, 'T', "new", "old", v1::IN_SYNC);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  auto call = ProvisionAsync();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_read_request());
  ASSERT_OK(store_->SetForestPause(kForest, true, "failure guard", 1));
  dispatcher_->OnObserved(session, Found(sent[0].read_request(), "old"));
  dispatcher_->FlushAnswers();
  Result r = call.get();
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr("read but not written"), HasSubstr("paused"))));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(sink->Count(), 1u) << "a job went to a paused forest";
  auto m = store_->GetMailbox(kTarget);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::PENDING) << "normal work once the forest is resumed";
  EXPECT_TRUE(m->inflight_id.empty());
}

TEST_F(ProvisionNowTest, WaitsForWorkAlreadyInFlightThenReadsAfresh) {
  AddMailbox(kTarget, 'T', "new");  // never read: the queue sends the onboarding read
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  dispatcher_->Start();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_read_request());
  auto call = ProvisionAsync();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(sink->Count(), 1u) << "sent work for a mailbox with work in flight";
  dispatcher_->OnObserved(session, Found(sent[0].read_request(), "old"));
  dispatcher_->FlushAnswers();
  // Its own read follows (not the queue's job for the mailbox).
  sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_read_request());
  EXPECT_NE(sent[1].read_request().request_id(), sent[0].read_request().request_id());
  dispatcher_->OnObserved(session, Found(sent[1].read_request(), "old"));
  dispatcher_->FlushAnswers();
  sent = sink->WaitFor(3);
  ASSERT_EQ(sent.size(), 3u);
  ASSERT_TRUE(sent[2].has_jobs());
  dispatcher_->OnResults(session, Answer(sent[2].jobs().jobs(0), v1::APPLIED));
  dispatcher_->FlushAnswers();
  Result r = call.get();
  ASSERT_OK(r);
  EXPECT_EQ(r->outcome(), v1::APPLIED);
  EXPECT_EQ(r->read_id(), sent[1].read_request().request_id());
}

TEST_F(ProvisionNowTest, TimeoutNamesTheStepsSoFarAndTheWorkContinuesAsNormalWork) {
  AddMailbox(kTarget, 'T', "new", "old");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  // The placement thread starts only after the call: started before, it
  // could place the mailbox's job ahead of the call (a race, not the case).
  Result r = dispatcher_->ProvisionNow(kTarget, absl::Milliseconds(300));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded,
                          HasSubstr("import: success (desired generation 1")));
  EXPECT_THAT(r.status().message(), HasSubstr("waiting for read r-"));
  dispatcher_->Start();
  auto sent = sink->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  // The late answer is recorded as a normal read, and normal work follows.
  dispatcher_->OnObserved(session, Found(sent[0].read_request(), "old"));
  dispatcher_->FlushAnswers();
  sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  EXPECT_THAT(sent[1].jobs().jobs(0).changes(0).desired(), ElementsAre("new"));
}

TEST_F(ProvisionNowTest, AnEndedSessionIsReportedAndItsWorkRedelivered) {
  AddMailbox(kTarget, 'T', "new", "old");
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", 4, sink);
  auto call = ProvisionAsync();
  sink->WaitFor(1);
  dispatcher_->Detach(session);
  EXPECT_THAT(call.get(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ended before")));
  auto m = store_->GetMailbox(kTarget);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::RETRY_WAIT);  // released after the fence, as lost work is
}

TEST(ProvisionStepsTest, DescribeStepsIsOneLinePerStep) {
  v1::ProvisionNowResponse r;
  MailboxRecord m;
  m.desired_gen = 3;
  (*m.desired.mutable_attributes())["mail"];
  (*m.desired.mutable_attributes())["extensionAttribute1"];
  AddImportStep(m, &r);
  AddNothingToWrite(&r);
  EXPECT_EQ(DescribeSteps(r),
            "import: success (desired generation 3: extensionAttribute1, mail); export: skipped "
            "(AD already holds the desired values; nothing to write)");
}

}  // namespace
}  // namespace writeback::controller
