// The dispatcher with the mass-change guard, against a real SQLite store and
// a fake agent session: what passes the threshold is held, not sent; a held
// mailbox changed again stays held; approval sends the latest values.
#include <cstdlib>

#include "absl/strings/str_cat.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr const char* kForest = StoreFixture::kFixtureForest;

class GuardDispatchTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    Dispatcher::Options options;
    options.tick = absl::Milliseconds(10);
    options.guard.threshold = 2;
    options.guard.window = absl::Hours(1);
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), Clock::Real(), options);
  }
  // An onboarded mailbox whose desired mail differs from AD's.
  void AddChanged(const std::string& id, char anchor_byte) {
    MailboxRecord m;
    m.cloud_id = id;
    m.forest = kForest;
    m.source_anchor = std::string(16, anchor_byte);
    m.desired_gen = 1;
    (*m.desired.mutable_attributes())["mail"].add_values(id + "@new.example");
    m.last_known.emplace();
    (*m.last_known->mutable_attributes())["mail"].add_values(id + "@old.example");
    ASSERT_OK(store_->AddMailbox(m));
  }
  std::vector<MailboxRecord> WithStatus(v1::MailboxStatus status) {
    std::vector<MailboxRecord> out;
    auto all = store_->ListMailboxes(kForest, 0);
    EXPECT_OK(all);
    if (!all.ok()) return out;
    for (const MailboxRecord& m : *all) {
      if (m.status == status) out.push_back(m);
    }
    return out;
  }
  std::vector<v1::Job> Jobs(const std::vector<v1::ControllerMessage>& sent) {
    std::vector<v1::Job> jobs;
    for (const auto& msg : sent) {
      for (const auto& j : msg.jobs().jobs()) jobs.push_back(j);
    }
    return jobs;
  }

};

TEST_F(GuardDispatchTest, PastTheThresholdMailboxesAreHeldUntilApproved) {
  for (int i = 0; i < 5; ++i) AddChanged(absl::StrCat("m", i), static_cast<char>(i + 1));
  auto sink = std::make_shared<FakeSink>();
  SessionInfo info;
  info.agent_id = "a1";
  info.forest = kForest;
  info.max_in_flight = 64;
  dispatcher_->Attach(info, sink);
  dispatcher_->Start();

  sink->WaitFor(1);
  absl::SleepFor(absl::Milliseconds(300));  // many placement rounds
  std::vector<v1::Job> jobs = Jobs(sink->WaitFor(1));
  EXPECT_THAT(jobs, SizeIs(2)) << "threshold 2: two mailboxes change, the rest wait";
  std::vector<MailboxRecord> held = WithStatus(v1::HELD);
  ASSERT_THAT(held, SizeIs(3));
  const int64_t hold_id = held[0].hold_id;
  EXPECT_NE(hold_id, 0);
  for (const auto& m : held) EXPECT_EQ(m.hold_id, hold_id) << "one hold for the burst";
  auto holds = store_->ListHolds(kForest, "open");
  ASSERT_OK(holds);
  ASSERT_THAT(*holds, SizeIs(1));
  EXPECT_EQ((*holds)[0].mailboxes, 3);
  EXPECT_THAT((*holds)[0].reason, HasSubstr("threshold of 2"));
  v1::ListProvisioningLogRequest filter;
  filter.set_kind("held");
  auto log = store_->ListLog(filter);
  ASSERT_OK(log);
  EXPECT_THAT(*log, SizeIs(3));
  EXPECT_THAT((*log)[0].diagnostic(), HasSubstr(absl::StrCat("hold ", hold_id)));

  // Changed again while held: still held (frozen), nothing sent.
  const std::string again = held[0].cloud_id;
  ASSERT_OK(store_->UpdateMailbox(again, [](MailboxRecord& m) {
    (*m.desired.mutable_attributes())["mail"].set_values(0, "latest@new.example");
    m.desired_gen++;
    if (m.status == v1::IN_SYNC) m.status = v1::PENDING;  // as UpdateMailbox does
    return absl::OkStatus();
  }));
  dispatcher_->Wake();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_THAT(Jobs(sink->WaitFor(0)), SizeIs(2)) << "nothing carried out around the hold";
  EXPECT_EQ(store_->GetMailbox(again)->status, v1::HELD);

  // Approved: the held three go out, the changed one with its latest value.
  ASSERT_OK(store_->DecideHold(hold_id, "approved", "test", 1,
                               [](MailboxRecord& m, v1::ProvisioningRecord*) {
                                 return ApproveHeld(absl::Now(), &m);
                               }));
  dispatcher_->Wake();
  sink->WaitFor(2);
  absl::SleepFor(absl::Milliseconds(200));
  jobs = Jobs(sink->WaitFor(2));
  ASSERT_THAT(jobs, SizeIs(5)) << "approved mailboxes are not held again by the full window";
  for (const auto& j : jobs) {
    if (j.mailbox_id() != again) continue;
    EXPECT_EQ(j.generation(), 2u);
    EXPECT_THAT(j.changes(0).desired(), ElementsAre("latest@new.example"));
  }
  EXPECT_THAT(WithStatus(v1::HELD), SizeIs(0));
  auto window = store_->GuardWindow(kForest, 0);
  ASSERT_OK(window);
  EXPECT_EQ(window->counted, 2) << "approved mailboxes do not use up the window";
}

TEST_F(GuardDispatchTest, ReadsAreNeverHeldAndAnOpenHoldCapturesNewChanges) {
  auto hold = store_->OpenHold(kForest, "opened before", 1);
  ASSERT_OK(hold);
  MailboxRecord unread;
  unread.cloud_id = "fresh";
  unread.forest = kForest;
  unread.source_anchor = std::string(16, 'f');
  ASSERT_OK(store_->AddMailbox(unread));
  AddChanged("m1", 1);
  auto sink = std::make_shared<FakeSink>();
  SessionInfo info;
  info.agent_id = "a1";
  info.forest = kForest;
  info.max_in_flight = 8;
  dispatcher_->Attach(info, sink);
  dispatcher_->Start();
  auto sent = sink->WaitFor(1);
  absl::SleepFor(absl::Milliseconds(200));
  sent = sink->WaitFor(1);
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_TRUE(sent[0].has_read_request()) << "the onboarding read is never held";
  auto m1 = store_->GetMailbox("m1");
  ASSERT_OK(m1);
  EXPECT_EQ(m1->status, v1::HELD) << "under the threshold, but the forest's hold is open";
  EXPECT_EQ(m1->hold_id, hold->id);
}

}  // namespace
}  // namespace writeback::controller
