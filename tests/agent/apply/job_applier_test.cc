// JobApplier against the in-memory FakeDirectory: every outcome of DESIGN §5.
#include "agent/apply/job_applier.h"

#include <string>
#include <vector>

#include "agent/directory/ldap_errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/apply/fake_directory.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::FakeDirectory;

const std::string kAnn = "CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test";
const std::string kBob = "CN=Bob,OU=Mailboxes,DC=corp,DC=example,DC=test";
const std::string kOut = "CN=Eve,OU=NotMailboxes,DC=corp,DC=example,DC=test";
const std::string kScope = "OU=Mailboxes,DC=corp,DC=example,DC=test";

std::string Guid(char fill) { return std::string(16, fill); }

v1::Job MakeJob(const std::string& anchor, const std::string& attribute,
                std::vector<std::string> expected, std::vector<std::string> desired) {
  v1::Job job;
  job.set_job_id("job-1");
  job.set_mailbox_id("mbx-1");
  job.set_source_anchor(anchor);
  job.set_generation(7);
  v1::AttributeChange* change = job.add_changes();
  change->set_attribute(attribute);
  for (const std::string& v : expected) change->add_expected(v);
  for (const std::string& v : desired) change->add_desired(v);
  return job;
}

std::vector<std::string> Found(const v1::JobResult& r, const std::string& name) {
  auto it = r.found().attributes().find(name);
  if (it == r.found().attributes().end()) return {"<absent>"};
  return {it->second.values().begin(), it->second.values().end()};
}

class JobApplierTest : public ::testing::Test {
 protected:
  JobApplierTest() {
    dir_.AddObject(kAnn, {{"objectGUID", {Guid('\x01')}},
                          {"mail", {"ann@corp.example.test"}},
                          {"proxyAddresses", {"SMTP:ann@corp.example.test"}},
                          {"extensionAttribute1", {"gen-1"}},
                          {"uSNChanged", {"4711"}},
                          {"whenChanged", {"20261123201501.0Z"}}});
    policy_.scope_ous = {kScope};
  }
  v1::JobResult Apply(const v1::Job& job) {
    JobApplier applier(&dir_, policy_);
    return applier.Apply(job);
  }

  FakeDirectory dir_;
  LocalPolicy policy_;
};

TEST_F(JobApplierTest, PolicyRejectionTouchesNoDirectory) {
  v1::Job job = MakeJob(Guid('\x01'), "userAccountControl", {"512"}, {"514"});
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("userAccountControl"));
  EXPECT_EQ(r.job_id(), "job-1");
  EXPECT_EQ(dir_.search_calls(), 0);
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, InvalidValueIsRejectedNamingIt) {
  v1::JobResult r = Apply(
      MakeJob(Guid('\x01'), "mail", {"ann@corp.example.test"}, {"not an address"}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("mail"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("not an address"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, AttributeOutsideLocalAllowlistIsRejected) {
  policy_.allowed_attributes = {"mail"};
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("extensionAttribute1"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, FilterEscapesEveryAnchorByte) {
  Apply(MakeJob(std::string("()*\\\0abcdefghijk", 16), "mail", {}, {"a@corp.example.test"}));
  EXPECT_EQ(dir_.last_filter(),
            "(|(mS-DS-ConsistencyGuid=\\28\\29\\2a\\5c\\00\\61\\62\\63\\64\\65\\66\\67"
            "\\68\\69\\6a\\6b)(objectGUID=\\28\\29\\2a\\5c\\00\\61\\62\\63\\64\\65\\66"
            "\\67\\68\\69\\6a\\6b))");
}

TEST_F(JobApplierTest, UnknownAnchorIsNotFound) {
  v1::JobResult r = Apply(MakeJob(Guid('\x09'), "mail", {}, {"a@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_THAT(r.diagnostic(), HasSubstr("not found"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, AnchorOfWrongLengthIsPermanentFailure) {
  v1::JobResult r = Apply(MakeJob("short", "mail", {}, {"a@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_EQ(dir_.search_calls(), 0);
}

TEST_F(JobApplierTest, TwoObjectsWithTheAnchorAreAmbiguous) {
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}}, {"mS-DS-ConsistencyGuid", {Guid('\x07')}}});
  dir_.AddObject(kAnn, {{"objectGUID", {Guid('\x01')}}, {"mS-DS-ConsistencyGuid", {Guid('\x07')}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x07'), "mail", {}, {"a@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_THAT(r.diagnostic(), HasSubstr("ambiguous"));
  EXPECT_THAT(r.diagnostic(), HasSubstr(kAnn));
  EXPECT_THAT(r.diagnostic(), HasSubstr(kBob));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, ConsistencyGuidWinsOverObjectGuidWithFullScan) {
  // Bob carries Ann's objectGUID as his ms-DS-ConsistencyGuid (a re-created
  // account): with the full scan, the anchor of record points at Bob.
  policy_.full_consistency_guid_scan = true;
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}},
                        {"mS-DS-ConsistencyGuid", {Guid('\x01')}},
                        {"mail", {"bob@corp.example.test"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "mail", {"bob@corp.example.test"},
                                  {"bob2@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dn(), kBob);
  EXPECT_THAT(dir_.Get(kBob, "mail"), ElementsAre("bob2@corp.example.test"));
  EXPECT_THAT(dir_.Get(kAnn, "mail"), ElementsAre("ann@corp.example.test"));
}

TEST_F(JobApplierTest, ByDefaultAnObjectGuidMatchNeedsNoConsistencyGuidScan) {
  // The same estate without the full scan: Ann's objectGUID is indexed and
  // she carries no other anchor, so she is the match, found by one search.
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}},
                        {"mS-DS-ConsistencyGuid", {Guid('\x01')}},
                        {"mail", {"bob@corp.example.test"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dn(), kAnn);
  EXPECT_THAT(dir_.last_filter(), Not(HasSubstr("ConsistencyGuid")));
}

TEST_F(JobApplierTest, ReanchoredObjectIsNotMatchedByItsObjectGuid) {
  // Ann was re-anchored (her ms-DS-ConsistencyGuid names another identity);
  // Bob carries the anchor in ms-DS-ConsistencyGuid: Bob is the match.
  dir_.Set(kAnn, "mS-DS-ConsistencyGuid", {Guid('\x09')});
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}},
                        {"mS-DS-ConsistencyGuid", {Guid('\x01')}},
                        {"mail", {"bob@corp.example.test"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "mail", {"bob@corp.example.test"},
                                  {"bob2@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dn(), kBob);
  EXPECT_THAT(dir_.Get(kAnn, "mail"), ElementsAre("ann@corp.example.test"));
}

TEST_F(JobApplierTest, ObjectOutsideScopeIsRejected) {
  dir_.AddObject(kOut, {{"objectGUID", {Guid('\x05')}}, {"mail", {"eve@corp.example.test"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x05'), "mail", {"eve@corp.example.test"},
                                  {"eve2@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("outside scope"));
  EXPECT_EQ(r.dn(), kOut);
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, ProtectedObjectIsRejected) {
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}}, {"adminCount", {"1"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x02'), "mail", {}, {"bob@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("protected object"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, TargetAlreadyPresentWritesNothing) {
  // Case differs: AD's matching ignores it, so the value is already there.
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "mail", {"old@corp.example.test"},
                                  {"ANN@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::ALREADY_IN_STATE);
  EXPECT_THAT(Found(r, "mail"), ElementsAre("ann@corp.example.test"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, CompareAndSwapDeletesExpectedAndAddsDesired) {
  v1::Job job = MakeJob(Guid('\x01'), "proxyAddresses", {"SMTP:ann@corp.example.test"},
                        {"SMTP:ann@corp.example.test", "smtp:a2@corp.example.test"});
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dn(), kAnn);
  EXPECT_EQ(r.dc(), "ldaps://fake-dc.test");
  EXPECT_EQ(r.ldap_code(), 0);
  ASSERT_EQ(dir_.modify_calls(), 1);
  ASSERT_EQ(dir_.last_mods().size(), 2u);
  EXPECT_EQ(dir_.last_mods()[0].op, ModOp::kDelete);
  EXPECT_THAT(dir_.last_mods()[0].values, ElementsAre("SMTP:ann@corp.example.test"));
  EXPECT_EQ(dir_.last_mods()[1].op, ModOp::kAdd);
  EXPECT_THAT(dir_.last_mods()[1].values,
              ElementsAre("SMTP:ann@corp.example.test", "smtp:a2@corp.example.test"));
  EXPECT_THAT(dir_.Get(kAnn, "proxyAddresses"),
              UnorderedElementsAre("SMTP:ann@corp.example.test", "smtp:a2@corp.example.test"));
}

TEST_F(JobApplierTest, DeletesTheJobsExpectedStringsNotTheDirectorys) {
  policy_.mail_must_match_primary = false;  // mail alone, away from the primary
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "mail", {"Ann@Corp.Example.Test"},
                                  {"new@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(dir_.last_mods()[0].values, ElementsAre("Ann@Corp.Example.Test"));
}

TEST_F(JobApplierTest, EmptyExpectedOnlyAddsAndEmptyDesiredOnlyDeletes) {
  v1::Job job = MakeJob(Guid('\x01'), "extensionAttribute2", {}, {"x"});
  v1::AttributeChange* clear = job.add_changes();
  clear->set_attribute("extensionAttribute1");
  clear->add_expected("gen-1");
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  ASSERT_EQ(dir_.last_mods().size(), 2u);
  EXPECT_EQ(dir_.last_mods()[0].op, ModOp::kAdd);
  EXPECT_EQ(dir_.last_mods()[0].attribute, "extensionAttribute2");
  EXPECT_EQ(dir_.last_mods()[1].op, ModOp::kDelete);
  EXPECT_EQ(dir_.last_mods()[1].attribute, "extensionAttribute1");
  EXPECT_THAT(dir_.Get(kAnn, "extensionAttribute1"), IsEmpty());
  EXPECT_THAT(dir_.Get(kAnn, "extensionAttribute2"), ElementsAre("x"));
}

TEST_F(JobApplierTest, StaleExpectedSeenOnReadIsConflictWithoutWrite) {
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-0"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::CONFLICT);
  EXPECT_THAT(Found(r, "extensionAttribute1"), ElementsAre("gen-1"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, ValuesAddedToAMultiValuedAttributeBelievedEmptyAreAConflict) {
  dir_.Set(kAnn, "msExchExtensionCustomAttribute1", {"onprem"});
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "msExchExtensionCustomAttribute1", {}, {"cloud"}));
  EXPECT_EQ(r.outcome(), v1::CONFLICT);
  EXPECT_THAT(Found(r, "msExchExtensionCustomAttribute1"), ElementsAre("onprem"));
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(JobApplierTest, CompareAndSwapFailureReturnsWhatWasFound) {
  // A dual writer changes the value between the read and the write.
  dir_.before_modify = [&] { dir_.Set(kAnn, "extensionAttribute1", {"onprem"}); };
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::CONFLICT);
  EXPECT_EQ(r.ldap_code(), 16);
  EXPECT_THAT(r.diagnostic(), HasSubstr("LDAP modify of " + kAnn + " failed: noSuchAttribute (16)"));
  EXPECT_THAT(Found(r, "extensionAttribute1"), ElementsAre("onprem"));
  EXPECT_THAT(dir_.Get(kAnn, "extensionAttribute1"), ElementsAre("onprem"));
}

TEST_F(JobApplierTest, CompareAndSwapFailureOnDesiredStateIsAlreadyInState) {
  // A lost ack: an earlier delivery already wrote the target.
  dir_.before_modify = [&] { dir_.Set(kAnn, "extensionAttribute1", {"gen-2"}); };
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::ALREADY_IN_STATE);
  EXPECT_THAT(Found(r, "extensionAttribute1"), ElementsAre("gen-2"));
}

TEST_F(JobApplierTest, ClassifiesServerFailures) {
  dir_.next_modify_result = LdapResult{51, "server is busy", ""};
  v1::JobResult busy = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(busy.outcome(), v1::FAILED_RETRYABLE);
  EXPECT_EQ(busy.ldap_code(), 51);
  EXPECT_EQ(busy.diagnostic(), "LDAP modify of " + kAnn + " failed: busy (51): server is busy");

  dir_.next_modify_result = LdapResult{19, "constraint", ""};
  v1::JobResult bad = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(bad.outcome(), v1::FAILED_PERMANENT);
  EXPECT_EQ(bad.ldap_code(), 19);
}

TEST_F(JobApplierTest, ConnectionLossIsRetryable) {
  dir_.next_modify_error = LdapStatus(-1, "LDAP modify of " + kAnn + " failed", "Can't contact");
  v1::JobResult r = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(r.outcome(), v1::FAILED_RETRYABLE);
  EXPECT_EQ(r.ldap_code(), -1);
  EXPECT_THAT(r.diagnostic(), HasSubstr("serverDown (-1)"));

  dir_.next_search_error = absl::UnavailableError("no domain controller answered");
  v1::JobResult s = Apply(MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"gen-2"}));
  EXPECT_EQ(s.outcome(), v1::FAILED_RETRYABLE);
  EXPECT_THAT(s.diagnostic(), HasSubstr("no domain controller answered"));
}

TEST_F(JobApplierTest, DryRunReportsTheLdifAndWritesNothing) {
  v1::Job job = MakeJob(Guid('\x01'), "extensionAttribute1", {"gen-1"}, {"Zoë"});
  job.set_dry_run(true);
  v1::JobResult r = Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED);
  EXPECT_EQ(r.diagnostic(), "dry run");
  EXPECT_EQ(r.ldif(),
            "dn: " + kAnn + "\n"
            "changetype: modify\n"
            "delete: extensionAttribute1\n"
            "extensionAttribute1: gen-1\n"
            "-\n"
            "add: extensionAttribute1\n"
            "extensionAttribute1:: Wm/Dqw==\n"
            "-\n");
  EXPECT_EQ(dir_.modify_calls(), 0);
  EXPECT_THAT(dir_.Get(kAnn, "extensionAttribute1"), ElementsAre("gen-1"));
}

TEST_F(JobApplierTest, ReadReturnsEveryAllowlistedAttribute) {
  JobApplier applier(&dir_, policy_);
  v1::ReadTarget target;
  target.set_mailbox_id("mbx-1");
  target.set_source_anchor(Guid('\x01'));
  v1::ObservedObject seen = applier.Read(target);
  EXPECT_EQ(seen.failure(), v1::OUTCOME_UNSPECIFIED) << seen.diagnostic();
  EXPECT_EQ(seen.dn(), kAnn);
  EXPECT_EQ(seen.mailbox_id(), "mbx-1");
  EXPECT_EQ(seen.usn_changed(), 4711);
  EXPECT_EQ(seen.when_changed(), "20261123201501.0Z");
  EXPECT_EQ(seen.dc(), "ldaps://fake-dc.test");
  const auto& attrs = seen.attributes().attributes();
  EXPECT_EQ(attrs.size(), 24u);
  EXPECT_THAT(attrs.at("mail").values(), ElementsAre("ann@corp.example.test"));
  EXPECT_THAT(attrs.at("proxyAddresses").values(), ElementsAre("SMTP:ann@corp.example.test"));
  EXPECT_THAT(attrs.at("extensionAttribute15").values(), IsEmpty());
}

TEST_F(JobApplierTest, ReadReportsNotFoundAndOutsideScope) {
  dir_.AddObject(kOut, {{"objectGUID", {Guid('\x05')}}});
  JobApplier applier(&dir_, policy_);
  v1::ReadTarget missing;
  missing.set_source_anchor(Guid('\x09'));
  EXPECT_EQ(applier.Read(missing).failure(), v1::FAILED_PERMANENT);
  v1::ReadTarget outside;
  outside.set_source_anchor(Guid('\x05'));
  v1::ObservedObject seen = applier.Read(outside);
  EXPECT_EQ(seen.failure(), v1::FAILED_PERMANENT);
  EXPECT_THAT(seen.diagnostic(), HasSubstr("outside scope"));
  EXPECT_THAT(seen.attributes().attributes(), IsEmpty());
}

TEST_F(JobApplierTest, ReadManyAnswersEveryTargetInOrderFromOneSearch) {
  dir_.AddObject(kBob, {{"objectGUID", {Guid('\x02')}}, {"mail", {"bob@corp.example.test"}}});
  dir_.AddObject(kOut, {{"objectGUID", {Guid('\x05')}}});
  JobApplier applier(&dir_, policy_);
  std::vector<v1::ReadTarget> targets(4);
  const char fills[] = {'\x02', '\x09', '\x01', '\x05'};  // Bob, nobody, Ann, out of scope
  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].set_mailbox_id("mbx-" + std::to_string(i));
    targets[i].set_source_anchor(Guid(fills[i]));
  }
  std::vector<v1::ObservedObject> seen = applier.ReadMany(targets);
  ASSERT_EQ(seen.size(), 4u);
  // One objectGUID search for all four, one mS-DS-ConsistencyGuid search for
  // the one it did not find; read one by one it would take five.
  EXPECT_EQ(dir_.search_calls(), 2);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].mailbox_id(), targets[i].mailbox_id());
  EXPECT_EQ(seen[0].dn(), kBob);
  EXPECT_THAT(seen[0].attributes().attributes().at("mail").values(),
              ElementsAre("bob@corp.example.test"));
  EXPECT_EQ(seen[1].failure(), v1::FAILED_PERMANENT);
  EXPECT_EQ(seen[2].dn(), kAnn);
  EXPECT_THAT(seen[2].attributes().attributes().at("mail").values(),
              ElementsAre("ann@corp.example.test"));
  EXPECT_EQ(seen[3].failure(), v1::FAILED_PERMANENT);
  EXPECT_THAT(seen[3].diagnostic(), HasSubstr("outside scope"));
  EXPECT_TRUE(applier.ReadMany({}).empty());
}

TEST_F(JobApplierTest, EmptyScopeMeansTheWholeBaseDn) {
  policy_.scope_ous.clear();
  dir_.AddObject(kOut, {{"objectGUID", {Guid('\x05')}}, {"mail", {"eve@corp.example.test"}}});
  v1::JobResult r = Apply(MakeJob(Guid('\x05'), "mail", {"eve@corp.example.test"},
                                  {"eve2@corp.example.test"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

TEST(JobApplierWriteGateTest, ClosedGateSendsNoModify) {
  testing::FakeDirectory dir;
  const std::string dn = "CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test";
  dir.AddObject(dn, {{"objectGUID", {std::string(16, '\x01')}}});
  JobApplier applier(&dir, LocalPolicy{{}, {"OU=Mailboxes,DC=corp,DC=example,DC=test"}});
  int asked = 0;
  applier.set_write_gate([&asked] {
    ++asked;
    return false;  // the session's lease is gone
  });
  v1::Job job;
  job.set_job_id("j1");
  job.set_source_anchor(std::string(16, '\x01'));
  auto* change = job.add_changes();
  change->set_attribute("extensionAttribute1");
  change->add_desired("late");
  v1::JobResult r = applier.Apply(job);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(r.outcome(), v1::FAILED_RETRYABLE);
  EXPECT_EQ(dir.modify_calls(), 0);
  EXPECT_TRUE(dir.Get(dn, "extensionAttribute1").empty());
}

}  // namespace
}  // namespace writeback::agent
