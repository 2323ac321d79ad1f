// SqliteStore against a real SQLite file in a private temporary directory.
#include "controller/store/sqlite_store.h"

#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/controller/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using testing::Anchor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::NewMailbox;
using ::testing::Pair;
using ::testing::SizeIs;
using testing::TempDir;
using writeback::testing::StatusIs;
using writeback::v1::AttributeMap;
using writeback::v1::ProvisioningRecord;

AttributeMap Attributes(
    std::initializer_list<std::pair<std::string, std::vector<std::string>>> attributes) {
  AttributeMap map;
  for (const auto& [name, values] : attributes) {
    auto& entry = (*map.mutable_attributes())[name];
    for (const auto& v : values) entry.add_values(v);
  }
  return map;
}

bool SameMap(const AttributeMap& a, const AttributeMap& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::vector<std::string> Ids(const std::vector<MailboxRecord>& mailboxes) {
  std::vector<std::string> ids;
  for (const auto& m : mailboxes) ids.push_back(m.cloud_id);
  return ids;
}

std::vector<std::string> JobIds(const std::vector<ProvisioningRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.job_id());
  return ids;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("state.db");
    Reopen();
    ASSERT_OK(store_->AddForest({"corp.example.com", {"OU=Users,DC=corp"}, 1}));
    ASSERT_OK(store_->AddForest({"lab.example.com", {}, 2}));
  }

  void Reopen() {
    store_.reset();
    auto opened = SqliteStore::Open(path_);
    ASSERT_OK(opened);
    store_ = std::move(*opened);
  }

  // Adds a mailbox of corp.example.com with the given status and times.
  void AddMailbox(const std::string& id, uint8_t anchor, writeback::v1::MailboxStatus status,
                  int64_t updated_ms, int64_t next_attempt_ms = 0,
                  const std::string& forest = "corp.example.com") {
    MailboxRecord m = NewMailbox(id, forest, Anchor(anchor));
    m.status = status;
    m.updated_ms = updated_ms;
    m.next_attempt_ms = next_attempt_ms;
    ASSERT_OK(store_->AddMailbox(m));
  }

  ProvisioningRecord Log(const std::string& job_id, int64_t time_ms, const std::string& mailbox,
                         const std::string& forest, const std::string& agent,
                         writeback::v1::Outcome outcome) {
    ProvisioningRecord r;
    r.set_job_id(job_id);
    r.set_time_ms(time_ms);
    r.set_mailbox_id(mailbox);
    r.set_forest(forest);
    r.set_agent_id(agent);
    r.set_outcome(outcome);
    return r;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, OpenCreatesTheFileReadableByItsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(SqliteStoreTest, OpenInAMissingDirectoryNamesTheDirectory) {
  EXPECT_THAT(SqliteStore::Open(dir_.File("missing/state.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("directory \"" + dir_.File("missing") + "\" does not exist")));
}

TEST_F(SqliteStoreTest, ForestIsReturnedWithItsScopeInOrder) {
  ASSERT_OK(store_->AddForest({"emea.example.com", {"OU=B,DC=emea", "OU=A,DC=emea"}, 7}));
  auto forest = store_->GetForest("emea.example.com");
  ASSERT_OK(forest);
  EXPECT_EQ(forest->name, "emea.example.com");
  EXPECT_THAT(forest->scope_ous, ElementsAre("OU=B,DC=emea", "OU=A,DC=emea"));
  EXPECT_EQ(forest->created_ms, 7);
}

TEST_F(SqliteStoreTest, DuplicateForestIsRefusedAndKeepsTheFirst) {
  EXPECT_THAT(store_->AddForest({"corp.example.com", {"OU=Other"}, 9}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("\"corp.example.com\"")));
  EXPECT_THAT(store_->GetForest("corp.example.com")->scope_ous, ElementsAre("OU=Users,DC=corp"));
}

TEST_F(SqliteStoreTest, ForestNameMustBeLowerCase) {
  EXPECT_THAT(store_->AddForest({"Corp.Example.COM", {}, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lower case")));
}

TEST_F(SqliteStoreTest, UnknownForestIsNotFound) {
  EXPECT_THAT(store_->GetForest("nope.example.com"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"nope.example.com\"")));
}

TEST_F(SqliteStoreTest, ForestsAreListedByName) {
  auto forests = store_->ListForests();
  ASSERT_OK(forests);
  ASSERT_THAT(*forests, SizeIs(2));
  EXPECT_EQ((*forests)[0].name, "corp.example.com");
  EXPECT_THAT((*forests)[0].scope_ous, ElementsAre("OU=Users,DC=corp"));
  EXPECT_EQ((*forests)[1].name, "lab.example.com");
  EXPECT_TRUE((*forests)[1].scope_ous.empty());
}

TEST_F(SqliteStoreTest, UpsertAgentReplacesItsRecord) {
  ASSERT_OK(store_->UpsertAgent({"a2", "corp.example.com", "0.1", "connected", 10}));
  ASSERT_OK(store_->UpsertAgent({"a1", "corp.example.com", "0.1", "connected", 11}));
  ASSERT_OK(store_->UpsertAgent({"b1", "lab.example.com", "0.1", "connected", 12}));
  ASSERT_OK(store_->UpsertAgent({"a2", "corp.example.com", "0.2", "disconnected", 20}));

  auto corp = store_->ListAgents("corp.example.com");
  ASSERT_OK(corp);
  ASSERT_THAT(*corp, SizeIs(2));
  EXPECT_EQ((*corp)[0].agent_id, "a1");
  EXPECT_EQ((*corp)[1].agent_id, "a2");
  EXPECT_EQ((*corp)[1].version, "0.2");
  EXPECT_EQ((*corp)[1].state, "disconnected");
  EXPECT_EQ((*corp)[1].last_seen_ms, 20);
  EXPECT_THAT(*store_->ListAgents(""), SizeIs(3));
}

TEST_F(SqliteStoreTest, AddedMailboxIsReturnedAsGiven) {
  MailboxRecord m = NewMailbox("11111111-aaaa", "corp.example.com", Anchor(1));
  m.desired = Attributes({{"mail", {"a@corp.example.com"}}});
  ASSERT_OK(store_->AddMailbox(m));
  auto got = store_->GetMailbox("11111111-aaaa");
  ASSERT_OK(got);
  EXPECT_EQ(got->source_anchor, Anchor(1));
  EXPECT_TRUE(SameMap(got->desired, m.desired));
  EXPECT_FALSE(got->last_known.has_value());
  EXPECT_EQ(got->status, writeback::v1::PENDING);
}

TEST_F(SqliteStoreTest, TakenCloudIdIsRefused) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->AddMailbox(NewMailbox("m1", "corp.example.com", Anchor(2))),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("mailbox m1 already exists")));
}

TEST_F(SqliteStoreTest, TakenAnchorIsRefusedNamingItsHolderAndNothingIsStored) {
  AddMailbox("holder", 1, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->AddMailbox(NewMailbox("newcomer", "corp.example.com", Anchor(1))),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("source anchor " + absl::BytesToHexString(Anchor(1)) +
                                 " already belongs to mailbox holder")));
  EXPECT_THAT(store_->GetMailbox("newcomer"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, OneAnchorMayAppearInTwoForests) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0, 0, "corp.example.com");
  AddMailbox("m2", 1, writeback::v1::PENDING, 0, 0, "lab.example.com");
}

TEST_F(SqliteStoreTest, MailboxOfUnknownForestIsRefused) {
  EXPECT_THAT(store_->AddMailbox(NewMailbox("m1", "nope.example.com", Anchor(1))),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("forest \"nope.example.com\" is not registered; add it with "
                                 "writebackctl forest add")));
}

TEST_F(SqliteStoreTest, UnknownMailboxIsNotFound) {
  EXPECT_THAT(store_->GetMailbox("ghost"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("mailbox ghost is not registered")));
  EXPECT_THAT(store_->UpdateMailbox("ghost", [](MailboxRecord&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ghost")));
}

TEST_F(SqliteStoreTest, UpdateMailboxRoundTripsEveryField) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  auto mutate = [](MailboxRecord& m) {
    m.forest = "lab.example.com";
    m.source_anchor = Anchor(9);
    m.desired = Attributes({{"proxyAddresses", {"SMTP:a@x", "smtp:b@x"}}, {"mail", {}}});
    m.last_known = Attributes({{"proxyAddresses", {"SMTP:a@x"}}});
    m.desired_gen = (uint64_t{1} << 63) + 5;  // beyond int64
    m.applied_gen = 4;
    m.status = writeback::v1::RETRY_WAIT;
    m.attempts = 3;
    m.next_attempt_ms = 1'700'000'000'123;
    m.last_error = "LDAP 51: busy";
    m.dn = "CN=A,OU=Users,DC=lab";
    m.inflight_id = "job-7";
    m.inflight_session = "session-2";
    m.inflight_gen = 5;
    m.updated_ms = 1'700'000'000'000;
    m.inflight_job.set_job_id("job-7");
    m.inflight_job.set_generation(5);
    m.unconfirmed.add_jobs()->set_job_id("job-6");
    m.verify_read = true;
    return absl::OkStatus();
  };
  auto written = store_->UpdateMailbox("m1", mutate);
  ASSERT_OK(written);
  Reopen();
  auto got = store_->GetMailbox("m1");
  ASSERT_OK(got);
  MailboxRecord want = NewMailbox("m1", "corp.example.com", Anchor(1));
  ASSERT_OK(mutate(want));
  for (const MailboxRecord* m : {&*written, &*got}) {
    EXPECT_EQ(m->cloud_id, "m1");
    EXPECT_EQ(m->forest, want.forest);
    EXPECT_EQ(m->source_anchor, want.source_anchor);
    EXPECT_TRUE(SameMap(m->desired, want.desired));
    ASSERT_TRUE(m->last_known.has_value());
    EXPECT_TRUE(SameMap(*m->last_known, *want.last_known));
    EXPECT_EQ(m->desired_gen, want.desired_gen);
    EXPECT_EQ(m->applied_gen, want.applied_gen);
    EXPECT_EQ(m->status, want.status);
    EXPECT_EQ(m->attempts, want.attempts);
    EXPECT_EQ(m->next_attempt_ms, want.next_attempt_ms);
    EXPECT_EQ(m->last_error, want.last_error);
    EXPECT_EQ(m->dn, want.dn);
    EXPECT_EQ(m->inflight_id, want.inflight_id);
    EXPECT_EQ(m->inflight_session, want.inflight_session);
    EXPECT_EQ(m->inflight_gen, want.inflight_gen);
    EXPECT_EQ(m->updated_ms, want.updated_ms);
    EXPECT_EQ(m->inflight_job.job_id(), "job-7");
    EXPECT_EQ(m->inflight_job.generation(), 5u);
    ASSERT_EQ(m->unconfirmed.jobs_size(), 1);
    EXPECT_EQ(m->unconfirmed.jobs(0).job_id(), "job-6");
    EXPECT_TRUE(m->verify_read);
  }
}

TEST_F(SqliteStoreTest, LastKnownTellsNeverReadFromReadAndEmpty) {
  AddMailbox("never-read", 1, writeback::v1::PENDING, 0);
  AddMailbox("read-empty", 2, writeback::v1::PENDING, 0);
  ASSERT_OK(store_->UpdateMailbox("read-empty", [](MailboxRecord& m) {
    m.last_known = AttributeMap();
    return absl::OkStatus();
  }));
  Reopen();
  EXPECT_FALSE(store_->GetMailbox("never-read")->last_known.has_value());
  auto read = store_->GetMailbox("read-empty");
  ASSERT_OK(read);
  ASSERT_TRUE(read->last_known.has_value());
  EXPECT_EQ(read->last_known->attributes_size(), 0);
}

TEST_F(SqliteStoreTest, MutateErrorIsReturnedAndWritesNothing) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->UpdateMailbox("m1",
                                    [](MailboxRecord& m) {
                                      m.desired_gen = 99;
                                      return absl::FailedPreconditionError("held");
                                    }),
              StatusIs(absl::StatusCode::kFailedPrecondition, "held"));
  EXPECT_EQ(store_->GetMailbox("m1")->desired_gen, 0u);
}

TEST_F(SqliteStoreTest, UpdateMayNotChangeTheCloudId) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->UpdateMailbox("m1",
                                    [](MailboxRecord& m) {
                                      m.cloud_id = "m2";
                                      return absl::OkStatus();
                                    }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->GetMailbox("m2"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, UpdateOntoAnotherMailboxsAnchorIsRefused) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  AddMailbox("m2", 2, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->UpdateMailbox("m2",
                                    [](MailboxRecord& m) {
                                      m.source_anchor = Anchor(1);
                                      return absl::OkStatus();
                                    }),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("belongs to mailbox m1")));
  EXPECT_EQ(store_->GetMailbox("m2")->source_anchor, Anchor(2));
}

TEST_F(SqliteStoreTest, UpdateMailboxesWritesTheGoodOnesAndReportsEachError) {
  AddMailbox("m1", 1, writeback::v1::IN_FLIGHT, 0);
  AddMailbox("m2", 2, writeback::v1::IN_FLIGHT, 0);
  AddMailbox("m3", 3, writeback::v1::IN_FLIGHT, 0);
  auto set_in_sync = [](MailboxRecord& m, ProvisioningRecord*) {
    m.status = writeback::v1::IN_SYNC;
    m.applied_gen = 1;
    return absl::OkStatus();
  };
  std::vector<MailboxUpdate> updates;
  ProvisioningRecord log1 = Log("job-1", 100, "", "", "agent-a", writeback::v1::APPLIED);
  updates.push_back({"m1", set_in_sync, log1});
  updates.push_back(
      {"m2",
       [](MailboxRecord& m, ProvisioningRecord*) {
         m.status = writeback::v1::QUARANTINED;
         return absl::AbortedError("stale session");
       },
       Log("job-2", 101, "m2", "corp.example.com", "agent-a", writeback::v1::APPLIED)});
  updates.push_back({"ghost", set_in_sync, std::nullopt});
  updates.push_back(
      {"m3", set_in_sync, Log("job-3", 102, "", "", "agent-b", writeback::v1::ALREADY_IN_STATE)});

  auto results = store_->UpdateMailboxes(updates);
  ASSERT_OK(results);
  ASSERT_THAT(*results, SizeIs(4));
  EXPECT_OK((*results)[0]);
  EXPECT_EQ((*results)[0]->status, writeback::v1::IN_SYNC);
  EXPECT_THAT((*results)[1], StatusIs(absl::StatusCode::kAborted, "stale session"));
  EXPECT_THAT((*results)[2], StatusIs(absl::StatusCode::kNotFound, HasSubstr("ghost")));
  EXPECT_OK((*results)[3]);

  Reopen();
  EXPECT_EQ(store_->GetMailbox("m1")->status, writeback::v1::IN_SYNC);
  EXPECT_EQ(store_->GetMailbox("m2")->status, writeback::v1::IN_FLIGHT);
  EXPECT_EQ(store_->GetMailbox("m3")->applied_gen, 1u);
  // Only the successful updates' records, with the mailbox filled in.
  auto logged = store_->ListLog({});
  ASSERT_OK(logged);
  EXPECT_THAT(JobIds(*logged), ElementsAre("job-3", "job-1"));
  EXPECT_EQ((*logged)[1].mailbox_id(), "m1");
  EXPECT_EQ((*logged)[1].forest(), "corp.example.com");
  EXPECT_GT((*logged)[1].id(), 0);
  EXPECT_GT((*logged)[0].id(), (*logged)[1].id());
}

TEST_F(SqliteStoreTest, UpdatesOfOneMailboxInABatchApplyInOrder) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  auto bump = [](MailboxRecord& m, ProvisioningRecord*) {
    m.desired_gen++;
    return absl::OkStatus();
  };
  auto results = store_->UpdateMailboxes({{"m1", bump, std::nullopt}, {"m1", bump, std::nullopt}});
  ASSERT_OK(results);
  EXPECT_EQ((*results)[1]->desired_gen, 2u);
  EXPECT_EQ(store_->GetMailbox("m1")->desired_gen, 2u);
}

TEST_F(SqliteStoreTest, EverythingSurvivesReopen) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 5);
  ASSERT_OK(store_->UpsertAgent({"a1", "corp.example.com", "0.1", "connected", 10}));
  ProvisioningRecord record =
      Log("job-1", 100, "m1", "corp.example.com", "a1", writeback::v1::APPLIED);
  record.add_modified()->set_name("mail");
  ASSERT_OK(store_->AppendLog(&record));

  Reopen();
  EXPECT_THAT(*store_->ListForests(), SizeIs(2));
  EXPECT_EQ(store_->GetMailbox("m1")->updated_ms, 5);
  EXPECT_THAT(*store_->ListAgents("corp.example.com"), SizeIs(1));
  auto logged = store_->ListLog({});
  ASSERT_OK(logged);
  ASSERT_THAT(*logged, SizeIs(1));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*logged)[0], record));
}

TEST_F(SqliteStoreTest, DueMailboxesArePendingOrRetriesWhoseTimeHasCome) {
  using namespace writeback::v1;  // NOLINT: statuses
  AddMailbox("pending-new", 1, PENDING, 30);
  AddMailbox("pending-old", 2, PENDING, 10);
  AddMailbox("retry-due", 3, RETRY_WAIT, 20, /*next_attempt_ms=*/1000);
  AddMailbox("retry-later", 4, RETRY_WAIT, 5, /*next_attempt_ms=*/1001);
  AddMailbox("in-flight", 5, IN_FLIGHT, 1);
  AddMailbox("in-sync", 6, IN_SYNC, 1);
  AddMailbox("held", 7, CONFLICT_HOLD, 1);
  AddMailbox("other-forest", 8, PENDING, 1, 0, "lab.example.com");

  EXPECT_THAT(Ids(*store_->DueMailboxes("corp.example.com", 1000, 10)),
              ElementsAre("pending-old", "retry-due", "pending-new"));
  EXPECT_THAT(Ids(*store_->DueMailboxes("corp.example.com", 1000, 2)),
              ElementsAre("pending-old", "retry-due"));
  EXPECT_THAT(Ids(*store_->DueMailboxes("corp.example.com", 1001, 0)),
              ElementsAre("retry-later", "pending-old", "retry-due", "pending-new"));
  EXPECT_THAT(Ids(*store_->DueMailboxes("lab.example.com", 1000, 10)), ElementsAre("other-forest"));
}

TEST_F(SqliteStoreTest, ResetInFlightTouchesOnlyInFlightMailboxes) {
  AddMailbox("m1", 1, writeback::v1::IN_FLIGHT, 0);
  AddMailbox("m2", 2, writeback::v1::IN_SYNC, 0);
  ASSERT_OK(store_->UpdateMailbox("m1", [](MailboxRecord& m) {
    m.inflight_id = "job-1";
    m.inflight_session = "s1";
    m.inflight_gen = 3;
    m.inflight_job.set_job_id("job-1");
    m.inflight_job.set_generation(3);
    return absl::OkStatus();
  }));

  auto reset = store_->ResetInFlight(0);
  ASSERT_OK(reset);
  EXPECT_EQ(*reset, 1);
  auto m1 = store_->GetMailbox("m1");
  EXPECT_EQ(m1->status, writeback::v1::RETRY_WAIT);
  EXPECT_EQ(m1->inflight_id, "");
  EXPECT_EQ(m1->inflight_session, "");
  EXPECT_EQ(m1->inflight_gen, 0u);
  // The job that was out may have been written: it is kept as unconfirmed
  // and a verification read is due.
  EXPECT_EQ(m1->inflight_job.job_id(), "");
  ASSERT_EQ(m1->unconfirmed.jobs_size(), 1);
  EXPECT_EQ(m1->unconfirmed.jobs(0).job_id(), "job-1");
  EXPECT_EQ(m1->unconfirmed.jobs(0).generation(), 3u);
  EXPECT_TRUE(m1->verify_read);
  EXPECT_EQ(store_->GetMailbox("m2")->status, writeback::v1::IN_SYNC);
  EXPECT_EQ(*store_->ResetInFlight(0), 0);
}

TEST_F(SqliteStoreTest, FencedResetInFlightWaitsUntilTheFence) {
  AddMailbox("m1", 1, writeback::v1::IN_FLIGHT, 0);
  AddMailbox("m2", 2, writeback::v1::PENDING, 0);

  auto reset = store_->ResetInFlight(/*not_before_ms=*/5000);
  ASSERT_OK(reset);
  EXPECT_EQ(*reset, 1);
  auto m1 = store_->GetMailbox("m1");
  EXPECT_EQ(m1->status, writeback::v1::RETRY_WAIT);
  EXPECT_EQ(m1->next_attempt_ms, 5000);
  EXPECT_THAT(m1->last_error, HasSubstr("controller stopped"));
  EXPECT_THAT(Ids(*store_->DueMailboxes("corp.example.com", 4999, 0)), ElementsAre("m2"));
  EXPECT_THAT(Ids(*store_->DueMailboxes("corp.example.com", 5000, 0)), ElementsAre("m1", "m2"));
}

TEST_F(SqliteStoreTest, RemoveMailboxDeletesItAndLogsInOneTransaction) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  ProvisioningRecord log = Log("", 100, "", "", "", writeback::v1::OUTCOME_UNSPECIFIED);
  log.set_kind("removed");
  auto removed = store_->RemoveMailbox("m1", log);
  ASSERT_OK(removed);
  EXPECT_EQ(removed->cloud_id, "m1");
  EXPECT_THAT(store_->GetMailbox("m1"), StatusIs(absl::StatusCode::kNotFound));
  writeback::v1::ListProvisioningLogRequest filter;
  filter.set_mailbox_id("m1");
  auto logged = store_->ListLog(filter);
  ASSERT_OK(logged);
  ASSERT_THAT(*logged, SizeIs(1));
  EXPECT_EQ((*logged)[0].kind(), "removed");
  EXPECT_EQ((*logged)[0].forest(), "corp.example.com");
  // The anchor is free again.
  AddMailbox("m1-again", 1, writeback::v1::PENDING, 0);
  EXPECT_THAT(store_->RemoveMailbox("m1", log), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, ForestPauseIsKeptWithItsReasonAndCleared) {
  ASSERT_OK(store_->SetForestPause("corp.example.com", true, "failing: LDAP 50", 777));
  Reopen();
  auto f = store_->GetForest("corp.example.com");
  ASSERT_OK(f);
  EXPECT_TRUE(f->paused);
  EXPECT_EQ(f->pause_reason, "failing: LDAP 50");
  EXPECT_EQ(f->paused_at_ms, 777);
  EXPECT_TRUE((*store_->ListForests())[0].paused);
  ASSERT_OK(store_->SetForestPause("corp.example.com", false, "ignored", 888));
  f = store_->GetForest("corp.example.com");
  EXPECT_FALSE(f->paused);
  EXPECT_EQ(f->pause_reason, "");
  EXPECT_THAT(store_->SetForestPause("nope.example.com", true, "x", 1),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, CountByStatusCountsPerForestOrAll) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  AddMailbox("m2", 2, writeback::v1::PENDING, 0);
  AddMailbox("m3", 3, writeback::v1::QUARANTINED, 0);
  AddMailbox("m4", 4, writeback::v1::IN_SYNC, 0, 0, "lab.example.com");

  EXPECT_THAT(*store_->CountByStatus("corp.example.com"),
              ElementsAre(Pair(writeback::v1::PENDING, 2), Pair(writeback::v1::QUARANTINED, 1)));
  EXPECT_THAT(*store_->CountByStatus(""),
              ElementsAre(Pair(writeback::v1::IN_SYNC, 1), Pair(writeback::v1::PENDING, 2),
                          Pair(writeback::v1::QUARANTINED, 1)));
}

// CountByStatus reads counts kept by triggers (schema version 5); after each
// kind of change they equal a count of the rows themselves.
TEST_F(SqliteStoreTest, CountByStatusFollowsEveryChangeOfTheRows) {
  auto counted = [this](const std::string& forest) {
    std::map<writeback::v1::MailboxStatus, int64_t> n;
    for (const MailboxRecord& m : *store_->ListMailboxes(forest, 0)) ++n[m.status];
    return std::vector<std::pair<writeback::v1::MailboxStatus, int64_t>>(n.begin(), n.end());
  };
  auto expect_consistent = [&](const std::string& step) {
    for (const std::string forest : {"", "corp.example.com", "lab.example.com"}) {
      auto kept = store_->CountByStatus(forest);
      ASSERT_OK(kept);
      EXPECT_EQ(*kept, counted(forest)) << step << " forest=" << forest;
    }
  };
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  AddMailbox("m2", 2, writeback::v1::PENDING, 0);
  AddMailbox("m3", 3, writeback::v1::RETRY_WAIT, 0, 0, "lab.example.com");
  expect_consistent("added");
  ASSERT_OK(store_->UpdateMailbox("m1", [](MailboxRecord& m) {
    m.status = writeback::v1::IN_FLIGHT;
    return absl::OkStatus();
  }));
  expect_consistent("status changed");
  ASSERT_OK(store_->UpdateMailbox("m2", [](MailboxRecord& m) {
    m.attempts = 3;  // no status change
    return absl::OkStatus();
  }));
  EXPECT_FALSE(store_->UpdateMailbox("m2", [](MailboxRecord& m) {
                       m.status = writeback::v1::IN_SYNC;
                       return absl::AbortedError("changed my mind");
                     }).ok());
  // A taken anchor refuses the update: the row, and its count, stay.
  EXPECT_FALSE(store_->UpdateMailbox("m2", [](MailboxRecord& m) {
                       m.status = writeback::v1::IN_SYNC;
                       m.source_anchor = Anchor(1);
                       return absl::OkStatus();
                     }).ok());
  expect_consistent("refused updates");
  std::vector<MailboxUpdate> batch;
  batch.push_back({"m2", [](MailboxRecord& m, ProvisioningRecord*) {
                     m.status = writeback::v1::IN_SYNC;
                     return absl::OkStatus();
                   },
                   std::nullopt});
  batch.push_back({"m3", [](MailboxRecord& m, ProvisioningRecord*) {
                     m.status = writeback::v1::QUARANTINED;
                     return absl::OkStatus();
                   },
                   std::nullopt});
  batch.push_back({"absent", [](MailboxRecord& m, ProvisioningRecord*) {
                     m.status = writeback::v1::IN_SYNC;
                     return absl::OkStatus();
                   },
                   std::nullopt});
  ASSERT_OK(store_->UpdateMailboxes(batch).status());
  expect_consistent("batch");
  ASSERT_OK(store_->ResetInFlight(1000).status());
  expect_consistent("in-flight work reset");
  ProvisioningRecord log = Log("", 100, "", "", "", writeback::v1::OUTCOME_UNSPECIFIED);
  log.set_kind("removed");
  ASSERT_OK(store_->RemoveMailbox("m3", log).status());
  expect_consistent("removed");
  Reopen();
  expect_consistent("reopened");
  EXPECT_THAT(*store_->CountByStatus(""),
              ElementsAre(Pair(writeback::v1::IN_SYNC, 1), Pair(writeback::v1::RETRY_WAIT, 1)));
}

TEST_F(SqliteStoreTest, ListMailboxesIsOrderedByCloudIdWithinALimit) {
  AddMailbox("c", 1, writeback::v1::PENDING, 0);
  AddMailbox("a", 2, writeback::v1::PENDING, 0);
  AddMailbox("b", 3, writeback::v1::PENDING, 0, 0, "lab.example.com");
  EXPECT_THAT(Ids(*store_->ListMailboxes("", 0)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids(*store_->ListMailboxes("corp.example.com", 0)), ElementsAre("a", "c"));
  EXPECT_THAT(Ids(*store_->ListMailboxes("", 2)), ElementsAre("a", "b"));
}

TEST_F(SqliteStoreTest, AppendLogAssignsIncreasingIds) {
  ProvisioningRecord first = Log("j1", 1, "m1", "corp.example.com", "a", writeback::v1::APPLIED);
  ProvisioningRecord second = first;
  ASSERT_OK(store_->AppendLog(&first));
  ASSERT_OK(store_->AppendLog(&second));
  EXPECT_GT(first.id(), 0);
  EXPECT_GT(second.id(), first.id());
}

TEST_F(SqliteStoreTest, ListLogFiltersNewestFirst) {
  using namespace writeback::v1;  // NOLINT: outcomes
  std::vector<ProvisioningRecord> records = {
      Log("j1", 100, "m1", "corp.example.com", "a1", APPLIED),
      Log("j2", 200, "m1", "corp.example.com", "a2", CONFLICT),
      Log("j3", 300, "m2", "corp.example.com", "a1", APPLIED),
      Log("j4", 400, "m3", "lab.example.com", "b1", FAILED_RETRYABLE),
      Log("j5", 400, "m1", "corp.example.com", "a1", APPLIED),
  };
  for (auto& r : records) r.set_kind(r.job_id() == "j3" ? "read" : "job");
  for (auto& r : records) ASSERT_OK(store_->AppendLog(&r));

  auto list = [&](auto fill) {
    ListProvisioningLogRequest filter;
    fill(filter);
    auto result = store_->ListLog(filter);
    EXPECT_OK(result);
    return JobIds(*result);
  };
  // Equal times: the later record first.
  EXPECT_THAT(list([](auto&) {}), ElementsAre("j5", "j4", "j3", "j2", "j1"));
  EXPECT_THAT(list([](auto& f) { f.set_mailbox_id("m1"); }), ElementsAre("j5", "j2", "j1"));
  EXPECT_THAT(list([](auto& f) { f.set_forest("lab.example.com"); }), ElementsAre("j4"));
  EXPECT_THAT(list([](auto& f) { f.set_agent_id("a1"); }), ElementsAre("j5", "j3", "j1"));
  EXPECT_THAT(list([](auto& f) { f.set_outcome(CONFLICT); }), ElementsAre("j2"));
  EXPECT_THAT(list([](auto& f) { f.set_kind("read"); }), ElementsAre("j3"));
  EXPECT_THAT(list([](auto& f) { f.set_kind("job"); }), ElementsAre("j5", "j4", "j2", "j1"));
  EXPECT_THAT(list([](auto& f) { f.set_kind("lost"); }), ElementsAre());
  EXPECT_THAT(list([](auto& f) { f.set_since_ms(400); }), ElementsAre("j5", "j4"));
  EXPECT_THAT(list([](auto& f) { f.set_until_ms(300); }), ElementsAre("j2", "j1"));
  EXPECT_THAT(list([](auto& f) {
                f.set_since_ms(200);
                f.set_until_ms(400);
              }),
              ElementsAre("j3", "j2"));
  EXPECT_THAT(list([](auto& f) { f.set_limit(2); }), ElementsAre("j5", "j4"));
  EXPECT_THAT(list([](auto& f) {
                f.set_mailbox_id("m1");
                f.set_agent_id("a1");
                f.set_outcome(APPLIED);
                f.set_kind("job");
                f.set_since_ms(100);
              }),
              ElementsAre("j5", "j1"));
}

TEST_F(SqliteStoreTest, ConcurrentUpdatesAreSerialized) {
  AddMailbox("m1", 1, writeback::v1::PENDING, 0);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_OK(store_->UpdateMailbox("m1", [](MailboxRecord& m) {
          m.desired_gen++;
          return absl::OkStatus();
        }));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->GetMailbox("m1")->desired_gen, uint64_t{kThreads * kEach});
}

}  // namespace
}  // namespace writeback::controller
