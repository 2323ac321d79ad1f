// The agent's session logic with a fake stream, a fake clock and the
// in-memory directory: work only for a welcomed, leased session; a lost lease
// drops the queue, fences the directory and cuts the stream.
#include "agent/core/agent.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/identity/anchor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/apply/fake_directory.h"
#include "tests/agent/reconcile/scan_fake_directory.h"

namespace writeback::agent {
namespace {

namespace v1 = writeback::v1;
using writeback::agent::testing::FakeDirectory;

constexpr char kDn[] = "CN=u1,OU=Mailboxes,DC=corp,DC=example,DC=test";
const std::string kAnchor(16, '\x07');

class FakeOutbound : public Outbound {
 public:
  void Send(v1::AgentMessage m) override {
    absl::MutexLock lock(&mu_);
    if (m.has_heartbeat()) {
      heartbeats_++;
      return;
    }
    sent_.push_back(std::move(m));
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  void Close() override {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  bool WaitClosed() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&closed_), absl::Seconds(10));
    return closed_;
  }
  // Waits (hang guard 10 s) for `n` non-heartbeat messages.
  std::vector<v1::AgentMessage> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sent_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return sent_;
  }
  bool WaitCancelled() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&cancelled_), absl::Seconds(10));
    return cancelled_;
  }
  int heartbeats() {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::AgentMessage> sent_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
};

v1::ControllerMessage Welcome() {
  v1::ControllerMessage m;
  m.mutable_welcome()->set_session_id("s1");
  m.mutable_welcome()->set_lease_ms(5000);
  m.mutable_welcome()->set_heartbeat_interval_ms(1000);
  return m;
}

v1::ControllerMessage JobSetting(const std::string& job_id, const std::string& value) {
  v1::ControllerMessage m;
  v1::Job* job = m.mutable_jobs()->add_jobs();
  job->set_job_id(job_id);
  job->set_mailbox_id("m1");
  job->set_source_anchor(kAnchor);
  job->set_generation(1);
  auto* change = job->add_changes();
  change->set_attribute("extensionAttribute1");
  change->add_desired(value);
  return m;
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest()
      : clock_(absl::FromUnixSeconds(1000)),
        applier_(&directory_, LocalPolicy{{}, {"OU=Mailboxes,DC=corp,DC=example,DC=test"}}),
        agent_(&applier_, &directory_, &clock_,
               Agent::Options{{}, [this] { drained_.Notify(); }}) {
    directory_.AddObject(kDn, {{"objectGUID", {kAnchor}}});
    agent_.Start();
    agent_.OnStreamStarted(outbound_);
  }
  ~AgentTest() override { agent_.Stop(); }

  FakeClock clock_;
  FakeDirectory directory_;
  JobApplier applier_;
  absl::Notification drained_;
  Agent agent_;
  std::shared_ptr<FakeOutbound> outbound_ = std::make_shared<FakeOutbound>();
};

TEST_F(AgentTest, AppliesJobsOfAWelcomedSessionAndAnswersEach) {
  agent_.OnMessage(Welcome());
  agent_.OnMessage(JobSetting("j1", "HR"));
  auto sent = outbound_->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_results());
  EXPECT_EQ(sent[0].results().results(0).job_id(), "j1");
  EXPECT_EQ(sent[0].results().results(0).outcome(), v1::APPLIED);
  EXPECT_THAT(directory_.Get(kDn, "extensionAttribute1"), ::testing::ElementsAre("HR"));
}

TEST_F(AgentTest, DrainAnswersWhatItHoldsClosesTheStreamAndLeaves) {
  agent_.OnMessage(Welcome());
  agent_.OnMessage(JobSetting("j1", "HR"));
  v1::ControllerMessage drain;
  drain.mutable_drain()->set_reason("upgrade");
  agent_.OnMessage(drain);
  auto sent = outbound_->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].results().results(0).outcome(), v1::APPLIED);
  EXPECT_TRUE(outbound_->WaitClosed());  // graceful: the answer went first
  EXPECT_FALSE(drained_.HasBeenNotified());
  agent_.OnStreamEnded(grpc::Status::OK);
  EXPECT_TRUE(drained_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // A drained agent takes no new session.
  auto next = std::make_shared<FakeOutbound>();
  agent_.OnStreamStarted(next);
  EXPECT_TRUE(next->WaitCancelled());
}

TEST_F(AgentTest, AnswersReadRequestsWithWhatTheDirectoryHolds) {
  directory_.Set(kDn, "mail", {"u1@corp.example.test"});
  agent_.OnMessage(Welcome());
  v1::ControllerMessage read;
  read.mutable_read_request()->set_request_id("r1");
  read.mutable_read_request()->add_targets()->set_source_anchor(kAnchor);
  agent_.OnMessage(read);
  auto sent = outbound_->WaitFor(1);
  ASSERT_TRUE(sent[0].has_observed());
  EXPECT_EQ(sent[0].observed().request_id(), "r1");
  const auto& attrs = sent[0].observed().objects(0).attributes().attributes();
  EXPECT_THAT(attrs.at("mail").values(), ::testing::ElementsAre("u1@corp.example.test"));
}

TEST_F(AgentTest, LostLeaseFencesTheDirectoryCutsTheStreamAndRefusesLaterWork) {
  agent_.OnMessage(Welcome());
  clock_.Advance(absl::Seconds(6));  // nothing heard for longer than the lease
  ASSERT_TRUE(outbound_->WaitCancelled());
  EXPECT_GE(directory_.close_calls(), 1);
  // A job that still arrives on the dead session is never carried out.
  agent_.OnMessage(JobSetting("j-late", "late"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(outbound_->WaitFor(0).empty());
  EXPECT_TRUE(directory_.Get(kDn, "extensionAttribute1").empty());
}

TEST_F(AgentTest, AMessageArrivingAfterTheLeaseExpiredDoesNotRenewIt) {
  // A frozen agent (SIGSTOP) resumes with the controller's last heartbeats
  // still in its socket: even from a version-1 controller, whose messages
  // renew the lease, they must not revive a lease that ran out by the
  // agent's own clock before its ticker noticed.
  agent_.OnMessage(Welcome());
  clock_.Advance(absl::Seconds(6));
  agent_.OnMessage(v1::ControllerMessage());  // a late heartbeat
  agent_.OnMessage(JobSetting("j-stale", "stale"));
  EXPECT_TRUE(outbound_->WaitCancelled()) << "the expired session went on";
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(directory_.Get(kDn, "extensionAttribute1").empty()) << "a stale job was written";
}

TEST_F(AgentTest, WorkIsDroppedWhenTheStreamEnds) {
  agent_.OnMessage(Welcome());
  agent_.OnStreamEnded(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  agent_.OnMessage(JobSetting("j1", "HR"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(directory_.Get(kDn, "extensionAttribute1").empty());
  EXPECT_GE(directory_.close_calls(), 1);
}

TEST_F(AgentTest, WorkBeforeTheWelcomeIsNeverDoneAndEndsTheStream) {
  agent_.OnMessage(JobSetting("early", "HR"));  // protocol error: no Welcome yet
  ASSERT_TRUE(outbound_->WaitCancelled());
  agent_.OnMessage(Welcome());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(directory_.Get(kDn, "extensionAttribute1").empty());
  EXPECT_TRUE(outbound_->WaitFor(0).empty());
}

v1::ControllerMessage Echo(uint64_t sequence) {
  v1::ControllerMessage m;
  m.mutable_heartbeat()->set_sequence(1000 + sequence);
  m.mutable_heartbeat()->set_echo(sequence);
  return m;
}

// Protocol 2: the lease runs from when the agent sent the heartbeat the
// controller echoed, so messages that waited in a buffer while the agent was
// stalled (SIGSTOP) cannot revive it.
TEST_F(AgentTest, BufferedEchoesAfterAStallDoNotReviveTheLease) {
  v1::ControllerMessage welcome = Welcome();  // lease 5 s
  welcome.mutable_welcome()->set_protocol_version(2);
  agent_.OnMessage(welcome);
  absl::Time deadline = absl::Now() + absl::Seconds(10);  // hang guard
  while (outbound_->heartbeats() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(outbound_->heartbeats(), 1);  // heartbeat 1, sent at t0
  clock_.Advance(absl::Seconds(4));
  agent_.OnMessage(Echo(1));  // renews from t0: 4 s of 5 used
  agent_.OnMessage(JobSetting("j1", "before-stall"));
  ASSERT_EQ(outbound_->WaitFor(1).size(), 1u);
  // The agent stalls 6 s; what the controller sent meanwhile arrives at once.
  clock_.Advance(absl::Seconds(6));
  agent_.OnMessage(Echo(1));
  agent_.OnMessage(JobSetting("j2", "stale"));
  ASSERT_TRUE(outbound_->WaitCancelled());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(outbound_->WaitFor(1).size(), 1u) << "no answer for the stale job";
  EXPECT_THAT(directory_.Get(kDn, "extensionAttribute1"), ::testing::ElementsAre("before-stall"));
}

TEST_F(AgentTest, AMessageThatIsNoEchoDoesNotRenewAVersion2Lease) {
  v1::ControllerMessage welcome = Welcome();
  welcome.mutable_welcome()->set_protocol_version(2);
  agent_.OnMessage(welcome);
  for (int i = 0; i < 6; ++i) {  // 6.6 s of messages that echo nothing
    clock_.Advance(absl::Milliseconds(1100));
    agent_.OnMessage(v1::ControllerMessage());
  }
  EXPECT_TRUE(outbound_->WaitCancelled());
}

TEST_F(AgentTest, HeartbeatsFlowWhileTheLeaseHolds) {
  agent_.OnMessage(Welcome());
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Milliseconds(1100));
    agent_.OnMessage(v1::ControllerMessage());  // anything renews the lease
    absl::SleepFor(absl::Milliseconds(250));    // the ticker runs every 100 ms
  }
  EXPECT_GE(outbound_->heartbeats(), 2);
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

v1::ControllerMessage ScanRequest(const std::string& id) {
  v1::ControllerMessage m;
  m.mutable_scan()->set_scan_id(id);
  return m;
}

// A ScanRequest goes to the Scanner, which reads on a directory of its own
// and answers on the session's stream; when the session ends, a scan still
// running is abandoned and sends nothing more.
TEST(AgentScanTest, ScansOfTheWelcomedSessionRunAndEndWithIt) {
  constexpr char kScope[] = "OU=Mailboxes,DC=corp,DC=example,DC=test";
  FakeClock clock(absl::FromUnixSeconds(1000));
  FakeDirectory directory;
  LocalPolicy policy;
  policy.scope_ous = {kScope};
  JobApplier applier(&directory, policy);
  testing::ScanFakeDirectory scan_directory;
  for (int i = 1; i <= 3; ++i) {
    scan_directory.AddUser(absl::StrCat("CN=s", i, ",", kScope), i,
                           {{"objectGUID", {std::string(16, 'a' + i)}}});
  }
  Scanner::Options scan_options;
  scan_options.policy.scope_ous = {kScope};
  scan_options.open_directory = [&]() -> absl::StatusOr<std::unique_ptr<DirectorySet>> {
    return std::make_unique<DirectorySet>(&scan_directory);
  };
  Scanner scanner(std::move(scan_options));
  Agent::Options options;
  options.scanner = &scanner;
  Agent agent(&applier, &directory, &clock, options);
  agent.Start();
  auto outbound = std::make_shared<FakeOutbound>();
  agent.OnStreamStarted(outbound);
  agent.OnMessage(Welcome());

  agent.OnMessage(ScanRequest("s1"));
  auto sent = outbound->WaitFor(1);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_scan_page());
  EXPECT_EQ(sent[0].scan_page().scan_id(), "s1");
  EXPECT_TRUE(sent[0].scan_page().last());
  EXPECT_EQ(sent[0].scan_page().objects_size(), 3);
  EXPECT_EQ(sent[0].scan_page().marks_size(), 1);
  EXPECT_EQ(directory.search_calls(), 0);  // not on the worker's connection

  scan_directory.Hold();
  agent.OnMessage(ScanRequest("s2"));
  ASSERT_TRUE(scan_directory.WaitForSearches(2));
  agent.OnStreamEnded(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  // The scan's own connection is cut (s1's too if it had not wound down yet).
  EXPECT_GE(scan_directory.close_calls(), 1);
  scan_directory.Release();
  scanner.Stop();  // the abandoned scan has finished
  EXPECT_EQ(outbound->WaitFor(0).size(), 1u) << "a page of an ended session went out";
  agent.Stop();
}

}  // namespace
}  // namespace writeback::agent
