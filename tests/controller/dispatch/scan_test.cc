// Reconciliation passes through the dispatcher (DESIGN §6), against a real
// SQLite store and fake agent sessions: when passes start, how pages become
// drift records and corrections, stale observations, abandoned passes.
#include <cstdlib>

#include "controller/dispatch/dispatcher.h"
#include "controller/reconcile/reconciler.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/dispatch/fake_sink.h"
#include "tests/controller/dispatch/store_fixture.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using writeback::testing::StatusIs;
namespace v1 = writeback::v1;

constexpr const char* kForest = StoreFixture::kFixtureForest;
constexpr char kAttr[] = "extensionAttribute1";

class ScanTest : public StoreFixture {
 protected:
  void StartDispatcher(uint32_t conflict_corrections = 3,
                       absl::Duration page_timeout = absl::Minutes(2)) {
    Dispatcher::Options options;
    options.reconcile.page_timeout = page_timeout;
    options.tick = absl::Milliseconds(10);
    options.reconcile.interval = absl::ZeroDuration();  // attach and on demand only
    options.reconcile.page_size = 77;
    options.retry.conflict = {conflict_corrections, absl::Hours(1)};
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), Clock::Real(), options);
    dispatcher_->Start();
  }
  static std::string AnchorOf(char c) { return std::string(16, c); }
  // A mailbox AD was known to hold `value` for, long ago.
  void AddInSync(const std::string& id, char anchor, const std::string& value) {
    MailboxRecord m;
    m.cloud_id = id;
    m.forest = kForest;
    m.source_anchor = AnchorOf(anchor);
    m.desired_gen = m.applied_gen = 1;
    (*m.desired.mutable_attributes())[kAttr].add_values(value);
    m.last_known = m.desired;
    m.status = v1::IN_SYNC;
    m.dn = "CN=" + id + ",OU=Mailboxes,DC=corp";
    ASSERT_OK(store_->AddMailbox(m));
  }
  std::string Attach(const std::string& agent, std::shared_ptr<FakeSink> sink,
                     uint32_t protocol = 3) {
    SessionInfo info;
    info.agent_id = agent;
    info.forest = kForest;
    info.max_in_flight = 8;
    info.protocol_version = protocol;
    return dispatcher_->Attach(info, sink).session_id();
  }
  static v1::ScanPage Page(const std::string& scan_id, char anchor, const std::string& value,
                           bool last) {
    v1::ScanPage page;
    page.set_scan_id(scan_id);
    auto* o = page.add_objects();
    o->set_source_anchor(AnchorOf(anchor));
    o->set_object_guid(AnchorOf(anchor));
    o->set_dn("CN=x,OU=Mailboxes,DC=corp");
    o->set_dc("ldaps://dc1");
    o->set_when_changed("20261123202109.0Z");
    o->set_usn_changed(4711);
    (*o->mutable_attributes()->mutable_attributes())[kAttr].add_values(value);
    page.set_last(last);
    if (last) {
      auto* mark = page.add_marks();
      mark->set_dc("ldaps://dc1");
      mark->set_invocation_id("inv-1");
      mark->set_usn(5000);
    }
    return page;
  }
  // The first ScanRequest among what `sink` was sent (waits for `n` messages).
  static v1::ScanRequest ScanOf(FakeSink& sink, size_t n = 1) {
    for (const auto& m : sink.WaitFor(n)) {
      if (m.has_scan()) return m.scan();
    }
    ADD_FAILURE() << "no ScanRequest sent";
    return {};
  }
  std::vector<v1::ProvisioningRecord> ScanLog() {
    v1::ListProvisioningLogRequest f;
    f.set_kind("scan");
    auto log = store_->ListLog(f);
    EXPECT_OK(log);
    return log.ok() ? *log : std::vector<v1::ProvisioningRecord>{};
  }

};

TEST_F(ScanTest, APassStartsWhenAProtocol3SessionAttachesAndNotForOlderAgents) {
  StartDispatcher();
  auto old_agent = std::make_shared<FakeSink>();
  Attach("a-old", old_agent, /*protocol=*/2);
  auto is_scan = [](const v1::ControllerMessage& m) { return m.has_scan(); };
  absl::SleepFor(absl::Milliseconds(200));
  auto sent = old_agent->WaitFor(0);
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), is_scan), 0);
  EXPECT_THAT(dispatcher_->Reconcile(kForest, false),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  auto sink = std::make_shared<FakeSink>();
  Attach("a-new", sink);
  v1::ScanRequest scan = ScanOf(*sink);
  EXPECT_FALSE(scan.scan_id().empty());
  EXPECT_EQ(scan.page_size(), 77u);
  EXPECT_THAT(scan.since(), IsEmpty()) << "no marks before a complete pass";
  // One at a time per forest.
  EXPECT_THAT(dispatcher_->Reconcile(kForest, true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(scan.scan_id())));
}

TEST_F(ScanTest, DriftIsRecordedAndCorrectedFromWhatAdHolds) {
  AddInSync("m1", 1, "cloud");
  AddInSync("m2", 2, "same");
  StartDispatcher();
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", sink);
  v1::ScanRequest scan = ScanOf(*sink);
  dispatcher_->OnScanPage(session, Page(scan.scan_id(), 2, "SAME", /*last=*/false));
  v1::ScanPage last = Page(scan.scan_id(), 1, "onprem", /*last=*/true);
  auto* stranger = last.add_objects();  // an object no mailbox claims
  stranger->set_source_anchor(AnchorOf(9));
  dispatcher_->OnScanPage(session, last);

  // The correction: a compare-and-swap from what AD really holds.
  auto sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  const v1::Job& job = sent[1].jobs().jobs(0);
  EXPECT_EQ(job.mailbox_id(), "m1");
  EXPECT_THAT(job.changes(0).expected(), ElementsAre("onprem"));
  EXPECT_THAT(job.changes(0).desired(), ElementsAre("cloud"));

  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].mailbox_id(), "m1");
  EXPECT_EQ((*drift)[0].attribute(), kAttr);
  EXPECT_THAT((*drift)[0].expected(), ElementsAre("cloud"));
  EXPECT_THAT((*drift)[0].found(), ElementsAre("onprem"));
  EXPECT_EQ((*drift)[0].when_changed(), "20261123202109.0Z");
  EXPECT_EQ((*drift)[0].dc(), "ldaps://dc1");
  EXPECT_EQ((*drift)[0].source(), "scan");
  EXPECT_EQ((*drift)[0].work_id(), scan.scan_id());
  EXPECT_EQ((*drift)[0].action(), "corrected");

  auto marks = store_->ListScanMarks(kForest, "a1");
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].usn, 5000);
  auto log = ScanLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].job_id(), scan.scan_id());
  EXPECT_EQ(log[0].outcome(), v1::OUTCOME_UNSPECIFIED);
  EXPECT_THAT(log[0].diagnostic(), HasSubstr("objects=3 in_sync=1 drift=1 corrected=1 "
                                             "conflicts=0 ignored_stale=0 skipped=0 "
                                             "unmatched=1"));

  // The next pass starts from the marks.
  auto again = dispatcher_->Reconcile(kForest, /*full=*/false);
  ASSERT_OK(again);
  v1::ScanRequest next;
  for (const auto& m : sink->WaitFor(3)) {
    if (m.has_scan() && m.scan().scan_id() == again->scan_id) next = m.scan();
  }
  ASSERT_EQ(next.since_size(), 1);
  EXPECT_EQ(next.since(0).invocation_id(), "inv-1");
  EXPECT_EQ(next.since(0).usn(), 5000);
}

TEST_F(ScanTest, AnObservationReadBeforeANewerAcknowledgementIsIgnored) {
  AddInSync("m1", 1, "gen-1");
  StartDispatcher();
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", sink);
  v1::ScanRequest scan = ScanOf(*sink);
  // A cloud change, applied and acknowledged while the pass runs.
  ASSERT_OK(store_->UpdateMailbox("m1", [](MailboxRecord& m) {
    (*m.desired.mutable_attributes())[kAttr].set_values(0, "gen-2");
    m.desired_gen = 2;
    m.status = v1::PENDING;
    return absl::OkStatus();
  }));
  dispatcher_->Wake();
  auto sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  v1::JobResults results;
  auto* r = results.add_results();
  r->set_job_id(sent[1].jobs().jobs(0).job_id());
  r->set_outcome(v1::APPLIED);
  dispatcher_->OnResults(session, results);
  dispatcher_->FlushAnswers();
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  ASSERT_EQ(m->status, v1::IN_SYNC);

  // The page read before the write arrives only now: it shows gen-1.
  dispatcher_->OnScanPage(session, Page(scan.scan_id(), 1, "gen-1", /*last=*/true));
  absl::SleepFor(absl::Milliseconds(200));
  m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::IN_SYNC);
  EXPECT_THAT(m->last_known->attributes().at(kAttr).values(), ElementsAre("gen-2"));
  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  EXPECT_THAT(*drift, IsEmpty());
  EXPECT_EQ(sink->Count(), 2u) << "no correction job";
  auto log = ScanLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0].diagnostic(), HasSubstr("ignored_stale=1"));
  // The mark stays below the object it could not judge, so that the next
  // incremental pass reads it again (drift of another attribute it might
  // carry is not skipped for good).
  auto marks = store_->ListScanMarks(kForest, "a1");
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].usn, 4710);
}

TEST_F(ScanTest, APassThatGetsNoPageIsAbandonedAfterThePageTimeout) {
  AddInSync("m1", 1, "cloud");
  StartDispatcher(/*conflict_corrections=*/3, /*page_timeout=*/absl::Milliseconds(300));
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", sink);
  v1::ScanRequest scan = ScanOf(*sink);
  absl::Time deadline = absl::Now() + absl::Seconds(20);  // hang guard
  while (ScanLog().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  auto log = ScanLog();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().job_id(), scan.scan_id());
  EXPECT_EQ(log.back().outcome(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(log.back().diagnostic(), HasSubstr("no page from agent a1"));
  // A late page of the abandoned pass changes nothing.
  dispatcher_->OnScanPage(session, Page(scan.scan_id(), 1, "onprem", /*last=*/true));
  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  EXPECT_THAT(*drift, IsEmpty());
  auto marks = store_->ListScanMarks(kForest, "a1");
  ASSERT_OK(marks);
  EXPECT_THAT(*marks, IsEmpty());
}

TEST_F(ScanTest, APassWhoseSessionEndsIsAbandonedAndItsMarksNeverStored) {
  AddInSync("m1", 1, "cloud");
  StartDispatcher();
  auto first = std::make_shared<FakeSink>();
  std::string session = Attach("a1", first);
  v1::ScanRequest scan = ScanOf(*first);
  dispatcher_->Detach(session);
  auto log = ScanLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(log[0].diagnostic(), HasSubstr("abandoned"));

  // Another session takes a new pass; a late page of the old one is refused.
  auto second = std::make_shared<FakeSink>();
  std::string other = Attach("a2", second);
  v1::ScanRequest next = ScanOf(*second);
  EXPECT_NE(next.scan_id(), scan.scan_id());
  dispatcher_->OnScanPage(other, Page(scan.scan_id(), 1, "onprem", /*last=*/true));
  for (const char* agent : {"a1", "a2"}) {
    auto marks = store_->ListScanMarks(kForest, agent);
    ASSERT_OK(marks);
    EXPECT_THAT(*marks, IsEmpty()) << agent;
  }
  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  EXPECT_THAT(*drift, IsEmpty());
  // And a page of the running pass from a session that does not run it.
  auto third = std::make_shared<FakeSink>();
  std::string bystander = Attach("a3", third, /*protocol=*/2);
  dispatcher_->OnScanPage(bystander, Page(next.scan_id(), 1, "onprem", /*last=*/true));
  drift = store_->ListDrift({});
  ASSERT_OK(drift);
  EXPECT_THAT(*drift, IsEmpty());
}

TEST_F(ScanTest, APersistentDualWriterEndsInConflictHoldWithoutAJob) {
  AddInSync("m1", 1, "cloud");
  StartDispatcher(/*conflict_corrections=*/2);
  auto sink = std::make_shared<FakeSink>();
  std::string session = Attach("a1", sink);
  v1::ScanRequest scan = ScanOf(*sink);
  dispatcher_->OnScanPage(session, Page(scan.scan_id(), 1, "onprem-1", true));
  auto sent = sink->WaitFor(2);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_TRUE(sent[1].has_jobs());
  v1::JobResults results;
  auto* r = results.add_results();
  r->set_job_id(sent[1].jobs().jobs(0).job_id());
  r->set_outcome(v1::APPLIED);
  dispatcher_->OnResults(session, results);
  dispatcher_->FlushAnswers();

  absl::SleepFor(absl::Milliseconds(5));  // the ack is older than the next pass
  auto again = dispatcher_->Reconcile(kForest, false);
  ASSERT_OK(again);
  dispatcher_->OnScanPage(session, Page(again->scan_id, 1, "onprem-2", true));
  absl::SleepFor(absl::Milliseconds(200));
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::CONFLICT_HOLD);
  EXPECT_THAT(m->last_error, HasSubstr("onprem-2"));
  EXPECT_EQ(sink->Count(), 3u) << "scan, correction, scan: no second correction";
  v1::ListDriftRequest summary;
  summary.set_summary(true);
  auto rows = store_->SummarizeDrift(summary);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].drift_count(), 2u);
  EXPECT_TRUE((*rows)[0].in_conflict());
}

}  // namespace
}  // namespace writeback::controller

namespace writeback::controller {
namespace {

class ReconcilerSweepTest : public StoreFixture {};

// The race Sweep closes: a pass registered on a session whose Detach had
// already told the reconciler (so OnSessionEnded found nothing to abandon).
TEST_F(ReconcilerSweepTest, APassStartedOnASessionThatAlreadyEndedIsAbandoned) {
  Reconciler reconciler(store_.get(), Clock::Real(), {});
  auto sink = std::make_shared<FakeSink>();
  reconciler.OnSessionEnded("s-gone");  // Detach ran first
  auto started = reconciler.Start(StoreFixture::kFixtureForest, /*full=*/false,
                                  {{"s-gone", "a1", StoreFixture::kFixtureForest, sink}});
  ASSERT_OK(started);
  ASSERT_TRUE(reconciler.Running(StoreFixture::kFixtureForest).has_value());
  reconciler.Sweep({"s-other"});
  EXPECT_FALSE(reconciler.Running(StoreFixture::kFixtureForest).has_value())
      << "the forest would never be reconciled again";
  // A live session's pass is left alone.
  started = reconciler.Start(StoreFixture::kFixtureForest, /*full=*/false,
                             {{"s-live", "a2", StoreFixture::kFixtureForest, sink}});
  ASSERT_OK(started);
  reconciler.Sweep({"s-live"});
  EXPECT_EQ(reconciler.Running(StoreFixture::kFixtureForest), started->scan_id);
}

}  // namespace
}  // namespace writeback::controller
