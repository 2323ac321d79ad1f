// LdapDirectory and JobApplier against a real Samba AD DC (tests/harness).
// Every write is checked with SambaDc::Read / AuditEvents, independent of the
// code under test. Runs in its own network namespace (wb_add_dc_test).
#include <signal.h>

#include <fstream>
#include <functional>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "agent/directory/forest_directory.h"
#include "agent/directory/ldap_directory.h"
#include "agent/directory/ldap_errors.h"
#include "common/identity/anchor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/testing/admin_ldap_options.h"
#include "tests/harness/samba_dc.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::writeback::testing::SambaDc;
using ::writeback::testing::StatusIs;

// Runs a hook before each modify: an on-premises writer racing the agent.
class RacingDirectory : public Directory {
 public:
  RacingDirectory(Directory* inner, std::function<void()> hook)
      : inner_(inner), hook_(std::move(hook)) {}
  absl::StatusOr<std::vector<DirectoryEntry>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override {
    return inner_->Search(base, filter, attributes, size_limit);
  }
  absl::StatusOr<LdapResult> Modify(const std::string& dn,
                                    const std::vector<Modification>& mods) override {
    hook_();
    return inner_->Modify(dn, mods);
  }
  absl::StatusOr<int> StartModify(const std::string& dn,
                                  const std::vector<Modification>& mods) override {
    hook_();
    return inner_->StartModify(dn, mods);
  }
  std::vector<Completion> PollModifies(absl::Duration wait) override {
    return inner_->PollModifies(wait);
  }
  size_t OutstandingModifies() const override { return inner_->OutstandingModifies(); }
  std::string BaseDn() const override { return inner_->BaseDn(); }
  std::string CurrentDc() const override { return inner_->CurrentDc(); }
  void Close() override { inner_->Close(); }

 private:
  Directory* inner_;
  std::function<void()> hook_;
};

class LdapDirectoryIt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dc = SambaDc::Start(SambaDc::Options::FromEnv());
    ASSERT_OK(dc);
    dc_ = dc->release();
    auto users = dc_->AddUsers(8, "it");
    ASSERT_OK(users);
    users_ = new std::vector<SambaDc::User>(std::move(*users));
  }
  static void TearDownTestSuite() {
    delete dc_;
    delete users_;
  }

  LdapOptions Options() const { return testing::AdminLdapOptions(*dc_); }
  std::unique_ptr<LdapDirectory> ConnectOrDie() {
    auto dir = LdapDirectory::Connect(Options());
    EXPECT_OK(dir);
    return dir.ok() ? std::move(*dir) : nullptr;
  }
  std::vector<std::string> ReadAttr(const std::string& dn, const std::string& attr) {
    auto attrs = dc_->Read(dn, {attr});
    EXPECT_OK(attrs);
    if (!attrs.ok() || attrs->count(attr) == 0) return {};
    return (*attrs)[attr];
  }
  int SuccessfulModifies(const std::string& dn) {
    auto events = dc_->AuditEvents();
    EXPECT_OK(events);
    int n = 0;
    for (const auto& e : events.value_or(std::vector<SambaDc::AuditEvent>{})) {
      if (e.operation == "Modify" && e.status_code == 0 &&
          absl::EqualsIgnoreCase(e.dn, dn)) {
        ++n;
      }
    }
    return n;
  }
  static v1::Job Job(const SambaDc::User& user, const std::string& attr,
                     std::vector<std::string> expected, std::vector<std::string> desired) {
    v1::Job job;
    job.set_job_id("it-job");
    job.set_source_anchor(user.object_guid);
    v1::AttributeChange* c = job.add_changes();
    c->set_attribute(attr);
    for (const auto& v : expected) c->add_expected(v);
    for (const auto& v : desired) c->add_desired(v);
    return job;
  }

  static SambaDc* dc_;
  static std::vector<SambaDc::User>* users_;
};

SambaDc* LdapDirectoryIt::dc_ = nullptr;
std::vector<SambaDc::User>* LdapDirectoryIt::users_ = nullptr;

TEST_F(LdapDirectoryIt, ConnectsOverLdapsWithCaVerification) {
  auto dir = ConnectOrDie();
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(dir->BaseDn(), dc_->base_dn());
  EXPECT_EQ(dir->CurrentDc(), dc_->url());
}

TEST_F(LdapDirectoryIt, StartTlsOnPlainUrl) {
  LdapOptions o = Options();
  o.urls = {"ldap://127.0.0.1"};
  o.start_tls = true;
  auto dir = LdapDirectory::Connect(o);
  ASSERT_OK(dir);
  EXPECT_EQ((*dir)->BaseDn(), dc_->base_dn());
}

TEST_F(LdapDirectoryIt, RefusesACertificateFromAnotherCa) {
  LdapOptions o = Options();
  o.ca_file = SambaDc::Options::FromEnv().cert_dir + "/rogue-ca.pem";
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr(dc_->url()), HasSubstr("certificate"))));
}

TEST_F(LdapDirectoryIt, RefusesPlainLdapWithoutTheInsecureFlag) {
  LdapOptions o = Options();
  o.urls = {"ldap://127.0.0.1"};
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("refusing plain LDAP")));
}

TEST_F(LdapDirectoryIt, WrongPasswordIsUnauthenticated) {
  LdapOptions o = Options();
  o.password = "wrong-password";
  EXPECT_THAT(LdapDirectory::Connect(o),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("invalidCredentials"), ::testing::Not(HasSubstr("wrong-password")))));
}

TEST_F(LdapDirectoryIt, MatchesByObjectGuidAndReturnsItRaw) {
  auto dir = ConnectOrDie();
  const SambaDc::User& user = (*users_)[0];
  auto hits = dir->Search(dir->BaseDn(),
                          "(objectGUID=" + EscapeLdapFilterBytes(user.object_guid) + ")",
                          {"objectGUID", "mail"}, 2);
  ASSERT_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_TRUE(absl::EqualsIgnoreCase((*hits)[0].dn, user.dn));
  EXPECT_THAT((*hits)[0].attributes["objectguid"], ElementsAre(user.object_guid));

  JobApplier applier(dir.get(), {});
  v1::ReadTarget target;
  target.set_source_anchor(user.object_guid);
  v1::ObservedObject seen = applier.Read(target);
  EXPECT_EQ(seen.failure(), v1::OUTCOME_UNSPECIFIED) << seen.diagnostic();
  EXPECT_THAT(seen.attributes().attributes().at("mail").values(),
              ElementsAre("it0001@corp.example.test"));
  EXPECT_GT(seen.usn_changed(), 0);
  EXPECT_FALSE(seen.when_changed().empty());
}

TEST_F(LdapDirectoryIt, CompareAndSwapIsApplied) {
  auto dir = ConnectOrDie();
  const SambaDc::User& user = (*users_)[1];
  JobApplier applier(dir.get(), {{}, {"OU=Mailboxes," + dc_->base_dn()}});
  v1::Job job = Job(user, "proxyAddresses", {"SMTP:it0002@corp.example.test"},
                    {"SMTP:it0002@corp.example.test", "smtp:alias-gen2@corp.example.test"});
  v1::JobResult r = applier.Apply(job);
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dc(), dc_->url());
  EXPECT_THAT(ReadAttr(user.dn, "proxyAddresses"),
              ::testing::UnorderedElementsAre("SMTP:it0002@corp.example.test",
                                              "smtp:alias-gen2@corp.example.test"));
  v1::JobResult again = applier.Apply(job);
  EXPECT_EQ(again.outcome(), v1::ALREADY_IN_STATE) << again.diagnostic();

  v1::JobResult ext = applier.Apply(Job(user, "extensionAttribute1", {}, {"gen-1"}));
  EXPECT_EQ(ext.outcome(), v1::APPLIED) << ext.diagnostic();
  EXPECT_THAT(ReadAttr(user.dn, "extensionAttribute1"), ElementsAre("gen-1"));
}

TEST_F(LdapDirectoryIt, StaleExpectedIsAConflictAndWritesNothing) {
  auto dir = ConnectOrDie();
  const SambaDc::User& user = (*users_)[2];
  ASSERT_OK(dc_->Modify(user.dn, {{"extensionAttribute2", {"onprem"}}}));
  const int writes_before = SuccessfulModifies(user.dn);

  // The raw compare-and-swap: delete a stale value, add the new one.
  auto result = dir->Modify(user.dn, {{ModOp::kDelete, "extensionAttribute2", {"gen-0"}},
                                      {ModOp::kAdd, "extensionAttribute2", {"gen-1"}}});
  ASSERT_OK(result);
  EXPECT_EQ(ClassifyLdapCode(result->code), LdapErrorClass::kConflict) << result->code;

  // Through the applier, with the dual writer racing between read and write.
  RacingDirectory racing(dir.get(), [&] {
    ASSERT_OK(dc_->Modify(user.dn, {{"extensionAttribute2", {"onprem-2"}}}));
  });
  JobApplier applier(&racing, {});
  v1::JobResult r = applier.Apply(Job(user, "extensionAttribute2", {"onprem"}, {"gen-1"}));
  EXPECT_EQ(r.outcome(), v1::CONFLICT) << r.diagnostic();
  EXPECT_EQ(r.ldap_code(), 16);
  EXPECT_THAT(r.found().attributes().at("extensionAttribute2").values(), ElementsAre("onprem-2"));
  EXPECT_THAT(ReadAttr(user.dn, "extensionAttribute2"), ElementsAre("onprem-2"));
  // Only the racing writer's modify succeeded.
  EXPECT_EQ(SuccessfulModifies(user.dn), writes_before + 1);
}

TEST_F(LdapDirectoryIt, CloseThenTheNextOperationReconnects) {
  auto dir = ConnectOrDie();
  const SambaDc::User& user = (*users_)[3];
  dir->Close();
  dir->Close();  // idempotent
  JobApplier applier(dir.get(), {});
  v1::JobResult r = applier.Apply(Job(user, "extensionAttribute3", {}, {"after-close"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(ReadAttr(user.dn, "extensionAttribute3"), ElementsAre("after-close"));
}

TEST_F(LdapDirectoryIt, CloseFromAnotherThreadCutsAnOperationInProgress) {
  auto dir = ConnectOrDie();
  ASSERT_NE(dir, nullptr);
  int pid = 0;
  std::ifstream(dc_->dir() + "/samba.pid") >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(-pid, SIGSTOP), 0);  // the DC hangs: the search waits
  absl::StatusOr<std::vector<DirectoryEntry>> result;
  std::thread op([&] { result = dir->Search(dir->BaseDn(), "(cn=it0001)", {"cn"}, 1); });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time closed_at = absl::Now();
  dir->Close();  // fencing: the lease was lost
  op.join();
  const absl::Duration waited = absl::Now() - closed_at;
  kill(-pid, SIGCONT);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(waited, absl::Seconds(5));  // hang guard: not the 10 s timeout
  auto after = dir->Search(dir->BaseDn(), "(cn=it0001)", {"cn"}, 1);
  ASSERT_OK(after);
  EXPECT_EQ(after->size(), 1u);
}

TEST_F(LdapDirectoryIt, FailsOverToTheSecondUrl) {
  LdapOptions o = Options();
  o.urls = {"ldaps://127.0.0.2", dc_->url()};
  auto dir = LdapDirectory::Connect(o);
  ASSERT_OK(dir);
  EXPECT_EQ((*dir)->CurrentDc(), dc_->url());
  JobApplier applier(dir->get(), {});
  v1::JobResult r = applier.Apply(Job((*users_)[4], "extensionAttribute4", {}, {"failover"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_EQ(r.dc(), dc_->url());
}

TEST_F(LdapDirectoryIt, ReconnectsAfterTheDcRestarts) {
  auto dir = ConnectOrDie();
  const SambaDc::User& user = (*users_)[5];
  ASSERT_OK(dc_->Stop());
  auto down = dir->Search(dir->BaseDn(), "(objectClass=user)", {"cn"}, 1);
  EXPECT_THAT(down, StatusIs(absl::StatusCode::kUnavailable));
  JobApplier applier(dir.get(), {});
  v1::JobResult failed = applier.Apply(Job(user, "extensionAttribute5", {}, {"x"}));
  EXPECT_EQ(failed.outcome(), v1::FAILED_RETRYABLE) << failed.diagnostic();
  ASSERT_OK(dc_->Restart());
  v1::JobResult r = applier.Apply(Job(user, "extensionAttribute5", {}, {"x"}));
  EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  EXPECT_THAT(ReadAttr(user.dn, "extensionAttribute5"), ElementsAre("x"));
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

// The pipelined path against the real DC: many modifies in flight on one
// connection, every one verified by an independent read.
TEST(LdapPipelineIt, PipelinedModifiesAllLandAndCloseFailsOutstandingOnes) {
  auto dc = SambaDc::Start(SambaDc::Options::FromEnv());
  ASSERT_OK(dc);
  auto users = (*dc)->AddUsers(60, "pipe");
  ASSERT_OK(users);
  auto dir = LdapDirectory::Connect(testing::AdminLdapOptions(**dc));
  ASSERT_OK(dir);
  JobApplier applier(dir->get(), {{}, {"OU=Mailboxes," + (*dc)->base_dn()}});
  PipelinedApplier pipeline(dir->get(), &applier, {.window = 16, .match_batch = 20});
  std::vector<v1::Job> jobs;
  for (size_t i = 0; i < users->size(); ++i) {
    v1::Job job;
    job.set_job_id(absl::StrCat("j", i));
    job.set_source_anchor((*users)[i].object_guid);
    auto* change = job.add_changes();
    change->set_attribute("extensionAttribute4");
    change->add_desired(absl::StrCat("pipelined-", i));
    jobs.push_back(job);
  }
  std::vector<v1::JobResult> results = ApplyAll(pipeline, jobs);
  ASSERT_EQ(results.size(), users->size());
  for (const auto& r : results) EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
  for (size_t i = 0; i < users->size(); ++i) {
    auto attrs = (*dc)->Read((*users)[i].dn, {"extensionAttribute4"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute4"], ElementsAre(absl::StrCat("pipelined-", i)));
  }

  // Fencing: modifies outstanding when the connection is closed complete
  // with an error, never with a success that was not observed.
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_OK((*dir)->StartModify((*users)[i].dn,
                                  {{ModOp::kReplace, "extensionAttribute5", {"x"}}}));
  }
  (*dir)->Close();
  size_t failed = 0, total = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((*dir)->OutstandingModifies() > 0 && absl::Now() < deadline) {
    for (const auto& c : (*dir)->PollModifies(absl::Milliseconds(100))) {
      ++total;
      failed += !c.result.ok();
    }
  }
  EXPECT_EQ(total, 10u);
  EXPECT_EQ((*dir)->OutstandingModifies(), 0u);
  (void)failed;  // some may have been answered before the close; none is lost
}

}  // namespace
}  // namespace writeback::agent

namespace writeback::agent {
namespace {

// The multi-domain path on the real DC: Samba's Global Catalog port (3269)
// finds the objects, the domain DC (636) reads and writes them.
TEST(ForestIt, MatchesThroughTheGlobalCatalogAndWritesOnTheDomainDc) {
  auto dc = SambaDc::Start(SambaDc::Options::FromEnv());
  ASSERT_OK(dc);
  auto users = (*dc)->AddUsers(20, "gc");
  ASSERT_OK(users);
  const LdapOptions options = testing::AdminLdapOptions(**dc);
  LdapOptions gc_options = options;
  gc_options.urls = {"ldaps://127.0.0.1:3269"};
  auto gc = LdapDirectory::Connect(gc_options);
  ASSERT_OK(gc);
  LdapOptions domain_options = options;
  domain_options.urls = {(*dc)->url()};
  domain_options.base_dn = (*dc)->base_dn();
  auto domain = LdapDirectory::Connect(domain_options);
  ASSERT_OK(domain);
  ForestDirectory forest(gc->get(), (*dc)->base_dn(), {{(*dc)->base_dn(), domain->get()}});
  JobApplier applier(&forest, {{}, {"OU=Mailboxes," + (*dc)->base_dn()}});
  PipelinedApplier pipeline(&forest, &applier, {.window = 8, .match_batch = 8});
  std::vector<v1::Job> jobs;
  for (size_t i = 0; i < users->size(); ++i) {
    v1::Job job;
    job.set_job_id(absl::StrCat("g", i));
    job.set_source_anchor((*users)[i].object_guid);
    auto* change = job.add_changes();
    change->set_attribute("extensionAttribute6");
    change->add_desired(absl::StrCat("via-gc-", i));
    jobs.push_back(job);
  }
  for (const auto& r : ApplyAll(pipeline, jobs)) {
    EXPECT_EQ(r.outcome(), v1::APPLIED) << r.diagnostic();
    EXPECT_EQ(r.dc(), (*dc)->url()) << "written on the domain DC, not the GC";
  }
  for (size_t i = 0; i < users->size(); ++i) {
    auto attrs = (*dc)->Read((*users)[i].dn, {"extensionAttribute6"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute6"], ElementsAre(absl::StrCat("via-gc-", i)));
  }
  // A second job of the same change is already in state: the domain DC's
  // fresh copy is what the applier compares with.
  v1::JobResult again = applier.Apply(jobs[0]);
  EXPECT_EQ(again.outcome(), v1::ALREADY_IN_STATE) << again.diagnostic();
}

}  // namespace
}  // namespace writeback::agent
