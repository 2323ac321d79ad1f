// CompareObservation: what an observation of a reconciliation pass means for
// a mailbox (DESIGN §6).
#include "controller/reconcile/compare.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
namespace v1 = writeback::v1;

const absl::Time kStarted = absl::FromUnixSeconds(1'700'000'000);
const int64_t kStartedMs = absl::ToUnixMillis(kStarted);

void Put(v1::AttributeMap* map, const std::string& attr, std::vector<std::string> values) {
  auto& v = (*map->mutable_attributes())[attr];
  v.clear_values();
  for (auto& s : values) v.add_values(s);
}

// An IN_SYNC mailbox whose state was learned well before the pass began.
MailboxRecord InSync() {
  MailboxRecord m;
  m.cloud_id = "m1";
  m.status = v1::IN_SYNC;
  m.desired_gen = m.applied_gen = 2;
  Put(&m.desired, "extensionAttribute1", {"cloud"});
  Put(&m.desired, "proxyAddresses", {"SMTP:a@x.test", "smtp:b@x.test"});
  m.last_known = m.desired;
  m.known_ms = kStartedMs - 60'000;
  m.updated_ms = kStartedMs - 120'000;
  return m;
}

v1::ObservedObject Seen(const MailboxRecord& m) {
  v1::ObservedObject o;
  *o.mutable_attributes() = m.desired;
  Put(o.mutable_attributes(), "extensionAttribute9", {"not managed"});
  o.set_dn("CN=u1,OU=Mailboxes,DC=corp");
  o.set_when_changed("20261123202109.0Z");
  o.set_dc("ldaps://dc1");
  return o;
}

TEST(CompareTest, SameValuesAsTheDirectoryComparesAreInSync) {
  MailboxRecord m = InSync();
  v1::ObservedObject o = Seen(m);
  // Case of a string and order of a set do not matter; the proxy prefix does.
  Put(o.mutable_attributes(), "extensionAttribute1", {"CLOUD"});
  Put(o.mutable_attributes(), "proxyAddresses", {"smtp:B@x.test", "SMTP:a@X.test"});
  Comparison c = CompareObservation(m, o, kStarted);
  EXPECT_EQ(c.kind, Comparison::kInSync);
  EXPECT_TRUE(c.drift.empty());
}

TEST(CompareTest, OnPremEditOfAManagedAttributeIsDrift) {
  MailboxRecord m = InSync();
  v1::ObservedObject o = Seen(m);
  Put(o.mutable_attributes(), "extensionAttribute1", {"onprem"});
  Put(o.mutable_attributes(), "proxyAddresses", {"smtp:a@x.test", "SMTP:b@x.test"});
  Comparison c = CompareObservation(m, o, kStarted);
  ASSERT_EQ(c.kind, Comparison::kDrift);
  ASSERT_EQ(c.drift.size(), 2u) << "the swapped primary counts: the prefix compares exactly";
  EXPECT_EQ(c.drift[0].attribute, "extensionAttribute1");
  EXPECT_THAT(c.drift[0].expected, ElementsAre("cloud"));
  EXPECT_THAT(c.drift[0].found, ElementsAre("onprem"));
  EXPECT_EQ(c.drift[1].attribute, "proxyAddresses");
}

TEST(CompareTest, AnAttributeClearedOnPremIsDriftAndUnmanagedOnesAreNot) {
  MailboxRecord m = InSync();
  v1::ObservedObject o = Seen(m);
  o.mutable_attributes()->mutable_attributes()->erase("extensionAttribute1");
  Put(o.mutable_attributes(), "extensionAttribute9", {"changed too"});
  Comparison c = CompareObservation(m, o, kStarted);
  ASSERT_EQ(c.kind, Comparison::kDrift);
  ASSERT_EQ(c.drift.size(), 1u);
  EXPECT_EQ(c.drift[0].attribute, "extensionAttribute1");
  EXPECT_TRUE(c.drift[0].found.empty());
}

TEST(CompareTest, WorkInFlightIsIgnored) {
  MailboxRecord m = InSync();
  m.status = v1::IN_FLIGHT;
  m.inflight_id = "j-1";
  v1::ObservedObject o = Seen(m);
  Put(o.mutable_attributes(), "extensionAttribute1", {"onprem"});
  Comparison c = CompareObservation(m, o, kStarted);
  EXPECT_EQ(c.kind, Comparison::kIgnore);
  EXPECT_EQ(c.reason, Comparison::kInFlight);
}

TEST(CompareTest, AnAnswerAtOrAfterThePassBeganMakesTheObservationStale) {
  for (int64_t known : {kStartedMs, kStartedMs + 1}) {
    MailboxRecord m = InSync();
    m.known_ms = known;
    v1::ObservedObject o = Seen(m);
    Put(o.mutable_attributes(), "extensionAttribute1", {"older value"});
    Comparison c = CompareObservation(m, o, kStarted);
    EXPECT_EQ(c.kind, Comparison::kIgnore) << known;
    EXPECT_EQ(c.reason, Comparison::kStale) << known;
  }
  MailboxRecord edited = InSync();
  edited.updated_ms = kStartedMs + 5;  // a cloud change after the pass began
  v1::ObservedObject o = Seen(edited);
  Put(o.mutable_attributes(), "extensionAttribute1", {"older value"});
  EXPECT_EQ(CompareObservation(edited, o, kStarted).reason, Comparison::kStale);
  // Just before the pass: not stale.
  MailboxRecord before = InSync();
  before.known_ms = kStartedMs - 1;
  EXPECT_EQ(CompareObservation(before, o, kStarted).kind, Comparison::kDrift);
}

TEST(CompareTest, OnlyInSyncMailboxesAreCorrected) {
  for (v1::MailboxStatus s : {v1::PENDING, v1::RETRY_WAIT, v1::CONFLICT_HOLD, v1::QUARANTINED,
                              v1::HELD, v1::OBJECT_NOT_FOUND, v1::OBJECT_DELETED,
                              v1::OUT_OF_SCOPE, v1::DUPLICATE_MATCH}) {
    MailboxRecord m = InSync();
    m.status = s;
    v1::ObservedObject o = Seen(m);
    Put(o.mutable_attributes(), "extensionAttribute1", {"onprem"});
    Comparison c = CompareObservation(m, o, kStarted);
    EXPECT_EQ(c.kind, Comparison::kIgnore) << v1::MailboxStatus_Name(s);
    EXPECT_EQ(c.reason, Comparison::kNotCorrectable) << v1::MailboxStatus_Name(s);
  }
}

TEST(CompareTest, NeverReadMailboxesAndFailedReadsAreIgnored) {
  MailboxRecord m = InSync();
  m.last_known.reset();
  v1::ObservedObject o = Seen(m);
  EXPECT_EQ(CompareObservation(m, o, kStarted).reason, Comparison::kNotOnboarded);
  MailboxRecord n = InSync();
  o.set_failure(v1::FAILED_RETRYABLE);
  EXPECT_EQ(CompareObservation(n, o, kStarted).reason, Comparison::kReadFailed);
}

}  // namespace
}  // namespace writeback::controller
