// SqliteStore's reconciliation state: drift records written with their
// mailbox's update, their queries and retention, the anchor lookup, the
// correction history and known_ms columns, and the scan marks.
#include <memory>

#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using writeback::controller::testing::Anchor;
using writeback::controller::testing::NewMailbox;
using writeback::controller::testing::TempDir;
using writeback::testing::StatusIs;
namespace v1 = writeback::v1;

constexpr char kForest[] = "corp.example.test";

ForestRecord Forest(const std::string& name, const std::string& ou) {
  ForestRecord f;
  f.name = name;
  f.scope_ous = {ou};
  f.created_ms = 1;
  return f;
}

class SqliteDriftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.File("state.db"));
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(store_->AddForest(Forest(kForest, "OU=Mailboxes,DC=corp")));
    ASSERT_OK(store_->AddMailbox(NewMailbox("m1", kForest, Anchor(1))));
    ASSERT_OK(store_->AddMailbox(NewMailbox("m2", kForest, Anchor(2))));
  }

  static v1::DriftRecord Drift(const std::string& attribute, const std::string& found,
                               int64_t time_ms, const std::string& action = "corrected") {
    v1::DriftRecord d;
    d.set_time_ms(time_ms);
    d.set_attribute(attribute);
    d.add_expected("cloud");
    d.add_found(found);
    d.set_source("scan");
    d.set_action(action);
    d.set_dc("ldaps://dc1");
    d.set_when_changed("20261123202109.0Z");
    return d;
  }

  // One update of `id` that emits `drift` and sets the status.
  absl::StatusOr<std::vector<absl::StatusOr<MailboxRecord>>> Emit(
      const std::string& id, std::vector<v1::DriftRecord> drift, v1::MailboxStatus status,
      absl::Status result = absl::OkStatus()) {
    MailboxUpdate u;
    u.cloud_id = id;
    u.mutate_drift = [drift, status, result](MailboxRecord& m, v1::ProvisioningRecord*,
                                             std::vector<v1::DriftRecord>* out) {
      m.status = status;
      m.corrections_ms.push_back(1000 + static_cast<int64_t>(m.corrections_ms.size()));
      m.known_ms = 777;
      for (const auto& d : drift) out->push_back(d);
      return result;
    };
    return store_->UpdateMailboxes({u});
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteDriftTest, DriftIsWrittenWithTheMailboxAndFilledFromIt) {
  auto written = Emit("m1", {Drift("extensionAttribute1", "onprem", 100)}, v1::PENDING);
  ASSERT_OK(written);
  ASSERT_OK((*written)[0]);
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_EQ(m->status, v1::PENDING);
  EXPECT_THAT(m->corrections_ms, ElementsAre(1000));
  EXPECT_EQ(m->known_ms, 777);
  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_GT((*drift)[0].id(), 0);
  EXPECT_EQ((*drift)[0].mailbox_id(), "m1");
  EXPECT_EQ((*drift)[0].forest(), kForest);
  EXPECT_THAT((*drift)[0].found(), ElementsAre("onprem"));
  EXPECT_EQ((*drift)[0].when_changed(), "20261123202109.0Z");
}

TEST_F(SqliteDriftTest, AFailedMutateWritesNoDrift) {
  auto written = Emit("m1", {Drift("extensionAttribute1", "onprem", 100)}, v1::PENDING,
                      absl::CancelledError("in sync"));
  ASSERT_OK(written);
  EXPECT_THAT((*written)[0].status(), StatusIs(absl::StatusCode::kCancelled));
  auto drift = store_->ListDrift({});
  ASSERT_OK(drift);
  EXPECT_THAT(*drift, IsEmpty());
  auto m = store_->GetMailbox("m1");
  ASSERT_OK(m);
  EXPECT_THAT(m->corrections_ms, IsEmpty());
}

TEST_F(SqliteDriftTest, ListFiltersNewestFirst) {
  ASSERT_OK(Emit("m1", {Drift("extensionAttribute1", "a", 100), Drift("mail", "b", 100)},
                 v1::PENDING));
  ASSERT_OK(Emit("m1", {Drift("extensionAttribute1", "c", 200)}, v1::PENDING));
  ASSERT_OK(Emit("m2", {Drift("extensionAttribute1", "d", 300, "conflict")}, v1::CONFLICT_HOLD));
  auto all = store_->ListDrift({});
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_THAT((*all)[0].found(), ElementsAre("d"));
  EXPECT_THAT((*all)[3].found(), ElementsAre("a"));

  v1::ListDriftRequest f;
  f.set_cloud_id("m1");
  f.set_attribute("extensionAttribute1");
  auto m1 = store_->ListDrift(f);
  ASSERT_OK(m1);
  ASSERT_EQ(m1->size(), 2u);
  EXPECT_THAT((*m1)[0].found(), ElementsAre("c"));

  v1::ListDriftRequest range;
  range.set_since_ms(100);
  range.set_until_ms(300);
  range.set_limit(2);
  auto r = store_->ListDrift(range);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_THAT((*r)[0].found(), ElementsAre("c"));

  v1::ListDriftRequest conflicts;
  conflicts.set_action("conflict");
  auto c = store_->ListDrift(conflicts);
  ASSERT_OK(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].mailbox_id(), "m2");
}

TEST_F(SqliteDriftTest, SummaryPerMailboxAndAttributeKnowsTheConflictHold) {
  ASSERT_OK(Emit("m1", {Drift("extensionAttribute1", "a", 100)}, v1::PENDING));
  ASSERT_OK(Emit("m1", {Drift("extensionAttribute1", "b", 200)}, v1::IN_SYNC));
  ASSERT_OK(Emit("m2", {Drift("extensionAttribute1", "x", 150)}, v1::PENDING));
  ASSERT_OK(Emit("m2", {Drift("extensionAttribute1", "y", 250, "conflict")}, v1::CONFLICT_HOLD));
  auto rows = store_->SummarizeDrift({});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].cloud_id(), "m2");
  EXPECT_EQ((*rows)[0].drift_count(), 2u);
  EXPECT_THAT((*rows)[0].last_found(), ElementsAre("y"));
  EXPECT_EQ((*rows)[0].last_time_ms(), 250);
  EXPECT_TRUE((*rows)[0].in_conflict());
  EXPECT_EQ((*rows)[1].cloud_id(), "m1");
  EXPECT_EQ((*rows)[1].drift_count(), 2u);
  EXPECT_FALSE((*rows)[1].in_conflict());

  // Released by the operator: no longer in conflict.
  ASSERT_OK(store_->UpdateMailbox("m2", [](MailboxRecord& m) {
    m.status = v1::PENDING;
    return absl::OkStatus();
  }));
  rows = store_->SummarizeDrift({});
  ASSERT_OK(rows);
  EXPECT_FALSE((*rows)[0].in_conflict());
}

TEST_F(SqliteDriftTest, PruneDriftDeletesOldRecords) {
  ASSERT_OK(Emit("m1", {Drift("mail", "a", 100), Drift("mail", "b", 5000)}, v1::PENDING));
  auto pruned = store_->PruneDrift(1000);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 1);
  auto left = store_->ListDrift({});
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_THAT((*left)[0].found(), ElementsAre("b"));
}

TEST_F(SqliteDriftTest, FindsMailboxesByAnchorWithinTheForest) {
  ASSERT_OK(store_->AddForest(Forest("other.test", "OU=X,DC=other")));
  ASSERT_OK(store_->AddMailbox(NewMailbox("o1", "other.test", Anchor(3))));
  auto found = store_->FindMailboxesByAnchor(kForest, {Anchor(2), Anchor(3), Anchor(9)});
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].cloud_id, "m2");
}

TEST_F(SqliteDriftTest, ScanMarksAreReplacedAsAWholePerAgent) {
  ASSERT_OK(store_->SaveScanMarks(kForest, "a1", {{"inv-a", "ldaps://dc1", 100, 1},
                                                  {"inv-b", "ldaps://dc2", 200, 1}}));
  ASSERT_OK(store_->SaveScanMarks(kForest, "a2", {{"inv-a", "ldaps://dc1", 150, 1}}));
  ASSERT_OK(store_->SaveScanMarks(kForest, "a1", {{"inv-c", "ldaps://dc1", 300, 2}}));
  auto marks = store_->ListScanMarks(kForest, "a1");
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].invocation_id, "inv-c");
  EXPECT_EQ((*marks)[0].usn, 300);
  // Another agent (its own scope OUs) keeps its own marks.
  auto other_agent = store_->ListScanMarks(kForest, "a2");
  ASSERT_OK(other_agent);
  ASSERT_EQ(other_agent->size(), 1u);
  EXPECT_EQ((*other_agent)[0].usn, 150);
  auto none = store_->ListScanMarks("other.test", "a1");
  ASSERT_OK(none);
  EXPECT_THAT(*none, IsEmpty());
}

}  // namespace
}  // namespace writeback::controller
