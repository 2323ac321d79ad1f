// A multi-domain forest behind one Directory: match through the Global
// Catalog, fresh values and writes from each object's own domain.
#include "agent/directory/forest_directory.h"

#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/apply/fake_directory.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using writeback::agent::testing::FakeDirectory;
using writeback::testing::StatusIs;

const std::string kRoot = "DC=corp,DC=example,DC=com";
const std::string kEmea = "DC=emea,DC=corp,DC=example,DC=com";
const std::string kRootUser = "CN=Ann,OU=Mailboxes," + kRoot;
const std::string kEmeaUser = "CN=Bob,OU=Mailboxes," + kEmea;
const std::string kOtherUser = "CN=Eve,OU=Mailboxes,DC=apac,DC=corp,DC=example,DC=com";

class ForestDirectoryTest : public ::testing::Test {
 protected:
  ForestDirectoryTest()
      : gc_(kRoot), root_(kRoot), emea_(kEmea),
        forest_(&gc_, kRoot, {{kRoot, &root_}, {kEmea, &emea_}}) {
    // The GC sees every domain, one replication behind.
    gc_.AddObject(kRootUser, {{"objectGUID", {Anchor(1)}}, {"extensionAttribute1", {"old"}}});
    gc_.AddObject(kEmeaUser, {{"objectGUID", {Anchor(2)}}, {"extensionAttribute1", {"old"}}});
    gc_.AddObject(kOtherUser, {{"objectGUID", {Anchor(3)}}});
    root_.AddObject(kRootUser, {{"objectGUID", {Anchor(1)}}, {"extensionAttribute1", {"new"}}});
    emea_.AddObject(kEmeaUser, {{"objectGUID", {Anchor(2)}}, {"extensionAttribute1", {"new"}}});
  }
  static std::string Anchor(char c) { return std::string(16, c); }
  static v1::Job SetExtension(char anchor, const std::string& id, const std::string& from,
                              const std::string& to) {
    v1::Job job;
    job.set_job_id(id);
    job.set_source_anchor(Anchor(anchor));
    auto* c = job.add_changes();
    c->set_attribute("extensionAttribute1");
    c->add_expected(from);
    c->add_desired(to);
    return job;
  }

  FakeDirectory gc_, root_, emea_;
  ForestDirectory forest_;
};

TEST_F(ForestDirectoryTest, PicksTheLongestDomainSuffix) {
  EXPECT_EQ(forest_.DomainOf(kEmeaUser)->dn, kEmea);
  EXPECT_EQ(forest_.DomainOf(kRootUser)->dn, kRoot);
  EXPECT_EQ(forest_.DomainOf("cn=x,dc=EMEA, dc=corp,dc=example,dc=com")->dn, kEmea);
  EXPECT_EQ(forest_.DomainOf(kOtherUser)->dn, kRoot) << "apac is under the root's DN";
  EXPECT_EQ(forest_.DomainOf("CN=x,DC=other,DC=org"), nullptr);
}

TEST_F(ForestDirectoryTest, MatchesThroughTheGlobalCatalogButReadsFromTheOwnDomain) {
  auto hits = forest_.Search(kRoot, "(objectGUID=\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02)",
                             {"extensionAttribute1"}, 10);
  ASSERT_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].dn, kEmeaUser);
  EXPECT_THAT((*hits)[0].attributes["extensionattribute1"], ElementsAre("new"));
  EXPECT_EQ(gc_.search_calls(), 1);
  EXPECT_EQ(emea_.search_calls(), 1);
  EXPECT_EQ(root_.search_calls(), 0);
}

TEST_F(ForestDirectoryTest, ConsistencyGuidSearchesAskEveryDomainBecauseTheGcLacksIt) {
  // Carol's anchor lives only in ms-DS-ConsistencyGuid, which the GC does not
  // replicate: the fake GC does not know it either.
  const std::string carol = "CN=Carol,OU=Mailboxes," + kEmea;
  emea_.AddObject(carol, {{"objectGUID", {Anchor(7)}}, {"mS-DS-ConsistencyGuid", {Anchor(5)}}});
  gc_.AddObject(carol, {{"objectGUID", {Anchor(7)}}});
  JobApplier applier(&forest_, LocalPolicy{{}, {"OU=Mailboxes," + kRoot, "OU=Mailboxes," + kEmea}});
  v1::Job job = SetExtension(5, "j", "", "x");
  job.mutable_changes(0)->clear_expected();  // believed absent
  v1::JobResult r = applier.Apply(job);
  EXPECT_EQ(r.dn(), carol) << r.diagnostic();
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(emea_.Get(carol, "extensionAttribute1"), ElementsAre("x"));
}

TEST_F(ForestDirectoryTest, WritesGoToTheObjectsOwnDomain) {
  JobApplier applier(&forest_, LocalPolicy{{}, {"OU=Mailboxes," + kRoot, "OU=Mailboxes," + kEmea}});
  v1::JobResult r = applier.Apply(SetExtension(2, "j", "new", "newer"));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(emea_.Get(kEmeaUser, "extensionAttribute1"), ElementsAre("newer"));
  EXPECT_EQ(root_.modify_calls(), 0);
  EXPECT_EQ(gc_.modify_calls(), 0) << "the GC is read-only";
}

TEST_F(ForestDirectoryTest, PipelinedWritesAcrossDomainsAllComplete) {
  JobApplier applier(&forest_, LocalPolicy{{}, {"OU=Mailboxes," + kRoot, "OU=Mailboxes," + kEmea}});
  PipelinedApplier pipeline(&forest_, &applier, {});
  auto results = ApplyAll(pipeline, {SetExtension(1, "a", "new", "x"), SetExtension(2, "b", "new", "y")});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(root_.Get(kRootUser, "extensionAttribute1"), ElementsAre("x"));
  EXPECT_THAT(emea_.Get(kEmeaUser, "extensionAttribute1"), ElementsAre("y"));
  EXPECT_EQ(forest_.OutstandingModifies(), 0u);
}

TEST_F(ForestDirectoryTest, ObjectOfADomainWithoutDcIsNeverWritten) {
  ForestDirectory emea_only(&gc_, kRoot, {{kEmea, &emea_}});
  EXPECT_THAT(emea_only.Modify(kRootUser, {{ModOp::kAdd, "extensionAttribute2", {"x"}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(emea_only.StartModify(kRootUser, {{ModOp::kAdd, "extensionAttribute2", {"x"}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(gc_.modify_calls() + root_.modify_calls(), 0);
}

TEST_F(ForestDirectoryTest, CloseFencesEveryDirectory) {
  forest_.Close();
  EXPECT_EQ(gc_.close_calls(), 1);
  EXPECT_EQ(root_.close_calls(), 1);
  EXPECT_EQ(emea_.close_calls(), 1);
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

const std::string kBob2 =
    "(objectGUID=\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02\\02)";

// Scans page through each domain's own DC, never the Global Catalog, and
// keep only that domain's objects.
TEST_F(ForestDirectoryTest, PagedSearchGoesToTheDomainOfItsBaseOnly) {
  std::vector<SearchPage> pages;
  ASSERT_OK(forest_.SearchPaged("OU=Mailboxes," + kEmea, kBob2, {"extensionAttribute1"}, 10,
                                [&](SearchPage p) {
                                  pages.push_back(std::move(p));
                                  return absl::OkStatus();
                                }));
  ASSERT_EQ(pages.size(), 1u);
  ASSERT_EQ(pages[0].entries.size(), 1u);
  EXPECT_EQ(pages[0].entries[0].dn, kEmeaUser);
  EXPECT_THAT(pages[0].entries[0].attributes["extensionattribute1"], ElementsAre("new"));
  EXPECT_EQ(pages[0].dc, emea_.CurrentDc());
  EXPECT_EQ(gc_.search_calls(), 0);
  EXPECT_EQ(root_.search_calls(), 0);
  EXPECT_EQ(emea_.search_calls(), 1);
}

TEST_F(ForestDirectoryTest, PagedSearchOfAParentDomainLeavesChildObjectsOut) {
  // A copy of a child-domain object answered by the root's DC (as a
  // referral would point at): not the root domain's object.
  root_.AddObject(kEmeaUser, {{"objectGUID", {Anchor(2)}}});
  size_t entries = 0;
  ASSERT_OK(forest_.SearchPaged(kRoot, kBob2, {}, 10, [&](SearchPage p) {
    entries += p.entries.size();
    return absl::OkStatus();
  }));
  EXPECT_EQ(entries, 0u);
  EXPECT_EQ(root_.search_calls(), 1);
}

TEST_F(ForestDirectoryTest, PagedSearchAndDcStateOutsideEveryDomainFail) {
  auto sink = [](SearchPage) { return absl::OkStatus(); };
  EXPECT_THAT(forest_.SearchPaged("OU=x,DC=other,DC=org", kBob2, {}, 10, sink),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(forest_.ReadDcState("OU=x,DC=other,DC=org"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace writeback::agent
