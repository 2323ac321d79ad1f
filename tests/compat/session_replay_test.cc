#include "tests/compat/session_replay.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::IsEmpty;
using ::testing::SizeIs;

RecordedMessage FromAgent(const v1::AgentMessage& m) {
  return {Direction::kAgentToController, 0, m.SerializeAsString()};
}
RecordedMessage FromController(const v1::ControllerMessage& m) {
  return {Direction::kControllerToAgent, 0, m.SerializeAsString()};
}

v1::Job MakeJob(const std::string& id, const std::string& mailbox, uint64_t gen,
                const std::string& from, const std::string& to) {
  v1::Job job;
  job.set_job_id(id);
  job.set_mailbox_id(mailbox);
  job.set_source_anchor("0123456789abcdef");
  job.set_generation(gen);
  auto* c = job.add_changes();
  c->set_attribute("extensionAttribute1");
  c->add_expected(from);
  c->add_desired(to);
  return job;
}

// Hello; a job for mailbox m1 answered APPLIED; a read of m2 answered.
std::vector<RecordedMessage> Recording() {
  std::vector<RecordedMessage> r;
  v1::AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_max_in_flight(64);
  r.push_back(FromAgent(hello));
  v1::ControllerMessage welcome;
  welcome.mutable_welcome()->set_protocol_version(1);
  welcome.mutable_welcome()->set_agent_id("agent-1");
  r.push_back(FromController(welcome));
  v1::ControllerMessage jobs;
  *jobs.mutable_jobs()->add_jobs() = MakeJob("j-old-1", "m1", 2, "g1", "g2");
  r.push_back(FromController(jobs));
  v1::ControllerMessage read;
  read.mutable_read_request()->set_request_id("r-old-2");
  read.mutable_read_request()->add_targets()->set_mailbox_id("m2");
  r.push_back(FromController(read));
  v1::AgentMessage results;
  auto* result = results.mutable_results()->add_results();
  result->set_job_id("j-old-1");
  result->set_outcome(v1::APPLIED);
  result->set_dn("CN=one");
  result->set_duration_ms(7);
  r.push_back(FromAgent(results));
  v1::AgentMessage observed;
  observed.mutable_observed()->set_request_id("r-old-2");
  auto* object = observed.mutable_observed()->add_objects();
  object->set_mailbox_id("m2");
  object->set_dn("CN=two");
  (*object->mutable_attributes()->mutable_attributes())["mail"].add_values("two@x.test");
  r.push_back(FromAgent(observed));
  return r;
}

compat::AdminView Before() {
  compat::AdminView before;
  auto* m1 = before.add_mailboxes();
  m1->set_cloud_id("m1");
  m1->set_dn("CN=one");
  (*m1->mutable_last_known()->mutable_attributes())["extensionAttribute1"].add_values("g1");
  before.add_mailboxes()->set_cloud_id("m2");  // never read
  return before;
}

v1::ControllerMessage Jobs(const v1::Job& job) {
  v1::ControllerMessage m;
  *m.mutable_jobs()->add_jobs() = job;
  return m;
}

v1::ControllerMessage Read(const std::string& id, const std::string& mailbox) {
  v1::ControllerMessage m;
  m.mutable_read_request()->set_request_id(id);
  m.mutable_read_request()->add_targets()->set_mailbox_id(mailbox);
  return m;
}

TEST(CompatSessionReplayTest, KeepsTheRecordedHelloBytes) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  EXPECT_EQ(replay->hello_bytes(), Recording()[0].bytes);
  EXPECT_EQ(replay->hello().max_in_flight(), 64u);
  EXPECT_EQ(replay->recorded_welcome().agent_id(), "agent-1");
}

TEST(CompatSessionReplayTest, AnswersAJobWithTheRecordedResultUnderTheNewId) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  auto answers = replay->Answer(Jobs(MakeJob("j-new-9", "m1", 2, "g1", "g2")));
  ASSERT_OK(answers);
  ASSERT_THAT(*answers, SizeIs(1));
  const v1::JobResult& r = (*answers)[0].results().results(0);
  EXPECT_EQ(r.job_id(), "j-new-9");
  EXPECT_EQ(r.outcome(), v1::APPLIED);
  EXPECT_EQ(r.duration_ms(), 7u);
  EXPECT_THAT(replay->answered_jobs(), ::testing::ElementsAre("j-new-9"));
  EXPECT_THAT(replay->Unused(), ::testing::ElementsAre("1 read(s) of mailbox m2"));
}

TEST(CompatSessionReplayTest, RefusesAJobThatAsksForSomethingElse) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  EXPECT_THAT(replay->Answer(Jobs(MakeJob("j-new-9", "m1", 2, "g1", "other"))),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("extensionAttribute1: recorded [g1] -> [g2], now [g1] -> [other]")));
}

TEST(CompatSessionReplayTest, NeverAnswersAnUnrecordedJob) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  ASSERT_OK(replay->Answer(Jobs(MakeJob("j-new-1", "m1", 2, "g1", "g2"))));
  EXPECT_THAT(replay->Answer(Jobs(MakeJob("j-new-2", "m1", 3, "g2", "g3"))),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no answer")));
  EXPECT_THAT(replay->Answer(Jobs(MakeJob("j-new-3", "m9", 1, "", "x"))),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CompatSessionReplayTest, AnswersARecordedReadThenSynthesizesFromWhatWasLearned) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  auto first = replay->Answer(Read("r-new-1", "m2"));
  ASSERT_OK(first);
  EXPECT_EQ((*first)[0].observed().request_id(), "r-new-1");
  EXPECT_EQ((*first)[0].observed().objects(0).dn(), "CN=two");
  EXPECT_THAT(replay->synthesized(), IsEmpty());

  // A second read of m2 and a read of m1 after its job: not recorded.
  ASSERT_OK(replay->Answer(Jobs(MakeJob("j-new-2", "m1", 2, "g1", "g2"))));
  auto again = replay->Answer(Read("r-new-3", "m2"));
  ASSERT_OK(again);
  EXPECT_EQ((*again)[0].observed().objects(0).attributes().attributes().at("mail").values(0),
            "two@x.test");
  auto m1 = replay->Answer(Read("r-new-4", "m1"));
  ASSERT_OK(m1);
  const v1::ObservedObject& o = (*m1)[0].observed().objects(0);
  EXPECT_EQ(o.failure(), v1::OUTCOME_UNSPECIFIED);
  EXPECT_EQ(o.dn(), "CN=one");
  EXPECT_EQ(o.attributes().attributes().at("extensionAttribute1").values(0), "g2");
  EXPECT_THAT(replay->synthesized(), SizeIs(2));
}

TEST(CompatSessionReplayTest, SynthesizesNotFoundForAnObjectNeverSeen) {
  auto replay = SessionReplay::Create(Recording(), Before());
  ASSERT_OK(replay);
  auto answer = replay->Answer(Read("r-new-1", "orphan"));
  ASSERT_OK(answer);
  EXPECT_EQ((*answer)[0].observed().objects(0).failure(), v1::FAILED_PERMANENT);
}

TEST(CompatSessionReplayTest, RefusesARecordingWithoutHello) {
  std::vector<RecordedMessage> r = Recording();
  r.erase(r.begin());
  EXPECT_THAT(SessionReplay::Create(r, Before()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CompatSessionReplayTest, AnswersAScanWithTheRecordedPagesUnderTheNewIdThenFails) {
  std::vector<RecordedMessage> r = Recording();
  v1::ControllerMessage scan;
  scan.mutable_scan()->set_scan_id("scan-old-1");
  r.push_back(FromController(scan));
  for (int i = 0; i < 2; ++i) {
    v1::AgentMessage page;
    page.mutable_scan_page()->set_scan_id("scan-old-1");
    page.mutable_scan_page()->add_objects()->set_dn(absl::StrCat("CN=page", i));
    page.mutable_scan_page()->set_last(i == 1);
    r.push_back(FromAgent(page));
  }
  auto replay = SessionReplay::Create(r, Before());
  ASSERT_OK(replay.status());
  EXPECT_THAT(replay->Unused(), Contains(HasSubstr("scan scan-old-1 (2 pages)")));

  v1::ControllerMessage now;
  now.mutable_scan()->set_scan_id("scan-new-7");
  auto pages = replay->Answer(now);
  ASSERT_OK(pages.status());
  ASSERT_EQ(pages->size(), 2u);
  EXPECT_EQ((*pages)[0].scan_page().scan_id(), "scan-new-7");
  EXPECT_EQ((*pages)[0].scan_page().objects(0).dn(), "CN=page0");
  EXPECT_FALSE((*pages)[0].scan_page().last());
  EXPECT_EQ((*pages)[1].scan_page().scan_id(), "scan-new-7");
  EXPECT_TRUE((*pages)[1].scan_page().last());
  EXPECT_THAT(replay->Unused(), Not(Contains(HasSubstr("scan"))));

  // A scan the recorded agent never ran is not answered with success.
  now.mutable_scan()->set_scan_id("scan-new-8");
  pages = replay->Answer(now);
  ASSERT_OK(pages.status());
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_TRUE((*pages)[0].scan_page().last());
  EXPECT_EQ((*pages)[0].scan_page().failure(), v1::FAILED_RETRYABLE);
  EXPECT_EQ((*pages)[0].scan_page().objects_size(), 0);
  EXPECT_THAT(replay->answered_scans(), ElementsAre("scan-new-7", "scan-new-8"));
  EXPECT_THAT(replay->synthesized(), Contains(HasSubstr("scan-new-8")));
}

TEST(CompatSessionRecordingTest, FormatAndParseRoundTrip) {
  std::vector<RecordedMessage> r = Recording();
  r[1].at_ms = 12;
  std::string text = FormatSession(r, {"header"});
  EXPECT_THAT(text, HasSubstr("# A2C hello { protocol_version: 1 max_in_flight: 64 }"));
  auto parsed = ParseSession(text);
  ASSERT_OK(parsed);
  ASSERT_THAT(*parsed, SizeIs(r.size()));
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ((*parsed)[i].bytes, r[i].bytes);
    EXPECT_EQ((*parsed)[i].direction, r[i].direction);
    EXPECT_EQ((*parsed)[i].at_ms, r[i].at_ms);
  }
  EXPECT_THAT(ParseSession("A2C x y\n"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace writeback::testing
