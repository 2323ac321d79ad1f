// Reconciliation scans (DESIGN §6, protocol 3) by the real writeback-agent
// against a real Samba AD DC, driven through the TestController. The DC is
// the oracle: what a scan reports is compared with independent LDAP searches
// (SambaDc::Search / Read), never only with the agent's word.
//
// One DC with 1,200 users in the scope OU (and one outside it) serves the
// suite.
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/attributes/catalog.h"
#include "common/identity/anchor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

constexpr int kUsers = 1200;
constexpr char kUsersFilter[] = "(&(objectCategory=person)(objectClass=user))";
// Hang guard for one scan of the suite's population.
constexpr absl::Duration kScanGuard = absl::Seconds(180);

v1::ScanRequest Request(const std::string& id, uint32_t page_size,
                        const std::vector<v1::UsnMark>& since = {}) {
  v1::ScanRequest r;
  r.set_scan_id(id);
  r.set_page_size(page_size);
  for (const auto& m : since) *r.add_since() = m;
  return r;
}

// DN (lower-cased) -> the object, over every page.
std::map<std::string, v1::ObservedObject> Objects(const std::vector<v1::ScanPage>& pages) {
  std::map<std::string, v1::ObservedObject> out;
  for (const auto& p : pages) {
    for (const auto& o : p.objects()) out[absl::AsciiStrToLower(o.dn())] = o;
  }
  return out;
}

class AgentScanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new AgentItEnv();
    absl::Status s = env_->StartDc();
    if (s.ok()) {
      absl::StatusOr<std::vector<SambaDc::User>> users = env_->dc().AddUsers(kUsers, "scan");
      absl::StatusOr<std::vector<SambaDc::User>> outside =
          env_->dc().AddUsers(1, "outside", "OU=Outside");
      if (!users.ok()) s = users.status();
      if (s.ok() && !outside.ok()) s = outside.status();
      if (s.ok()) {
        users_ = new std::vector<SambaDc::User>(*users);
        outside_ = new SambaDc::User((*outside)[0]);
      }
    }
    if (s.ok()) s = env_->StartController({});
    if (s.ok()) s = env_->StartAgent({});
    if (!s.ok()) setup_error_ = new std::string(s.ToString());
  }
  static void TearDownTestSuite() {
    delete env_;
    delete users_;
    delete outside_;
    delete setup_error_;
    env_ = nullptr;
    users_ = nullptr;
    outside_ = nullptr;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  std::vector<v1::ScanPage> Scan(const v1::ScanRequest& request) {
    EXPECT_OK(env_->controller().SendScan(request));
    auto pages = env_->controller().WaitForScan(request.scan_id(), kScanGuard);
    EXPECT_OK(pages) << env_->AgentLog();
    return pages.value_or(std::vector<v1::ScanPage>{});
  }
  // The DC's own answer: invocationId of its NTDS Settings (GUID string) and
  // highestCommittedUSN, read independently of the agent.
  std::pair<std::string, int64_t> DcState() {
    auto root = env_->dc().Read("", {"dsServiceName", "highestCommittedUSN"});
    EXPECT_OK(root);
    if (!root.ok()) return {"", 0};
    int64_t usn = 0;
    EXPECT_TRUE(absl::SimpleAtoi((*root)["highestCommittedUSN"].at(0), &usn));
    auto settings = env_->dc().Read((*root)["dsServiceName"].at(0), {"invocationId"});
    EXPECT_OK(settings);
    if (!settings.ok()) return {"", usn};
    return {AnchorToGuidString((*settings)["invocationId"].at(0)), usn};
  }

  static AgentItEnv* env_;
  static std::vector<SambaDc::User>* users_;
  static SambaDc::User* outside_;
  static std::string* setup_error_;
};

AgentItEnv* AgentScanTest::env_ = nullptr;
std::vector<SambaDc::User>* AgentScanTest::users_ = nullptr;
SambaDc::User* AgentScanTest::outside_ = nullptr;
std::string* AgentScanTest::setup_error_ = nullptr;

TEST_F(AgentScanTest, FullPassThenOnlyChangesThenFullAgainForAnotherInvocationId) {
  const std::vector<std::string> allowlist = AttributeCatalog::Default().DefaultAllowlist();
  std::vector<std::string> read_attrs = allowlist;
  read_attrs.push_back("objectGUID");
  read_attrs.push_back("uSNChanged");
  auto expected = env_->dc().Search(env_->ScopeOu(), kUsersFilter, read_attrs);
  ASSERT_OK(expected);
  ASSERT_EQ(expected->size(), static_cast<size_t>(kUsers));  // the scope holds our users only
  auto [invocation_id, usn_before] = DcState();
  ASSERT_FALSE(invocation_id.empty());

  // (a) A full pass: exactly the scoped users, in pages of 500.
  std::vector<v1::ScanPage> pages = Scan(Request("full-1", 500));
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].objects_size(), 500);
  EXPECT_EQ(pages[1].objects_size(), 500);
  EXPECT_EQ(pages[2].objects_size(), 200);
  ASSERT_TRUE(pages[2].last());
  EXPECT_EQ(pages[2].failure(), v1::OUTCOME_UNSPECIFIED) << pages[2].diagnostic();
  ASSERT_EQ(pages[2].marks_size(), 1);
  const v1::UsnMark mark = pages[2].marks(0);
  EXPECT_EQ(mark.dc(), env_->dc().url());
  EXPECT_EQ(mark.invocation_id(), invocation_id);
  // Read before the pass: no lower than before the test, no higher than after.
  EXPECT_GE(mark.usn(), usn_before);
  EXPECT_LE(mark.usn(), DcState().second);

  std::map<std::string, v1::ObservedObject> seen = Objects(pages);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kUsers));
  EXPECT_EQ(seen.count(absl::AsciiStrToLower(outside_->dn)), 0u) << "an object outside scope";
  std::map<std::string, std::string> guid_of;
  for (const auto& u : *users_) guid_of[absl::AsciiStrToLower(u.dn)] = u.object_guid;
  for (const auto& [dn, attrs] : *expected) {
    auto it = seen.find(absl::AsciiStrToLower(dn));
    ASSERT_NE(it, seen.end()) << dn << " missing from the scan";
    const v1::ObservedObject& o = it->second;
    EXPECT_EQ(o.object_guid(), guid_of[absl::AsciiStrToLower(dn)]) << dn;
    EXPECT_EQ(o.source_anchor(), o.object_guid()) << dn;  // no ms-DS-ConsistencyGuid set
    EXPECT_EQ(o.dc(), env_->dc().url());
    EXPECT_FALSE(o.when_changed().empty());
    int64_t usn = 0;
    ASSERT_TRUE(absl::SimpleAtoi(attrs.at("uSNChanged").at(0), &usn));
    EXPECT_EQ(o.usn_changed(), usn) << dn;
    EXPECT_EQ(o.attributes().attributes().size(), allowlist.size()) << dn;
    for (const std::string& a : allowlist) {
      auto want = attrs.find(a);
      auto got = o.attributes().attributes().find(a);
      ASSERT_NE(got, o.attributes().attributes().end()) << dn << " lacks " << a;
      std::vector<std::string> got_values(got->second.values().begin(),
                                          got->second.values().end());
      if (want == attrs.end()) {
        EXPECT_THAT(got_values, IsEmpty()) << dn << " " << a;
      } else {
        EXPECT_THAT(got_values, UnorderedElementsAreArray(want->second)) << dn << " " << a;
      }
    }
  }

  // (b) Three users change on the DC; the next pass from the mark reports
  // exactly them, with their new values.
  std::set<std::string> changed;
  for (int i : {10, 500, 1111}) {
    const SambaDc::User& u = (*users_)[i];
    ASSERT_OK(env_->dc().Modify(u.dn, {{"extensionAttribute1", {"changed-" + u.sam}}}));
    changed.insert(absl::AsciiStrToLower(u.dn));
  }
  std::vector<v1::ScanPage> delta = Scan(Request("delta-1", 500, {mark}));
  ASSERT_EQ(delta.size(), 1u);
  ASSERT_EQ(delta[0].failure(), v1::OUTCOME_UNSPECIFIED) << delta[0].diagnostic();
  std::map<std::string, v1::ObservedObject> delta_seen = Objects(delta);
  std::set<std::string> delta_dns;
  for (const auto& [dn, o] : delta_seen) {
    delta_dns.insert(dn);
    auto values = o.attributes().attributes().at("extensionAttribute1").values();
    ASSERT_EQ(values.size(), 1);
    EXPECT_EQ(values[0], "changed-" + (*env_->dc().Read(o.dn(), {"sAMAccountName"}))
                                          ["sAMAccountName"].at(0));
  }
  EXPECT_EQ(delta_dns, changed);
  ASSERT_EQ(delta[0].marks_size(), 1);
  EXPECT_GT(delta[0].marks(0).usn(), mark.usn());
  EXPECT_EQ(delta[0].marks(0).invocation_id(), invocation_id);

  // Nothing changed since: an empty last page with a mark.
  std::vector<v1::ScanPage> nothing = Scan(Request("delta-2", 500, {delta[0].marks(0)}));
  ASSERT_EQ(nothing.size(), 1u);
  EXPECT_EQ(nothing[0].objects_size(), 0);
  EXPECT_EQ(nothing[0].marks_size(), 1);

  // (c) A mark of another invocation id (a restored DC): a full pass again.
  v1::UsnMark restored = delta[0].marks(0);
  restored.set_invocation_id("00000000-1111-2222-3333-444444444444");
  std::vector<v1::ScanPage> again = Scan(Request("full-2", 500, {restored}));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again.back().failure(), v1::OUTCOME_UNSPECIFIED) << again.back().diagnostic();
  EXPECT_EQ(Objects(again).size(), static_cast<size_t>(kUsers));
  EXPECT_EQ(again.size(), 3u);
}

TEST_F(AgentScanTest, JobsKeepBeingAppliedWhileAScanRuns) {
  // Page size 1: 1,200 paged searches, a scan that runs for a while.
  ASSERT_OK(env_->controller().SendScan(Request("slow", 1)));
  // Hang guard: wait until the scan has sent its first page, so it runs.
  for (int i = 0; i < 600 && env_->controller().ScanPagesReceived("slow") == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GT(env_->controller().ScanPagesReceived("slow"), 0u) << env_->AgentLog();
  const SambaDc::User& u = (*users_)[700];
  auto results = env_->Run({CasJob("during-scan", u, {{"extensionAttribute2", {}, {"v1"}}})});
  ASSERT_OK(results) << env_->AgentLog();
  // The job was answered while the scan was still sending pages: the worker
  // did not wait for the scan (it would, were they on one thread or
  // connection).
  const size_t pages_when_answered = env_->controller().ScanPagesReceived("slow");
  EXPECT_EQ(results->at("during-scan").outcome(), v1::APPLIED)
      << results->at("during-scan").ShortDebugString();
  auto pages = env_->controller().WaitForScan("slow", kScanGuard);
  ASSERT_OK(pages) << env_->AgentLog();
  EXPECT_EQ(pages->back().failure(), v1::OUTCOME_UNSPECIFIED) << pages->back().diagnostic();
  EXPECT_EQ(Objects(*pages).size(), static_cast<size_t>(kUsers));
  EXPECT_LT(pages_when_answered, pages->size());
  auto value = env_->dc().Read(u.dn, {"extensionAttribute2"});
  ASSERT_OK(value);
  EXPECT_EQ((*value)["extensionAttribute2"], std::vector<std::string>{"v1"});
}

}  // namespace
}  // namespace writeback::testing
