// The agent's local policy against a real Samba AD DC (issue 3, acceptance
// 2): every refused job answers REJECTED_BY_POLICY or a named permanent
// failure, and the DC's audit log shows no successful modify of the object
// afterwards. Runs in its own network namespace (wb_add_dc_test).
#include <ldap.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "agent/directory/ldap_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/testing/admin_ldap_options.h"
#include "tests/harness/samba_dc.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::writeback::testing::SambaDc;

const char kDomain[] = "@corp.example.test";

class PolicyIt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dc = SambaDc::Start(SambaDc::Options::FromEnv());
    ASSERT_OK(dc);
    dc_ = dc->release();
    auto users = dc_->AddUsers(16, "pol");
    ASSERT_OK(users);
    users_ = new std::vector<SambaDc::User>(std::move(*users));
    auto outside = dc_->AddUsers(1, "outsider", "OU=Outside");
    ASSERT_OK(outside);
    outsider_ = new SambaDc::User((*outside)[0]);
  }
  static void TearDownTestSuite() {
    delete dc_;
    delete users_;
    delete outsider_;
  }

  void SetUp() override {
    auto dir = LdapDirectory::Connect(testing::AdminLdapOptions(*dc_));
    ASSERT_OK(dir);
    dir_ = std::move(*dir);
    policy_.scope_ous = {"OU=Mailboxes," + dc_->base_dn()};
  }

  static const SambaDc::User& User(int i) { return (*users_)[i]; }
  static std::string Mail(int i) { return User(i).sam + kDomain; }

  static v1::Job Job(const SambaDc::User& user, const std::string& attr,
                     std::vector<std::string> expected, std::vector<std::string> desired) {
    v1::Job job;
    job.set_job_id("it-" + user.sam);
    job.set_source_anchor(user.object_guid);
    v1::AttributeChange* c = job.add_changes();
    c->set_attribute(attr);
    for (const auto& v : expected) c->add_expected(v);
    for (const auto& v : desired) c->add_desired(v);
    return job;
  }

  std::vector<std::string> ReadAttr(const std::string& dn, const std::string& attr) {
    auto attrs = dc_->Read(dn, {attr});
    EXPECT_OK(attrs);
    if (!attrs.ok() || attrs->count(attr) == 0) return {};
    return (*attrs)[attr];
  }
  size_t AuditSize() {
    auto events = dc_->AuditEvents();
    EXPECT_OK(events);
    return events.ok() ? events->size() : 0;
  }
  // Successful modifies of `dn` logged after the first `from` events.
  std::vector<SambaDc::AuditEvent> ModifiesSince(size_t from, const std::string& dn) {
    auto events = dc_->AuditEvents();
    EXPECT_OK(events);
    std::vector<SambaDc::AuditEvent> out;
    if (!events.ok()) return out;
    for (size_t i = from; i < events->size(); ++i) {
      const SambaDc::AuditEvent& e = (*events)[i];
      if (e.operation == "Modify" && e.status_code == 0 && absl::EqualsIgnoreCase(e.dn, dn)) {
        out.push_back(e);
      }
    }
    return out;
  }

  // Deletes `dn` over LDAPS as Administrator (independent of the code under
  // test): the object becomes a tombstone in CN=Deleted Objects.
  absl::Status DeleteObject(const std::string& dn) {
    LDAP* ld = nullptr;
    if (ldap_initialize(&ld, dc_->url().c_str()) != LDAP_SUCCESS) {
      return absl::InternalError("ldap_initialize");
    }
    std::unique_ptr<LDAP, void (*)(LDAP*)> owner(
        ld, [](LDAP* l) { ldap_unbind_ext_s(l, nullptr, nullptr); });
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, new_ctx = 0;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, dc_->ca_file().c_str());
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
    std::string password = dc_->AdminPassword().value();
    berval cred{static_cast<ber_len_t>(password.size()), password.data()};
    int rc = ldap_sasl_bind_s(ld, dc_->admin_dn().c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                              nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return absl::InternalError(absl::StrCat("bind: ", ldap_err2string(rc)));
    rc = ldap_delete_ext_s(ld, dn.c_str(), nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      return absl::InternalError(absl::StrCat("delete ", dn, ": ", ldap_err2string(rc)));
    }
    return absl::OkStatus();
  }

  static SambaDc* dc_;
  static std::vector<SambaDc::User>* users_;
  static SambaDc::User* outsider_;
  std::unique_ptr<LdapDirectory> dir_;
  LocalPolicy policy_;
};

SambaDc* PolicyIt::dc_ = nullptr;
std::vector<SambaDc::User>* PolicyIt::users_ = nullptr;
SambaDc::User* PolicyIt::outsider_ = nullptr;

TEST_F(PolicyIt, AddressOfAnotherMailboxIsRefused) {
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  // AD matches proxyAddresses ignoring case: "smtp:POL0002@..." is pol0002's
  // primary "SMTP:pol0002@...".
  v1::JobResult r = applier.Apply(
      Job(User(0), "proxyAddresses", {"SMTP:" + Mail(0)},
          {"SMTP:" + Mail(0), "smtp:POL0002" + std::string(kDomain)}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("POL0002"));
  EXPECT_THAT(r.diagnostic(), HasSubstr(User(1).dn));
  EXPECT_THAT(ModifiesSince(before, User(0).dn), ::testing::IsEmpty());
  EXPECT_THAT(ReadAttr(User(0).dn, "proxyAddresses"), ElementsAre("SMTP:" + Mail(0)));
}

TEST_F(PolicyIt, MailOfAnObjectOutsideScopeIsRefused) {
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  const std::string taken = outsider_->sam + kDomain;
  v1::Job job = Job(User(2), "proxyAddresses", {"SMTP:" + Mail(2)},
                    {"SMTP:" + taken, "smtp:" + Mail(2)});
  v1::AttributeChange* mail = job.add_changes();
  mail->set_attribute("mail");
  mail->add_expected(Mail(2));
  mail->add_desired(taken);
  v1::JobResult r = applier.Apply(job);
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr(outsider_->dn));
  EXPECT_THAT(ModifiesSince(before, User(2).dn), ::testing::IsEmpty());
  EXPECT_THAT(ReadAttr(User(2).dn, "mail"), ElementsAre(Mail(2)));
}

TEST_F(PolicyIt, ForeignDomainIsRefused) {
  policy_.accepted_domains = {"corp.example.test"};
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  v1::JobResult r = applier.Apply(Job(User(3), "proxyAddresses", {"SMTP:" + Mail(3)},
                                      {"SMTP:" + Mail(3), "smtp:pol0004@evil.example"}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("evil.example"));
  EXPECT_THAT(ModifiesSince(before, User(3).dn), ::testing::IsEmpty());
  EXPECT_THAT(ReadAttr(User(3).dn, "proxyAddresses"), ElementsAre("SMTP:" + Mail(3)));
}

TEST_F(PolicyIt, MailAwayFromThePrimaryAddressIsRefused) {
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  v1::JobResult r =
      applier.Apply(Job(User(4), "mail", {Mail(4)}, {"someone.else" + std::string(kDomain)}));
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(r.diagnostic(), HasSubstr("primary SMTP address"));
  EXPECT_THAT(ModifiesSince(before, User(4).dn), ::testing::IsEmpty());
}

TEST_F(PolicyIt, DeletedObjectIsReportedAsDeleted) {
  const SambaDc::User& victim = User(5);
  ASSERT_OK(DeleteObject(victim.dn));
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  v1::JobResult r = applier.Apply(Job(victim, "extensionAttribute1", {}, {"late"}));
  EXPECT_EQ(r.outcome(), v1::FAILED_PERMANENT);
  EXPECT_THAT(r.diagnostic(), HasSubstr("deleted: the object with anchor"));
  EXPECT_THAT(r.diagnostic(), HasSubstr("Deleted Objects"));
  EXPECT_THAT(r.diagnostic(), Not(HasSubstr("not found")));
  auto events = dc_->AuditEvents();
  ASSERT_OK(events);
  for (size_t i = before; i < events->size(); ++i) {
    EXPECT_NE((*events)[i].operation, "Modify") << (*events)[i].dn;
  }
  // An anchor nobody ever had is still "not found".
  v1::Job unknown = Job(victim, "extensionAttribute1", {}, {"x"});
  unknown.set_source_anchor(std::string(16, '\x7e'));
  EXPECT_THAT(applier.Apply(unknown).diagnostic(), HasSubstr("not found"));
}

TEST_F(PolicyIt, OwnedTypesLeaveAnX500ValueUntouched) {
  const SambaDc::User& u = User(6);
  const std::string x500 = "X500:/o=corp/ou=legacy/cn=Recipients/cn=" + u.sam;
  ASSERT_OK(dc_->Modify(u.dn, {{"proxyAddresses", {"SMTP:" + Mail(6), x500}}}));
  policy_.owned_address_types = {"SMTP"};
  JobApplier applier(dir_.get(), policy_);
  const size_t before = AuditSize();
  // The cloud's set has no X500 value: it is not the agent's to delete.
  v1::JobResult r = applier.Apply(Job(u, "proxyAddresses", {"SMTP:" + Mail(6)},
                                      {"SMTP:" + Mail(6), "smtp:" + u.sam + ".alias" + kDomain}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(ReadAttr(u.dn, "proxyAddresses"),
              UnorderedElementsAre("SMTP:" + Mail(6), "smtp:" + u.sam + ".alias" + kDomain, x500));
  std::vector<SambaDc::AuditEvent> modifies = ModifiesSince(before, u.dn);
  ASSERT_EQ(modifies.size(), 1u);
  const auto* actions = modifies[0].Find("proxyAddresses");
  ASSERT_NE(actions, nullptr);
  for (const SambaDc::AttributeAction& a : *actions) {
    for (const std::string& v : a.values) EXPECT_THAT(v, Not(HasSubstr("X500"))) << a.action;
  }
  // Nothing left to do for the owned type: already in state, X500 or not.
  EXPECT_EQ(applier.Apply(Job(u, "proxyAddresses", {"SMTP:" + Mail(6)},
                              {"SMTP:" + Mail(6), "smtp:" + u.sam + ".alias" + kDomain}))
                .outcome(),
            v1::ALREADY_IN_STATE);
}

TEST_F(PolicyIt, VolumeCapRefusesJobsBeyondIt) {
  policy_.max_writes_per_window = 2;
  policy_.write_window = absl::Hours(1);
  JobApplier applier(dir_.get(), policy_);
  PipelinedApplier pipeline(dir_.get(), &applier, {.window = 4, .match_batch = 8});
  const size_t before = AuditSize();
  std::vector<v1::Job> jobs;
  for (int i = 7; i < 11; ++i) {
    v1::Job job = Job(User(i), "extensionAttribute2", {}, {"capped"});
    job.set_job_id(absl::StrCat("cap-", i));
    jobs.push_back(job);
  }
  std::map<std::string, v1::JobResult> results;
  for (v1::JobResult& r : ApplyAll(pipeline, jobs)) results[r.job_id()] = r;
  int applied = 0;
  for (int i = 7; i < 11; ++i) {
    const v1::JobResult& r = results[absl::StrCat("cap-", i)];
    if (r.outcome() == v1::APPLIED) {
      ++applied;
      EXPECT_EQ(ModifiesSince(before, User(i).dn).size(), 1u);
      continue;
    }
    EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY);
    EXPECT_THAT(r.diagnostic(), HasSubstr("volume cap reached: 2 writes in the last 3600 s"));
    EXPECT_THAT(ModifiesSince(before, User(i).dn), ::testing::IsEmpty());
    EXPECT_THAT(ReadAttr(User(i).dn, "extensionAttribute2"), ::testing::IsEmpty());
  }
  EXPECT_EQ(applied, 2);
}

TEST_F(PolicyIt, BatchedUniquenessAndWriteRateOverThePipeline) {
  policy_.max_writes_per_second = 4;
  JobApplier applier(dir_.get(), policy_);
  PipelinedApplier pipeline(dir_.get(), &applier, {.window = 8, .match_batch = 16});
  const size_t before = AuditSize();
  std::vector<v1::Job> jobs;
  for (int i = 11; i < 16; ++i) {
    v1::Job job = Job(User(i), "proxyAddresses", {"SMTP:" + Mail(i)},
                      {"SMTP:" + Mail(i), "smtp:" + User(i).sam + ".second" + kDomain});
    job.set_job_id(absl::StrCat("u-", i));
    jobs.push_back(job);
  }
  // The first job would give pol0012 the address of pol0008.
  jobs[0].mutable_changes(0)->set_desired(1, "smtp:" + Mail(7));
  const absl::Time start = absl::Now();
  std::map<std::string, v1::JobResult> results;
  for (v1::JobResult& r : ApplyAll(pipeline, jobs)) results[r.job_id()] = r;
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(results["u-11"].outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_THAT(results["u-11"].diagnostic(), HasSubstr(User(7).dn));
  EXPECT_THAT(ModifiesSince(before, User(11).dn), ::testing::IsEmpty());
  for (int i = 12; i < 16; ++i) {
    EXPECT_EQ(results[absl::StrCat("u-", i)].outcome(), v1::APPLIED)
        << results[absl::StrCat("u-", i)].diagnostic();
  }
  // Four writes at four a second fit in the first second's burst; the rate
  // throttles rather than fails, so all of them landed.
  EXPECT_LT(took, absl::Seconds(10));
}

TEST_F(PolicyIt, WriteRateSpacesWritesOnTheDc) {
  policy_.max_writes_per_second = 2;
  JobApplier applier(dir_.get(), policy_);
  PipelinedApplier pipeline(dir_.get(), &applier, {.window = 8, .match_batch = 16});
  std::vector<v1::Job> jobs;
  for (int i = 12; i < 16; ++i) {  // four more writes on objects already used
    v1::Job job = Job(User(i), "extensionAttribute4", {}, {"paced"});
    job.set_job_id(absl::StrCat("r-", i));
    jobs.push_back(job);
  }
  jobs.push_back(Job(User(0), "extensionAttribute4", {}, {"paced"}));
  const absl::Time start = absl::Now();
  std::vector<v1::JobResult> results = ApplyAll(pipeline, jobs);
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(results.size(), 5u);
  for (const v1::JobResult& r : results) EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  // A burst of 2, then one every 0.5 s: the fifth write after 1.5 s.
  EXPECT_GE(took, absl::Milliseconds(1400));
}

}  // namespace
}  // namespace writeback::agent
