// One reconciliation pass against the in-memory scan directory: paging, the
// DC state read before the search, marks, a changed invocation id, failures
// and an abandoned pass.
#include "agent/reconcile/scan_pass.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/reconcile/scan_fake_directory.h"

namespace writeback::agent {
namespace {

namespace v1 = writeback::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using testing::ScanFakeDirectory;

constexpr char kScope[] = "OU=Mailboxes,DC=corp,DC=example,DC=test";
constexpr char kUsers[] = "(&(objectCategory=person)(objectClass=user))";

std::string Guid(int i) { return absl::StrFormat("%016d", i); }  // 16 bytes
std::string Dn(int i) { return absl::StrCat("CN=u", i, ",", kScope); }

class ScanPassTest : public ::testing::Test {
 protected:
  // The newest search the directory saw.
  std::string LastSearch() const {
    std::string last;
    for (const std::string& c : dir_.calls()) {
      if (absl::StartsWith(c, "search ")) last = c;
    }
    return last;
  }
  ScanPassTest() {
    policy_.scope_ous = {kScope};
    policy_.allowed_attributes = {"mail", "proxyAddresses", "extensionAttribute1"};
  }
  // Users 1..n with uSNChanged = 10 * i.
  void AddUsers(int n) {
    for (int i = 1; i <= n; ++i) {
      dir_.AddUser(Dn(i), 10 * i,
                   {{"objectGUID", {Guid(i)}}, {"mail", {absl::StrCat("u", i, "@x.test")}}});
    }
  }
  std::vector<v1::ScanPage> Scan(const v1::ScanRequest& request) {
    std::vector<v1::ScanPage> pages;
    PolicyChecker checker(policy_);
    summary_ = RunScanPass(&dir_, checker, policy_.scope_ous, request, [&](v1::ScanPage p) {
      pages.push_back(std::move(p));
      return true;
    });
    return pages;
  }
  static v1::ScanRequest Request(uint32_t page_size, std::vector<v1::UsnMark> since = {}) {
    v1::ScanRequest r;
    r.set_scan_id("scan-1");
    r.set_page_size(page_size);
    for (auto& m : since) *r.add_since() = m;
    return r;
  }
  static v1::UsnMark Mark(const std::string& invocation_id, int64_t usn) {
    v1::UsnMark m;
    m.set_invocation_id(invocation_id);
    m.set_usn(usn);
    return m;
  }

  LocalPolicy policy_;
  ScanFakeDirectory dir_;
  ScanSummary summary_;
};

TEST_F(ScanPassTest, FullPassSendsOnePagePerPageSizeAndMarksLast) {
  AddUsers(12);
  dir_.AddUser("CN=out,OU=Outside,DC=corp,DC=example,DC=test", 5, {{"objectGUID", {Guid(99)}}});
  std::vector<v1::ScanPage> pages = Scan(Request(5));
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].objects_size(), 5);
  EXPECT_EQ(pages[1].objects_size(), 5);
  EXPECT_EQ(pages[2].objects_size(), 2);
  EXPECT_FALSE(pages[0].last());
  EXPECT_FALSE(pages[1].last());
  ASSERT_TRUE(pages[2].last());
  EXPECT_EQ(pages[2].failure(), v1::OUTCOME_UNSPECIFIED);
  ASSERT_EQ(pages[2].marks_size(), 1);
  EXPECT_EQ(pages[2].marks(0).invocation_id(), dir_.state.invocation_id);
  EXPECT_EQ(pages[2].marks(0).usn(), 100);
  EXPECT_EQ(pages[2].marks(0).dc(), "ldaps://fake-dc.test");
  std::set<std::string> dns;
  for (const auto& page : pages) {
    EXPECT_EQ(page.scan_id(), "scan-1");
    for (const auto& o : page.objects()) dns.insert(o.dn());
  }
  EXPECT_EQ(dns.size(), 12u);
  EXPECT_EQ(dns.count("CN=out,OU=Outside,DC=corp,DC=example,DC=test"), 0u);
  // The DC's state is read before the search (and again after it, to see
  // that the same DC answered), and the search reads all users.
  EXPECT_THAT(dir_.calls(), ElementsAre(absl::StrCat("state ", kScope),
                                        absl::StrCat("search ", kScope, " ", kUsers, " 5"),
                                        absl::StrCat("state ", kScope)));
  EXPECT_TRUE(summary_.completed);
  EXPECT_EQ(summary_.full_reads, 1);
}

TEST_F(ScanPassTest, LargeObjectsCutPagesByBytesToo) {
  const std::string big(300 << 10, 'x');  // 300 KiB each
  for (int i = 1; i <= 10; ++i) {
    dir_.AddUser(Dn(i), i, {{"objectGUID", {Guid(i)}}, {"extensionAttribute1", {big}}});
  }
  std::vector<v1::ScanPage> pages = Scan(Request(500));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].objects_size(), 7);  // 7 x 300 KiB passes 2 MiB
  EXPECT_LT(pages[0].ByteSizeLong(), size_t{4} << 20);  // gRPC's default limit
  EXPECT_EQ(pages[1].objects_size(), 3);
  EXPECT_TRUE(pages[1].last());
}

TEST_F(ScanPassTest, ObjectsCarryAnchorsEveryAllowlistedAttributeAndUsn) {
  dir_.AddUser(Dn(1), 11, {{"objectGUID", {Guid(1)}}, {"mail", {"a@x.test"}},
                           {"whenChanged", {"20250101000000.0Z"}}});
  dir_.AddUser(Dn(2), 12, {{"objectGUID", {Guid(2)}}, {"mS-DS-ConsistencyGuid", {Guid(42)}}});
  std::vector<v1::ScanPage> pages = Scan(Request(0));
  ASSERT_EQ(pages.size(), 1u);
  ASSERT_EQ(pages[0].objects_size(), 2);
  const v1::ObservedObject& a = pages[0].objects(0);
  EXPECT_EQ(a.dn(), Dn(1));
  EXPECT_EQ(a.object_guid(), Guid(1));
  EXPECT_EQ(a.source_anchor(), Guid(1));  // no consistency guid: objectGUID
  EXPECT_EQ(a.usn_changed(), 11);
  EXPECT_EQ(a.when_changed(), "20250101000000.0Z");
  EXPECT_EQ(a.dc(), "ldaps://fake-dc.test");
  EXPECT_TRUE(a.mailbox_id().empty());
  const auto& attrs = a.attributes().attributes();
  ASSERT_EQ(attrs.size(), 3u);  // every allowlisted attribute, present or not
  EXPECT_THAT(attrs.at("mail").values(), ElementsAre("a@x.test"));
  EXPECT_THAT(attrs.at("proxyAddresses").values(), IsEmpty());
  EXPECT_THAT(attrs.at("extensionAttribute1").values(), IsEmpty());
  const v1::ObservedObject& b = pages[0].objects(1);
  EXPECT_EQ(b.object_guid(), Guid(2));
  EXPECT_EQ(b.source_anchor(), Guid(42));  // ms-DS-ConsistencyGuid wins
  // What was asked of the directory.
  std::vector<std::string> asked = dir_.requested_attributes();
  for (const char* a : {"mail", "proxyAddresses", "extensionAttribute1", "objectGUID",
                        "mS-DS-ConsistencyGuid", "uSNChanged", "whenChanged"}) {
    EXPECT_THAT(asked, ::testing::Contains(a));
  }
  // Page size 0: the default.
  EXPECT_THAT(LastSearch(), ::testing::EndsWith(" 500"));
}

TEST_F(ScanPassTest, MarkOfTheSameInvocationIdReadsOnlyWhatChanged) {
  AddUsers(10);  // usn 10..100
  dir_.Change(Dn(3), "mail", {"changed@x.test"}, 150);
  dir_.Change(Dn(7), "mail", {"changed7@x.test"}, 160);
  dir_.state.highest_committed_usn = 170;
  std::vector<v1::ScanPage> pages = Scan(Request(500, {Mark(dir_.state.invocation_id, 100)}));
  ASSERT_EQ(pages.size(), 1u);
  std::set<std::string> dns;
  for (const auto& o : pages[0].objects()) dns.insert(o.dn());
  EXPECT_EQ(dns, (std::set<std::string>{Dn(3), Dn(7)}));
  EXPECT_THAT(LastSearch(), HasSubstr("(uSNChanged>=101))"));
  ASSERT_EQ(pages[0].marks_size(), 1);
  EXPECT_EQ(pages[0].marks(0).usn(), 170);
  EXPECT_EQ(summary_.incremental_reads, 1);
  EXPECT_EQ(summary_.full_reads, 0);
}

TEST_F(ScanPassTest, MarkOfAnotherInvocationIdReadsEverything) {
  AddUsers(10);
  // The DC was restored: its invocation id is not the one of the mark.
  std::vector<v1::ScanPage> pages =
      Scan(Request(500, {Mark("99999999-9999-9999-9999-999999999999", 95)}));
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].objects_size(), 10);
  EXPECT_THAT(LastSearch(), HasSubstr(kUsers));
  EXPECT_THAT(LastSearch(), ::testing::Not(HasSubstr("uSNChanged")));
  ASSERT_EQ(pages[0].marks_size(), 1);
  EXPECT_EQ(pages[0].marks(0).invocation_id(), dir_.state.invocation_id);
  EXPECT_EQ(summary_.full_reads, 1);
}

TEST_F(ScanPassTest, UnreadableDcStateFailsRetryableWithoutSearching) {
  AddUsers(3);
  dir_.state_error = absl::UnavailableError("no domain controller answered");
  std::vector<v1::ScanPage> pages = Scan(Request(500));
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_TRUE(pages[0].last());
  EXPECT_EQ(pages[0].failure(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(pages[0].diagnostic(), HasSubstr("no domain controller answered"));
  EXPECT_THAT(pages[0].marks(), IsEmpty());
  EXPECT_EQ(pages[0].objects_size(), 0);
  EXPECT_EQ(dir_.calls().size(), 1u);  // no search
  EXPECT_FALSE(summary_.completed);
}

TEST_F(ScanPassTest, SearchErrorMidPassEndsWithFailureAndNoMarks) {
  AddUsers(12);
  dir_.search_error = absl::PermissionDeniedError("insufficientAccessRights");
  dir_.fail_after_pages = 1;
  std::vector<v1::ScanPage> pages = Scan(Request(5));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].objects_size(), 5);
  EXPECT_FALSE(pages[0].last());
  EXPECT_TRUE(pages[1].last());
  EXPECT_EQ(pages[1].failure(), v1::FAILED_PERMANENT);
  EXPECT_THAT(pages[1].diagnostic(), HasSubstr("insufficientAccessRights"));
  EXPECT_THAT(pages[1].marks(), IsEmpty());
}

TEST_F(ScanPassTest, SearchOnAnotherDcThanTheStateFailsRetryable) {
  AddUsers(3);
  dir_.answering_dc = "ldaps://other-dc.test";  // failed over between state and search
  std::vector<v1::ScanPage> pages = Scan(Request(500));
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].failure(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(pages[0].diagnostic(), HasSubstr("the DC changed during the pass"));
  EXPECT_EQ(pages[0].objects_size(), 0);
  EXPECT_THAT(pages[0].marks(), IsEmpty());
}

// Review finding: the URL alone does not identify the DC searched.
TEST_F(ScanPassTest, AnotherDcBehindTheSameUrlAfterTheSearchFailsRetryable) {
  AddUsers(3);
  dir_.state_after_search =
      DcState{dir_.state.dc, "99999999-2222-3333-4444-555555555555", 5000};
  std::vector<v1::ScanPage> pages = Scan(Request(500));
  ASSERT_FALSE(pages.empty());
  const v1::ScanPage& last = pages.back();
  EXPECT_TRUE(last.last());
  EXPECT_EQ(last.failure(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(last.diagnostic(), HasSubstr("changed during the pass"));
  EXPECT_THAT(last.marks(), IsEmpty());
}

TEST_F(ScanPassTest, OverlappingScopesSendEachObjectOnceAndOneMarkPerDc) {
  policy_.scope_ous = {kScope, absl::StrCat("OU=Sub,", kScope)};
  dir_.AddUser(absl::StrCat("CN=s,OU=Sub,", kScope), 5, {{"objectGUID", {Guid(5)}}});
  dir_.AddUser(Dn(1), 6, {{"objectGUID", {Guid(1)}}});
  std::vector<v1::ScanPage> pages = Scan(Request(500));
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].objects_size(), 2);
  EXPECT_EQ(pages[0].marks_size(), 1);
  // Both states first, then both searches.
  std::vector<std::string> calls = dir_.calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_THAT(calls[0], StartsWith("state "));
  EXPECT_THAT(calls[1], StartsWith("state "));
  EXPECT_THAT(calls[2], StartsWith("search "));
}

TEST_F(ScanPassTest, AbandonedPassSendsNothingMore) {
  AddUsers(12);
  int sent = 0;
  PolicyChecker checker(policy_);
  ScanSummary s = RunScanPass(&dir_, checker, policy_.scope_ous, Request(5),
                              [&](v1::ScanPage) { return ++sent < 1; });
  EXPECT_EQ(sent, 1);  // the first refusal stops the pass
  EXPECT_TRUE(s.abandoned);
  EXPECT_FALSE(s.completed);
}

}  // namespace
}  // namespace writeback::agent
