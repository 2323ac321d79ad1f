// The local policy rules that need the object (issue 3): accepted domains,
// value counts, mail = primary SMTP address, owned address types, forest-wide
// address uniqueness, deleted objects, rate and volume caps, agent-wide dry
// run. JobApplier and PipelinedApplier over the in-memory FakeDirectory,
// time from a FakeClock.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "common/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/apply/fake_directory.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::FakeDirectory;

const std::string kScope = "OU=Mailboxes,DC=corp,DC=example,DC=test";
const std::string kAnn = "CN=Ann," + kScope;
const std::string kBob = "CN=Bob," + kScope;
const std::string kEve = "CN=Eve,OU=Outside,DC=corp,DC=example,DC=test";
const std::string kDomain = "@corp.example.test";

std::string Guid(char fill) { return std::string(16, fill); }

struct Change {
  std::string attribute;
  std::vector<std::string> expected;
  std::vector<std::string> desired;
};

v1::Job MakeJob(const std::string& id, char anchor, std::vector<Change> changes) {
  v1::Job job;
  job.set_job_id(id);
  job.set_source_anchor(Guid(anchor));
  for (const Change& c : changes) {
    v1::AttributeChange* change = job.add_changes();
    change->set_attribute(c.attribute);
    for (const std::string& v : c.expected) change->add_expected(v);
    for (const std::string& v : c.desired) change->add_desired(v);
  }
  return job;
}

class PolicyRulesTest : public ::testing::Test {
 protected:
  PolicyRulesTest() {
    dir_.AddObject(kAnn, {{"objectGUID", {Guid('\x01')}},
                          {"mail", {"ann" + kDomain}},
                          {"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"}}});
    dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}},
                          {"mail", {"bob" + kDomain}},
                          {"proxyAddresses", {"SMTP:bob" + kDomain, "smtp:robert" + kDomain}}});
    // Outside the scope, but in the forest: its addresses are still taken.
    dir_.AddObject(kEve, {{"objectGUID", {Guid('\x05')}}, {"mail", {"eve" + kDomain}}});
    policy_.scope_ous = {kScope};
  }
  v1::JobResult Apply(const v1::Job& job) {
    JobApplier applier(&dir_, policy_, &clock_, [this](absl::Duration d) { clock_.Advance(d); });
    return applier.Apply(job);
  }
  // Ann's primary address and mail move to `address` together.
  v1::Job Rename(const std::string& id, const std::string& address) {
    return MakeJob(id, '\x01',
                   {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
                     {"SMTP:" + address, "smtp:ann" + kDomain, "X500:/o=corp/cn=ann"}},
                    {"mail", {"ann" + kDomain}, {address}}});
  }

  FakeDirectory dir_;
  LocalPolicy policy_;
  FakeClock clock_{absl::FromUnixSeconds(1000)};
};

TEST_F(PolicyRulesTest, DefaultsAreDocumented) {
  LocalPolicy defaults;
  EXPECT_THAT(defaults.accepted_domains, IsEmpty());
  EXPECT_EQ(defaults.max_values_per_attribute, 1000u);
  EXPECT_TRUE(defaults.mail_must_match_primary);
  EXPECT_THAT(defaults.owned_address_types, IsEmpty());
  EXPECT_TRUE(defaults.check_address_uniqueness);
  EXPECT_EQ(defaults.max_writes_per_second, 0u);
  EXPECT_EQ(defaults.max_writes_per_window, 0u);
  EXPECT_FALSE(defaults.dry_run);
}

TEST_F(PolicyRulesTest, AcceptedDomainsAllowListedDomainsIgnoringCase) {
  policy_.accepted_domains = {"Corp.Example.Test"};
  v1::JobResult r = Apply(Rename("j", "ann.new@CORP.example.test"));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

TEST_F(PolicyRulesTest, ForeignDomainInProxyAddressesIsRefusedBeforeAnySearch) {
  policy_.accepted_domains = {"corp.example.test"};
  v1::JobResult r = Apply(MakeJob("j", '\x01',
                                  {{"proxyAddresses", {"SMTP:ann" + kDomain},
                                    {"SMTP:ann" + kDomain, "smtp:ann@evil.example"}}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("proxyAddresses"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("smtp:ann@evil.example"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("evil.example"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("accepted_domains"));
  EXPECT_EQ(dir_.search_calls(), 0);
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, ForeignDomainInMailAndSubdomainsAreRefused) {
  policy_.accepted_domains = {"example.test"};  // not corp.example.test
  v1::JobResult r = Apply(Rename("j", "ann.new" + kDomain));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("corp.example.test"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, ForeignDomainsOfOtherAddressTypesDoNotCount) {
  policy_.accepted_domains = {"corp.example.test"};
  v1::JobResult r = Apply(MakeJob(
      "j", '\x01',
      {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
        {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann", "SIP:ann@voice.elsewhere.example"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

TEST_F(PolicyRulesTest, TooManyValuesAreRefused) {
  policy_.max_values_per_attribute = 3;
  std::vector<std::string> many = {"SMTP:ann" + kDomain};
  for (int i = 0; i < 3; ++i) many.push_back(absl::StrCat("smtp:ann", i, kDomain));
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"proxyAddresses", {}, many}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("proxyAddresses"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("4 values exceed"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("max_values_per_attribute"));
  EXPECT_EQ(dir_.modify_calls(), 0);

  policy_.max_values_per_attribute = 0;  // no limit
  many = {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"};
  for (int i = 0; i < 1500; ++i) many.push_back(absl::StrCat("smtp:ann", i, kDomain));
  r = Apply(MakeJob("j", '\x01', {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
                                   many}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

TEST_F(PolicyRulesTest, MailAloneMustStayThePrimaryAddress) {
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"mail", {"ann" + kDomain}, {"other" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr(kAnn));
  EXPECT_THAT(r.diagnostic(), HasSubstr("other" + kDomain));
  EXPECT_THAT(r.diagnostic(), HasSubstr("ann" + kDomain));
  EXPECT_THAT(r.diagnostic(), HasSubstr("mail_must_match_primary"));
  EXPECT_EQ(dir_.modify_calls(), 0);
  EXPECT_THAT(dir_.Get(kAnn, "mail"), ElementsAre("ann" + kDomain));
}

TEST_F(PolicyRulesTest, NewPrimaryAloneMustMatchTheCurrentMail) {
  v1::JobResult r = Apply(MakeJob(
      "j", '\x01',
      {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
        {"SMTP:ann.new" + kDomain, "smtp:ann" + kDomain, "X500:/o=corp/cn=ann"}}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("primary SMTP address"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, MailAndPrimaryChangedTogetherIgnoringCase) {
  v1::Job job = Rename("j", "Ann.New" + kDomain);
  job.mutable_changes(1)->set_desired(0, "ANN.NEW" + kDomain);
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(dir_.Get(kAnn, "mail"), ElementsAre("ANN.NEW" + kDomain));
}

TEST_F(PolicyRulesTest, MailRuleCanBeTurnedOffAndIgnoresObjectsWithoutProxyAddresses) {
  policy_.mail_must_match_primary = false;
  EXPECT_EQ(Apply(MakeJob("j", '\x01', {{"mail", {"ann" + kDomain}, {"other" + kDomain}}}))
                .outcome(),
            v1::APPLIED);
  policy_.mail_must_match_primary = true;
  dir_.AddObject("CN=Cy," + kScope, {{"objectGUID", {Guid('\x03')}}, {"mail", {"cy" + kDomain}}});
  v1::JobResult r = Apply(MakeJob("j", '\x03', {{"mail", {"cy" + kDomain}, {"cy2" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

TEST_F(PolicyRulesTest, JobsNotTouchingMailOrProxyAddressesAreNotChecked) {
  dir_.Set(kAnn, "mail", {"drifted" + kDomain});  // already inconsistent
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"extensionAttribute1", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

TEST_F(PolicyRulesTest, OwnedTypesLeaveOtherTypesUntouched) {
  policy_.owned_address_types = {"smtp"};
  // The cloud's full set has no X500 value; the forest's other writer owns it.
  v1::Job job = MakeJob("j", '\x01',
                        {{"proxyAddresses", {"SMTP:ann" + kDomain},
                          {"SMTP:ann" + kDomain, "smtp:ann2" + kDomain, "SIP:ann@voice.test"}}});
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  ASSERT_EQ(dir_.last_mods().size(), 2u);
  EXPECT_THAT(dir_.last_mods()[0].values, ElementsAre("SMTP:ann" + kDomain));
  EXPECT_THAT(dir_.last_mods()[1].values,
              ElementsAre("SMTP:ann" + kDomain, "smtp:ann2" + kDomain));
  EXPECT_THAT(dir_.Get(kAnn, "proxyAddresses"),
              UnorderedElementsAre("SMTP:ann" + kDomain, "smtp:ann2" + kDomain,
                                   "X500:/o=corp/cn=ann"));
}

TEST_F(PolicyRulesTest, OwnedTypesOnlyCompareOwnedValues) {
  policy_.owned_address_types = {"SMTP"};
  // Already in state for the owned type, though the X500 value differs.
  v1::JobResult r = Apply(MakeJob("j", '\x01',
                                  {{"proxyAddresses", {"SMTP:old" + kDomain},
                                    {"SMTP:ann" + kDomain, "X500:/o=cloud/cn=ann"}}}));
  EXPECT_EQ(r.outcome(), v1::ALREADY_IN_STATE) << r.diagnostic();
  // The stale pre-check ignores the X500 value the job did not expect.
  r = Apply(MakeJob("j", '\x01',
                    {{"proxyAddresses", {"SMTP:ann" + kDomain},
                      {"SMTP:ann" + kDomain, "smtp:a3" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(dir_.Get(kAnn, "proxyAddresses"),
              UnorderedElementsAre("SMTP:ann" + kDomain, "smtp:a3" + kDomain,
                                   "X500:/o=corp/cn=ann"));
  // Without the policy the same job is a conflict (X500 not expected).
  policy_.owned_address_types.clear();
  r = Apply(MakeJob("j", '\x01',
                    {{"proxyAddresses", {"SMTP:ann" + kDomain, "smtp:a3" + kDomain},
                      {"SMTP:ann" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::CONFLICT);
  EXPECT_EQ(dir_.modify_calls(), 1);
}

TEST_F(PolicyRulesTest, OwnedTypesRefuseAMergedSetWithoutPrimary) {
  policy_.owned_address_types = {"SMTP"};
  // Clearing the owned values would leave only the X500 value: invalid.
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"proxyAddresses", {"SMTP:ann" + kDomain}, {}}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("after the job"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, OnlyOwnedTypesAreWritten) {
  policy_.owned_address_types = {"SIP"};  // SMTP belongs to another writer
  v1::JobResult r = Apply(MakeJob("j", '\x01',
                                  {{"proxyAddresses", {},
                                    {"SMTP:ann" + kDomain, "SIP:ann@voice.test"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();  // only SIP is added
  EXPECT_THAT(dir_.last_mods()[0].values, ElementsAre("SIP:ann@voice.test"));
  EXPECT_THAT(dir_.Get(kAnn, "proxyAddresses"),
              UnorderedElementsAre("SMTP:ann" + kDomain, "X500:/o=corp/cn=ann",
                                   "SIP:ann@voice.test"));
}

TEST_F(PolicyRulesTest, AddressHeldByAnotherObjectIsRefusedNamingIt) {
  v1::JobResult r = Apply(MakeJob("j", '\x01',
                                  {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
                                    {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann",
                                     "smtp:ROBERT" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("ROBERT" + kDomain));
  EXPECT_THAT(r.diagnostic(), HasSubstr(kBob));
  EXPECT_EQ(dir_.modify_calls(), 0);
  EXPECT_EQ(dir_.filters().back(), "(|(proxyAddresses=smtp:ROBERT" + kDomain + ")(mail=ROBERT" +
                                       kDomain + "))");
}

TEST_F(PolicyRulesTest, MailOfAnObjectOutsideScopeCountsToo) {
  v1::JobResult r = Apply(Rename("j", "eve" + kDomain));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr(kEve));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, AddressesAlreadyOnTheObjectAreNotSearched) {
  // No address added (a job without addresses; a case-only change of
  // Ann's own address): no address search.
  const int before = dir_.search_calls();
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"extensionAttribute2", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED);
  EXPECT_EQ(dir_.search_calls(), before + 1);  // the anchor only
  r = Apply(MakeJob("j", '\x01',
                    {{"proxyAddresses", {"SMTP:ann" + kDomain, "X500:/o=corp/cn=ann"},
                      {"SMTP:ANN" + kDomain, "X500:/o=corp/cn=ann"}}}));
  EXPECT_EQ(r.outcome(), v1::ALREADY_IN_STATE) << r.diagnostic();
  EXPECT_EQ(dir_.search_calls(), before + 2);
}

TEST_F(PolicyRulesTest, UniquenessFilterEscapesValues) {
  policy_.mail_must_match_primary = false;
  Apply(MakeJob("j", '\x01', {{"mail", {"ann" + kDomain}, {"a*b" + kDomain}}}));
  EXPECT_EQ(dir_.filters().back(),
            "(|(proxyAddresses=smtp:a\\2ab" + kDomain + ")(mail=a\\2ab" + kDomain + "))");
}

TEST_F(PolicyRulesTest, UniquenessCanBeTurnedOff) {
  policy_.check_address_uniqueness = false;
  policy_.mail_must_match_primary = false;
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"mail", {"ann" + kDomain}, {"eve" + kDomain}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(dir_.search_calls(), 1);
}

TEST_F(PolicyRulesTest, UniquenessSearchFailureWritesNothing) {
  JobApplier applier(&dir_, policy_, &clock_);
  dir_.before_modify = [] { FAIL() << "no modify expected"; };
  v1::Job job = Rename("j", "ann.new" + kDomain);
  // The anchor search succeeds; the address search fails.
  JobApplier::Prepared p = applier.Prepare(job, applier.MatchAnchors({job.source_anchor()})[0]);
  ASSERT_FALSE(p.done) << p.result.diagnostic();
  EXPECT_THAT(p.new_addresses, ElementsAre("ann.new" + kDomain));
  dir_.next_search_error = absl::UnavailableError("DC gone");
  applier.CheckAddresses({{&job, &p}});
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.result.outcome(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(p.result.diagnostic(), HasSubstr("DC gone"));
}

TEST_F(PolicyRulesTest, DryRunReportsAnAddressClash) {
  v1::Job job = Rename("j", "bob" + kDomain);
  job.set_dry_run(true);
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr(kBob));
  EXPECT_THAT(r.ldif(), IsEmpty());
}

TEST_F(PolicyRulesTest, DeletedObjectIsReportedAsDeleted) {
  const std::string tomb =
      "CN=Zed\\0ADEL:02020202-0202-0202-0202-020202020202,CN=Deleted Objects,DC=corp,DC=example,"
      "DC=test";
  dir_.AddDeletedObject(tomb, {{"objectGUID", {Guid('\x09')}}, {"isDeleted", {"TRUE"}}});
  v1::JobResult r = Apply(MakeJob("j", '\x09', {{"extensionAttribute1", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_THAT(r.diagnostic(), HasSubstr("deleted: the object with anchor 09090909-0909-0909-"
                                        "0909-090909090909 was deleted (now " + tomb + ")"));
  EXPECT_EQ(dir_.search_deleted_calls(), 1);
  EXPECT_EQ(dir_.modify_calls(), 0);
  // Neither live nor deleted: still "not found".
  r = Apply(MakeJob("j", '\x0a', {{"extensionAttribute1", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_THAT(r.diagnostic(), HasSubstr("not found"));
}

TEST_F(PolicyRulesTest, DeletedObjectsAreLookedUpOncePerBatch) {
  dir_.AddDeletedObject("CN=Zed\\0ADEL:x,CN=Deleted Objects,DC=corp,DC=example,DC=test",
                        {{"objectGUID", {Guid('\x09')}}, {"isDeleted", {"TRUE"}}});
  JobApplier applier(&dir_, policy_, &clock_);
  std::vector<JobApplier::Match> m =
      applier.MatchAnchors({Guid('\x09'), Guid('\x01'), Guid('\x0a'), Guid('\x0b')});
  EXPECT_EQ(dir_.search_deleted_calls(), 1);
  EXPECT_THAT(m[0].diagnostic, HasSubstr("deleted"));
  EXPECT_EQ(m[1].failure, v1::OUTCOME_UNSPECIFIED);
  EXPECT_THAT(m[2].diagnostic, HasSubstr("not found"));
  EXPECT_THAT(m[3].diagnostic, HasSubstr("not found"));
}

TEST_F(PolicyRulesTest, AgentWideDryRunWritesNothing) {
  policy_.dry_run = true;
  v1::JobResult r = Apply(MakeJob("j", '\x01', {{"extensionAttribute1", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED);
  EXPECT_EQ(r.diagnostic(), "dry run");
  EXPECT_THAT(r.ldif(), HasSubstr("add: extensionAttribute1"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PolicyRulesTest, VolumeCapRefusesJobsBeyondItWithinTheWindow) {
  policy_.max_writes_per_window = 2;
  policy_.write_window = absl::Seconds(60);
  JobApplier applier(&dir_, policy_, &clock_);
  auto job = [](int i) {
    return MakeJob(absl::StrCat("j", i), '\x01',
                   {{"extensionAttribute1", {}, {absl::StrCat("v", i)}}});
  };
  // Each job expects nothing and the previous one wrote a value: clear it
  // first so that every job is a real write.
  for (int i = 0; i < 2; ++i) {
    dir_.Set(kAnn, "extensionAttribute1", {});
    EXPECT_EQ(applier.Apply(job(i)).outcome(), v1::APPLIED);
  }
  dir_.Set(kAnn, "extensionAttribute1", {});
  v1::JobResult r = applier.Apply(job(2));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("volume cap reached: 2 writes in the last 60 s"));
  EXPECT_THAT(r.diagnostic(), HasSubstr(kAnn));
  EXPECT_EQ(dir_.modify_calls(), 2);
  // Nothing written does not count: dry runs and jobs already in state.
  v1::Job dry = job(3);
  dry.set_dry_run(true);
  EXPECT_EQ(applier.Apply(dry).outcome(), v1::APPLIED);
  clock_.Advance(absl::Seconds(61));  // the window slides
  EXPECT_EQ(applier.Apply(job(4)).outcome(), v1::APPLIED);
  EXPECT_EQ(dir_.modify_calls(), 3);
}

TEST_F(PolicyRulesTest, WriteRateThrottlesTheSingleJobPath) {
  policy_.max_writes_per_second = 2;
  policy_.mail_must_match_primary = false;
  JobApplier applier(&dir_, policy_, &clock_, [this](absl::Duration d) { clock_.Advance(d); });
  const absl::Time start = clock_.Now();
  for (int i = 0; i < 6; ++i) {
    dir_.Set(kAnn, "extensionAttribute1", {});
    EXPECT_EQ(applier.Apply(MakeJob("j", '\x01', {{"extensionAttribute1", {}, {"v"}}})).outcome(),
              v1::APPLIED);
  }
  // A burst of 2, then one every 0.5 s: the 6th write at 2 s.
  EXPECT_GE(clock_.Now() - start, absl::Seconds(2));
  EXPECT_LE(clock_.Now() - start, absl::Seconds(2) + absl::Milliseconds(1));
  EXPECT_EQ(dir_.modify_calls(), 6);
}

class PipelinedPolicyTest : public ::testing::Test {
 protected:
  static std::string Dn(int i) { return absl::StrCat("CN=u", i, ",", kScope); }
  static std::string Anchor(int i) {
    std::string a(16, '\x33');
    a[0] = static_cast<char>(i);
    return a;
  }
  static std::string Mail(int i) { return absl::StrCat("u", i, kDomain); }
  PipelinedPolicyTest() {
    for (int i = 0; i < 40; ++i) {
      dir_.AddObject(Dn(i), {{"objectGUID", {Anchor(i)}},
                             {"mail", {Mail(i)}},
                             {"proxyAddresses", {"SMTP:" + Mail(i)}}});
    }
    policy_.scope_ous = {kScope};
  }
  v1::Job AddAlias(int i, const std::string& alias) {
    v1::Job job;
    job.set_job_id(absl::StrCat("j", i));
    job.set_source_anchor(Anchor(i));
    auto* c = job.add_changes();
    c->set_attribute("proxyAddresses");
    c->add_expected("SMTP:" + Mail(i));
    c->add_desired("SMTP:" + Mail(i));
    c->add_desired("smtp:" + alias);
    return job;
  }
  std::map<std::string, v1::JobResult> Run(std::vector<v1::Job> jobs,
                                           PipelinedApplier::Options options = {}) {
    JobApplier applier(&dir_, policy_, &clock_, [this](absl::Duration d) { clock_.Advance(d); });
    PipelinedApplier pipeline(&dir_, &applier, options);
    std::map<std::string, v1::JobResult> out;
    for (v1::JobResult& r : ApplyAll(pipeline, std::move(jobs))) out[r.job_id()] = r;
    return out;
  }

  FakeDirectory dir_;
  LocalPolicy policy_;
  FakeClock clock_{absl::FromUnixSeconds(1000)};
};

TEST_F(PipelinedPolicyTest, AddressesOfABatchAreCheckedWithOneSearch) {
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 20; ++i) jobs.push_back(AddAlias(i, absl::StrCat("alias", i, kDomain)));
  jobs.push_back(AddAlias(20, Mail(3)));                    // held by u3
  jobs.push_back(AddAlias(21, absl::StrCat("alias", 0, kDomain)));  // also added to u0
  auto results = Run(std::move(jobs), {.window = 8, .match_batch = 32});
  ASSERT_EQ(results.size(), 22u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(results[absl::StrCat("j", i)].outcome(), v1::APPLIED)
        << results[absl::StrCat("j", i)].diagnostic();
  }
  EXPECT_EQ(results["j20"].outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(results["j20"].diagnostic(), HasSubstr(Dn(3)));
  EXPECT_EQ(results["j21"].outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(results["j21"].diagnostic(), HasSubstr(Dn(0)));
  EXPECT_THAT(dir_.Get(Dn(20), "proxyAddresses"), ElementsAre("SMTP:" + Mail(20)));
  EXPECT_EQ(dir_.search_calls(), 2) << "one anchor search and one address search";
  EXPECT_EQ(dir_.modify_calls(), 20);
}

TEST_F(PipelinedPolicyTest, JobsParkedBehindARefusedJobStillRun) {
  // j1 is refused after Prepare (address taken); the second job of the same
  // object waited behind it and must still be applied.
  v1::Job refused = AddAlias(1, Mail(2));
  v1::Job next = AddAlias(1, absl::StrCat("fine", kDomain));
  next.set_job_id("next");
  auto results = Run({refused, next});
  EXPECT_EQ(results["j1"].outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_EQ(results["next"].outcome(), v1::APPLIED) << results["next"].diagnostic();
}

TEST_F(PipelinedPolicyTest, WriteRateThrottlesWithoutFailingJobs) {
  policy_.max_writes_per_second = 10;
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(AddAlias(i, absl::StrCat("alias", i, kDomain)));
  const absl::Time start = clock_.Now();
  auto results = Run(std::move(jobs), {.window = 16, .match_batch = 64});
  ASSERT_EQ(results.size(), 30u);
  for (auto& [id, r] : results) EXPECT_EQ(r.outcome(), v1::APPLIED) << id << r.diagnostic();
  // A burst of 10, then 10 a second: the 30th write two seconds later.
  EXPECT_GE(clock_.Now() - start, absl::Seconds(2) - absl::Milliseconds(1));
  EXPECT_LE(clock_.Now() - start, absl::Seconds(2) + absl::Milliseconds(60));
  EXPECT_EQ(dir_.modify_calls(), 30);
}

TEST_F(PipelinedPolicyTest, RateIsPerDomainController) {
  policy_.max_writes_per_second = 1;
  JobApplier applier(&dir_, policy_, &clock_);
  EXPECT_EQ(applier.WriteDelay(), absl::ZeroDuration());
  JobApplier::Prepared p;
  p.dn = Dn(1);
  ASSERT_TRUE(applier.AdmitWrite(&p));
  EXPECT_EQ(applier.WriteDelay(), absl::Seconds(1));
  dir_.current_dc = "ldaps://dc2.test";  // after a failover
  EXPECT_EQ(applier.WriteDelay(), absl::ZeroDuration());
}

TEST_F(PipelinedPolicyTest, VolumeCapRefusesTheRestOfABatch) {
  policy_.max_writes_per_window = 5;
  policy_.write_window = absl::Minutes(10);
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 12; ++i) jobs.push_back(AddAlias(i, absl::StrCat("alias", i, kDomain)));
  auto results = Run(std::move(jobs));
  int applied = 0, refused = 0;
  for (auto& [id, r] : results) {
    if (r.outcome() == v1::APPLIED) ++applied;
    if (r.outcome() == v1::REJECTED_BY_POLICY) {
      ++refused;
      EXPECT_THAT(r.diagnostic(), HasSubstr("volume cap reached: 5 writes in the last 600 s"));
    }
  }
  EXPECT_EQ(applied, 5);
  EXPECT_EQ(refused, 7);
  EXPECT_EQ(dir_.modify_calls(), 5);
}

}  // namespace
}  // namespace writeback::agent
