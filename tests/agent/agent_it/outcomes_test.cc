// Issue 3, acceptance 1 and 2: the real writeback-agent, driven through the
// TestController against a real Samba AD DC, gives each outcome for the right
// reason. The DC is the oracle: its state is read over LDAP and its audit log
// shows what reached the directory, never only the agent's word.
//
// One DC, controller and agent serve the whole suite; each test works on its
// own users (a distinct name prefix) and looks only at audit events logged
// after its own mark.
#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using v1::JobResult;

constexpr char kDomain[] = "@corp.example.test";

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

// Attribute names an audit event touched, lower-cased.
std::set<std::string> Touched(const SambaDc::AuditEvent& e) {
  std::set<std::string> names;
  for (const auto& [name, actions] : e.attributes) names.insert(Lower(name));
  return names;
}

int Successful(const std::vector<SambaDc::AuditEvent>& events) {
  return static_cast<int>(std::count_if(events.begin(), events.end(),
                                        [](const auto& e) { return e.status_code == 0; }));
}

std::vector<std::string> FoundValues(const JobResult& r, const std::string& attr) {
  auto it = r.found().attributes().find(attr);
  if (it == r.found().attributes().end()) return {"<absent from found>"};
  return {it->second.values().begin(), it->second.values().end()};
}

class AgentOutcomesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new AgentItEnv();
    absl::Status s = env_->StartDc();
    if (s.ok()) s = env_->StartController({});
    if (s.ok()) s = env_->StartAgent({});
    if (!s.ok()) setup_error_ = new std::string(s.ToString());
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  }

  std::vector<SambaDc::User> Users(int n, const std::string& prefix,
                                   const std::string& ou = "OU=Mailboxes") {
    auto users = env_->dc().AddUsers(n, prefix, ou);
    EXPECT_OK(users);
    return users.ok() ? *users : std::vector<SambaDc::User>{};
  }
  size_t Mark() {
    auto mark = env_->AuditMark();
    EXPECT_OK(mark);
    return mark.value_or(0);
  }
  // Runs one job and returns its result (an empty result on failure).
  JobResult RunOne(const v1::Job& job) {
    auto results = env_->Run({job});
    EXPECT_OK(results) << env_->AgentLog();
    if (!results.ok()) return JobResult();
    return results->at(job.job_id());
  }
  std::vector<SambaDc::AuditEvent> Modifies(size_t mark, const std::string& dn) {
    auto events = env_->ModifiesSince(mark, dn);
    EXPECT_OK(events);
    return events.value_or(std::vector<SambaDc::AuditEvent>{});
  }
  std::vector<std::string> DcValues(const std::string& dn, const std::string& attr) {
    auto attrs = env_->dc().Read(dn, {attr});
    EXPECT_OK(attrs);
    if (!attrs.ok()) return {"<read failed>"};
    auto it = attrs->find(attr);
    return it == attrs->end() ? std::vector<std::string>{} : it->second;
  }
  // A refused job: the given outcome, nothing of `dn` modified since `mark`,
  // and `attr` still holds `before`.
  void ExpectRefused(const v1::Job& job, v1::Outcome outcome, const std::string& dn,
                     const std::string& attr, const std::vector<std::string>& before,
                     const std::string& diagnostic_part) {
    size_t mark = Mark();
    JobResult r = RunOne(job);
    EXPECT_EQ(r.outcome(), outcome) << r.ShortDebugString();
    EXPECT_THAT(Lower(r.diagnostic()), HasSubstr(Lower(diagnostic_part))) << r.ShortDebugString();
    EXPECT_THAT(Modifies(mark, dn), IsEmpty()) << "a refused job reached the directory";
    EXPECT_THAT(DcValues(dn, attr), UnorderedElementsAreArray(before));
  }

  static AgentItEnv* env_;
  static std::string* setup_error_;
};

AgentItEnv* AgentOutcomesTest::env_ = nullptr;
std::string* AgentOutcomesTest::setup_error_ = nullptr;

TEST_F(AgentOutcomesTest, CompareAndSwapWritesExactlyTheDesiredValuesInOneModify) {
  auto users = Users(1, "applied");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  const std::string old_primary = "SMTP:" + u.sam + kDomain;
  const std::string new_primary = "SMTP:" + u.sam + ".new" + kDomain;
  const std::string secondary = "smtp:" + u.sam + kDomain;
  size_t mark = Mark();

  // A new primary address: mail moves with it.
  const std::string old_mail = u.sam + kDomain;
  const std::string new_mail = u.sam + ".new" + kDomain;
  JobResult r = RunOne(CasJob("applied-1", u,
                              {{"proxyAddresses", {old_primary}, {new_primary, secondary}},
                               {"mail", {old_mail}, {new_mail}},
                               {"extensionAttribute1", {}, {"gen-1"}}}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString();
  EXPECT_EQ(Lower(r.dn()), Lower(u.dn));
  EXPECT_EQ(r.dc(), env_->dc().url());

  EXPECT_THAT(DcValues(u.dn, "proxyAddresses"), UnorderedElementsAre(new_primary, secondary));
  EXPECT_THAT(DcValues(u.dn, "extensionAttribute1"), ElementsAre("gen-1"));
  EXPECT_THAT(DcValues(u.dn, "mail"), ElementsAre(new_mail));
  EXPECT_THAT(DcValues(u.dn, "sAMAccountName"), ElementsAre(u.sam)) << "not in the job: untouched";

  auto modifies = Modifies(mark, u.dn);
  ASSERT_EQ(modifies.size(), 1u) << "exactly one modify of the object";
  const auto& m = modifies[0];
  EXPECT_EQ(m.status_code, 0) << m.status;
  EXPECT_THAT(Touched(m), UnorderedElementsAre("proxyaddresses", "mail", "extensionattribute1"));
  // The compare-and-swap: the expected set deleted, the desired set added.
  const auto* proxy = m.Find("proxyAddresses");
  ASSERT_NE(proxy, nullptr);
  ASSERT_EQ(proxy->size(), 2u);
  EXPECT_EQ((*proxy)[0].action, "delete");
  EXPECT_THAT((*proxy)[0].values, ElementsAre(old_primary));
  EXPECT_EQ((*proxy)[1].action, "add");
  EXPECT_THAT((*proxy)[1].values, UnorderedElementsAre(new_primary, secondary));
  const auto* mail = m.Find("mail");
  ASSERT_NE(mail, nullptr);
  ASSERT_EQ(mail->size(), 2u);
  EXPECT_EQ((*mail)[0].action, "delete");
  EXPECT_THAT((*mail)[0].values, ElementsAre(old_mail));
  EXPECT_EQ((*mail)[1].action, "add");
  EXPECT_THAT((*mail)[1].values, ElementsAre(new_mail));
  const auto* ext = m.Find("extensionAttribute1");
  ASSERT_NE(ext, nullptr);
  ASSERT_EQ(ext->size(), 1u) << "nothing expected: nothing deleted";
  EXPECT_EQ((*ext)[0].action, "add");
  EXPECT_THAT((*ext)[0].values, ElementsAre("gen-1"));
}

TEST_F(AgentOutcomesTest, OnPremEditBetweenPlanningAndApplyingIsAConflictAndNotOverwritten) {
  auto users = Users(2, "conflict");
  ASSERT_EQ(users.size(), 2u);
  // Single-valued: the controller planned gen-1 -> gen-2; on-prem wrote
  // "onprem" meanwhile.
  const auto& a = users[0];
  ASSERT_OK(env_->dc().Modify(a.dn, {{"extensionAttribute2", {"gen-1"}}}));
  ASSERT_OK(env_->dc().Modify(a.dn, {{"extensionAttribute2", {"onprem"}}}));
  // Multi-valued: on-prem added an address to the set the controller knew.
  const auto& b = users[1];
  const std::string primary = "SMTP:" + b.sam + kDomain;
  const std::string onprem = "smtp:" + b.sam + ".onprem" + kDomain;
  ASSERT_OK(env_->dc().ModifyOps(b.dn, {{SambaDc::Mod::Op::kAdd, "proxyAddresses", {onprem}}}));
  size_t mark = Mark();

  auto results = env_->Run(
      {CasJob("conflict-a", a, {{"extensionAttribute2", {"gen-1"}, {"gen-2"}}}, 2),
       CasJob("conflict-b", b,
              {{"proxyAddresses", {primary}, {primary, "smtp:" + b.sam + ".cloud" + kDomain}}},
              2)});
  ASSERT_OK(results) << env_->AgentLog();
  const JobResult& ra = results->at("conflict-a");
  EXPECT_EQ(ra.outcome(), v1::CONFLICT) << ra.ShortDebugString();
  EXPECT_THAT(FoundValues(ra, "extensionAttribute2"), ElementsAre("onprem"));
  const JobResult& rb = results->at("conflict-b");
  EXPECT_EQ(rb.outcome(), v1::CONFLICT) << rb.ShortDebugString();
  EXPECT_THAT(FoundValues(rb, "proxyAddresses"), UnorderedElementsAre(primary, onprem));

  // No overwrite: the DC keeps the on-prem values, and no modify by the agent
  // succeeded on either object.
  EXPECT_THAT(DcValues(a.dn, "extensionAttribute2"), ElementsAre("onprem"));
  EXPECT_THAT(DcValues(b.dn, "proxyAddresses"), UnorderedElementsAre(primary, onprem));
  EXPECT_EQ(Successful(Modifies(mark, a.dn)), 0);
  EXPECT_EQ(Successful(Modifies(mark, b.dn)), 0);
}

TEST_F(AgentOutcomesTest, RedeliveredJobWhoseWriteLandedIsAlreadyInState) {
  auto users = Users(2, "redeliver");
  ASSERT_EQ(users.size(), 2u);
  const auto& u = users[0];
  size_t mark = Mark();
  v1::Job job = CasJob("redeliver-1", u, {{"extensionAttribute3", {}, {"gen-1"}}});
  JobResult first = RunOne(job);
  EXPECT_EQ(first.outcome(), v1::APPLIED) << first.ShortDebugString();
  size_t after_first = Mark();

  // The ack was lost; the controller redelivers the same job, then the same
  // change again under a new job id (a new attempt).
  JobResult again = RunOne(job);
  EXPECT_EQ(again.outcome(), v1::ALREADY_IN_STATE) << again.ShortDebugString();
  EXPECT_THAT(FoundValues(again, "extensionAttribute3"), ElementsAre("gen-1"));
  v1::Job retry = job;
  retry.set_job_id("redeliver-2");
  JobResult third = RunOne(retry);
  EXPECT_EQ(third.outcome(), v1::ALREADY_IN_STATE) << third.ShortDebugString();

  EXPECT_THAT(DcValues(u.dn, "extensionAttribute3"), ElementsAre("gen-1"));
  EXPECT_EQ(Successful(Modifies(mark, u.dn)), 1) << "exactly the first delivery wrote";
  EXPECT_THAT(Modifies(after_first, u.dn), IsEmpty()) << "redeliveries must not write";
}

TEST_F(AgentOutcomesTest, SameJobTwiceInOneBatchWritesOnce) {
  auto users = Users(1, "twice");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  size_t mark = Mark();
  v1::Job job = CasJob("twice-1", u, {{"extensionAttribute4", {}, {"gen-1"}}});
  v1::Job copy = job;
  copy.set_job_id("twice-2");
  auto results = env_->Run({job, copy});
  ASSERT_OK(results) << env_->AgentLog();
  EXPECT_EQ(results->at("twice-1").outcome(), v1::APPLIED) << results->at("twice-1").ShortDebugString();
  EXPECT_EQ(results->at("twice-2").outcome(), v1::ALREADY_IN_STATE)
      << results->at("twice-2").ShortDebugString();
  EXPECT_THAT(DcValues(u.dn, "extensionAttribute4"), ElementsAre("gen-1"));
  EXPECT_EQ(Successful(Modifies(mark, u.dn)), 1);
}

TEST_F(AgentOutcomesTest, UnknownAnchorIsAPermanentFailureNamingTheAnchor) {
  SambaDc::User ghost;
  ghost.sam = "ghost";
  ghost.object_guid = std::string("\x5a\x5a\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 16);
  auto before = env_->dc().AuditEvents();
  ASSERT_OK(before);
  JobResult r = RunOne(CasJob("ghost-1", ghost, {{"extensionAttribute1", {}, {"x"}}}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT) << r.ShortDebugString();
  EXPECT_THAT(Lower(r.diagnostic()), HasSubstr("not found"));
  EXPECT_TRUE(r.dn().empty());
  auto after = env_->dc().AuditEvents();
  ASSERT_OK(after);
  for (size_t i = before->size(); i < after->size(); ++i) {
    EXPECT_TRUE((*after)[i].performed_as_system)
        << "unexpected write: " << (*after)[i].operation << " " << (*after)[i].dn;
  }
}

TEST_F(AgentOutcomesTest, ObjectOutsideScopeIsRejectedByPolicy) {
  auto users = Users(1, "outside", "OU=Outside");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  ExpectRefused(CasJob("outside-1", u, {{"extensionAttribute1", {}, {"x"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "extensionAttribute1", {}, "scope");
}

TEST_F(AgentOutcomesTest, AttributesOutsideTheAllowlistAreRejectedByPolicy) {
  auto users = Users(1, "allowlist");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  auto uac = env_->dc().Read(u.dn, {"userAccountControl"});
  ASSERT_OK(uac);
  ExpectRefused(CasJob("allow-uac", u, {{"userAccountControl", (*uac)["userAccountControl"],
                                         {"512"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "userAccountControl", (*uac)["userAccountControl"],
                "userAccountControl");
  ExpectRefused(CasJob("allow-description", u, {{"description", {}, {"owned"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "description", {}, "description");
  // Opt-in attribute, not in the default allowlist.
  ExpectRefused(CasJob("allow-hide", u, {{"msExchHideFromAddressLists", {}, {"TRUE"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "msExchHideFromAddressLists", {},
                "msExchHideFromAddressLists");
  // One forbidden attribute refuses the whole job: the allowed one is not
  // written either.
  ExpectRefused(CasJob("allow-mixed", u, {{"extensionAttribute1", {}, {"x"}},
                                          {"member", {}, {u.dn}}}),
                v1::REJECTED_BY_POLICY, u.dn, "extensionAttribute1", {}, "member");
}

TEST_F(AgentOutcomesTest, InvalidValuesAreRejectedByPolicy) {
  auto users = Users(1, "invalid");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  const std::string primary = "SMTP:" + u.sam + kDomain;
  ExpectRefused(CasJob("invalid-number", u, {{"msExchRecipientTypeDetails", {}, {"mailbox"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "msExchRecipientTypeDetails", {},
                "msExchRecipientTypeDetails");
  ExpectRefused(CasJob("invalid-two-primaries", u,
                       {{"proxyAddresses", {primary}, {primary, "SMTP:other" + std::string(kDomain)}}}),
                v1::REJECTED_BY_POLICY, u.dn, "proxyAddresses", {primary}, "proxyAddresses");
  ExpectRefused(CasJob("invalid-no-primary", u,
                       {{"proxyAddresses", {primary}, {"smtp:" + u.sam + kDomain}}}),
                v1::REJECTED_BY_POLICY, u.dn, "proxyAddresses", {primary}, "proxyAddresses");
  ExpectRefused(CasJob("invalid-too-long", u,
                       {{"extensionAttribute1", {}, {std::string(1025, 'x')}}}),
                v1::REJECTED_BY_POLICY, u.dn, "extensionAttribute1", {}, "extensionAttribute1");
  ExpectRefused(CasJob("invalid-two-values", u,
                       {{"extensionAttribute1", {}, {"a", "b"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "extensionAttribute1", {}, "extensionAttribute1");
}

TEST_F(AgentOutcomesTest, ProtectedObjectIsRejectedByPolicy) {
  auto users = Users(1, "protected");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  ASSERT_OK(env_->dc().Modify(u.dn, {{"adminCount", {"1"}}}));
  ExpectRefused(CasJob("protected-1", u, {{"extensionAttribute1", {}, {"x"}}}),
                v1::REJECTED_BY_POLICY, u.dn, "extensionAttribute1", {}, "protected");
}

TEST_F(AgentOutcomesTest, DryRunReturnsTheModifyAndWritesNothing) {
  auto users = Users(1, "dryrun");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  size_t mark = Mark();
  v1::Job job = CasJob("dry-1", u, {{"extensionAttribute5", {}, {"gen-1"}}});
  job.set_dry_run(true);
  JobResult r = RunOne(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString();
  EXPECT_THAT(r.ldif(), HasSubstr("extensionAttribute5"));
  EXPECT_THAT(r.ldif(), HasSubstr("gen-1"));
  EXPECT_THAT(DcValues(u.dn, "extensionAttribute5"), IsEmpty());
  EXPECT_THAT(Modifies(mark, u.dn), IsEmpty());
}

TEST_F(AgentOutcomesTest, ReadRequestReturnsWhatAnLdapReadReturns) {
  auto users = Users(1, "reader");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  ASSERT_OK(env_->dc().Modify(u.dn, {{"extensionAttribute6", {"six"}},
                                     {"msExchRecipientTypeDetails", {"2147483648"}},
                                     {"proxyAddresses", {"SMTP:" + u.sam + kDomain,
                                                         "smtp:alias-" + u.sam + kDomain,
                                                         "X500:/o=corp/cn=" + u.sam}}}));
  v1::ReadTarget target;
  target.set_mailbox_id("mbx-" + u.sam);
  target.set_source_anchor(u.object_guid);
  v1::ReadTarget ghost;
  ghost.set_mailbox_id("mbx-ghost");
  ghost.set_source_anchor(std::string(16, '\x7f'));
  ASSERT_OK(env_->controller().SendRead("read-1", {target, ghost}));

  std::map<std::string, v1::ObservedObject> seen;  // by mailbox id
  while (seen.size() < 2) {
    auto observed = env_->controller().WaitForObserved(absl::Seconds(30));
    ASSERT_OK(observed) << env_->AgentLog();
    EXPECT_EQ(observed->request_id(), "read-1");
    for (const auto& o : observed->objects()) seen[o.mailbox_id()] = o;
  }
  const v1::ObservedObject& o = seen["mbx-" + u.sam];
  EXPECT_EQ(o.failure(), v1::OUTCOME_UNSPECIFIED) << o.ShortDebugString();
  EXPECT_EQ(Lower(o.dn()), Lower(u.dn));
  EXPECT_EQ(o.source_anchor(), u.object_guid);
  EXPECT_GE(o.attributes().attributes().size(), 24u) << "every allowlisted attribute";
  std::vector<std::string> names = {"uSNChanged", "whenChanged"};
  for (const auto& [name, values] : o.attributes().attributes()) names.push_back(name);
  auto ldap = env_->dc().Read(u.dn, names);
  ASSERT_OK(ldap);
  for (const auto& [name, values] : o.attributes().attributes()) {
    std::vector<std::string> want = ldap->count(name) ? (*ldap)[name] : std::vector<std::string>{};
    EXPECT_THAT(std::vector<std::string>(values.values().begin(), values.values().end()),
                UnorderedElementsAreArray(want))
        << name;
  }
  EXPECT_THAT(o.attributes().attributes().at("extensionAttribute6").values(), ElementsAre("six"));
  EXPECT_EQ(absl::StrCat(o.usn_changed()), (*ldap)["uSNChanged"].at(0));
  EXPECT_EQ(o.when_changed(), (*ldap)["whenChanged"].at(0));

  const v1::ObservedObject& g = seen["mbx-ghost"];
  EXPECT_EQ(g.failure(), v1::FAILED_PERMANENT) << g.ShortDebugString();
  EXPECT_THAT(Lower(g.diagnostic()), HasSubstr("not found"));
}

}  // namespace
}  // namespace writeback::testing
