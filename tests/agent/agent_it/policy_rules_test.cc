// Issue 3, acceptance 2: the address and volume rules of the agent's local
// policy, against the real agent and DC. Every refused job answers
// REJECTED_BY_POLICY with a diagnostic naming the rule, and the DC's audit
// log shows no modify of the object.
#include "absl/strings/ascii.h"
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
using v1::JobResult;

constexpr char kDomain[] = "@corp.example.test";

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

// Runs `job` alone and checks that it was refused and wrote nothing.
void ExpectRefused(AgentItEnv& env, const v1::Job& job, const SambaDc::User& user,
                   const std::string& diagnostic_part) {
  auto mark = env.AuditMark();
  ASSERT_OK(mark);
  auto results = env.Run({job});
  ASSERT_OK(results) << env.AgentLog();
  const JobResult& r = results->at(job.job_id());
  EXPECT_EQ(r.outcome(), v1::REJECTED_BY_POLICY) << r.ShortDebugString();
  EXPECT_THAT(Lower(r.diagnostic()), HasSubstr(Lower(diagnostic_part))) << r.ShortDebugString();
  auto modifies = env.ModifiesSince(*mark, user.dn);
  ASSERT_OK(modifies);
  EXPECT_THAT(*modifies, IsEmpty()) << "a refused job reached the directory: " << user.dn;
}

class AgentAddressRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new AgentItEnv();
    absl::Status s = env_->StartDc();
    if (s.ok()) s = env_->StartController({});
    AgentItEnv::AgentOptions options;
    options.extra_config =
        "accepted_domains: \"corp.example.test\"\nmax_values_per_attribute: 4\n";
    if (s.ok()) s = env_->StartAgent(options);
    if (!s.ok()) setup_error_ = new std::string(s.ToString());
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  std::vector<SambaDc::User> Users(int n, const std::string& prefix) {
    auto users = env_->dc().AddUsers(n, prefix);
    EXPECT_OK(users);
    return users.ok() ? *users : std::vector<SambaDc::User>{};
  }
  std::vector<std::string> DcValues(const std::string& dn, const std::string& attr) {
    auto attrs = env_->dc().Read(dn, {attr});
    EXPECT_OK(attrs);
    if (!attrs.ok()) return {"<read failed>"};
    return (*attrs)[attr];
  }

  static AgentItEnv* env_;
  static std::string* setup_error_;
};

AgentItEnv* AgentAddressRulesTest::env_ = nullptr;
std::string* AgentAddressRulesTest::setup_error_ = nullptr;

TEST_F(AgentAddressRulesTest, AddressInAForeignDomainIsRejected) {
  auto users = Users(1, "foreign");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  const std::string primary = "SMTP:" + u.sam + kDomain;
  ExpectRefused(*env_,
                CasJob("foreign-proxy", u,
                       {{"proxyAddresses", {primary}, {primary, "smtp:" + u.sam + "@evil.example"}}}),
                u, "accepted domains");
  ExpectRefused(*env_,
                CasJob("foreign-mail", u,
                       {{"proxyAddresses", {primary}, {"SMTP:" + u.sam + "@evil.example"}},
                        {"mail", {u.sam + kDomain}, {u.sam + "@evil.example"}}}),
                u, "accepted domains");
  EXPECT_THAT(DcValues(u.dn, "proxyAddresses"), ElementsAre(primary));
  EXPECT_THAT(DcValues(u.dn, "mail"), ElementsAre(u.sam + kDomain));
}

TEST_F(AgentAddressRulesTest, AddressHeldByAnotherObjectIsRejected) {
  auto users = Users(2, "holder");
  ASSERT_EQ(users.size(), 2u);
  const auto& owner = users[0];
  const auto& thief = users[1];
  const std::string owner_address = owner.sam + kDomain;
  const std::string primary = "SMTP:" + thief.sam + kDomain;
  // As a secondary address (any case: addresses compare ignoring case).
  ExpectRefused(*env_,
                CasJob("steal-secondary", thief,
                       {{"proxyAddresses", {primary},
                         {primary, "smtp:" + absl::AsciiStrToUpper(owner_address)}}}),
                thief, owner.dn);
  // As the primary address and mail together.
  ExpectRefused(*env_,
                CasJob("steal-primary", thief,
                       {{"proxyAddresses", {primary}, {"SMTP:" + owner_address}},
                        {"mail", {thief.sam + kDomain}, {owner_address}}}),
                thief, "already used by another object");
  EXPECT_THAT(DcValues(thief.dn, "proxyAddresses"), ElementsAre(primary));
  EXPECT_THAT(DcValues(owner.dn, "proxyAddresses"), ElementsAre("SMTP:" + owner_address));
}

TEST_F(AgentAddressRulesTest, OneNewAddressForTwoObjectsInOneBatchWritesAtMostOne) {
  auto users = Users(2, "race");
  ASSERT_EQ(users.size(), 2u);
  const std::string shared = "smtp:shared-race" + std::string(kDomain);
  std::vector<v1::Job> jobs;
  for (const auto& u : users) {
    const std::string primary = "SMTP:" + u.sam + kDomain;
    jobs.push_back(CasJob("race-" + u.sam, u, {{"proxyAddresses", {primary}, {primary, shared}}}));
  }
  auto mark = env_->AuditMark();
  ASSERT_OK(mark);
  auto results = env_->Run(jobs);
  ASSERT_OK(results) << env_->AgentLog();
  int applied = 0, refused = 0;
  for (const auto& [id, r] : *results) {
    applied += r.outcome() == v1::APPLIED;
    refused += r.outcome() == v1::REJECTED_BY_POLICY;
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(refused, 1);
  int holders = 0, writes = 0;
  for (const auto& u : users) {
    for (const auto& v : DcValues(u.dn, "proxyAddresses")) holders += Lower(v) == Lower(shared);
    auto modifies = env_->ModifiesSince(*mark, u.dn);
    ASSERT_OK(modifies);
    writes += static_cast<int>(modifies->size());
  }
  EXPECT_EQ(holders, 1) << "an address belongs to one object";
  EXPECT_EQ(writes, 1);
}

TEST_F(AgentAddressRulesTest, MailThatDoesNotMatchThePrimaryAddressIsRejected) {
  auto users = Users(1, "mismatch");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  ExpectRefused(*env_,
                CasJob("mismatch-1", u,
                       {{"mail", {u.sam + kDomain}, {u.sam + ".other" + kDomain}}}),
                u, "primary SMTP address");
  EXPECT_THAT(DcValues(u.dn, "mail"), ElementsAre(u.sam + kDomain));
}

TEST_F(AgentAddressRulesTest, MoreValuesThanTheLimitAreRejected) {
  auto users = Users(1, "many");
  ASSERT_EQ(users.size(), 1u);
  const auto& u = users[0];
  const std::string primary = "SMTP:" + u.sam + kDomain;
  std::vector<std::string> desired = {primary};
  for (int i = 1; i <= 4; ++i) desired.push_back(absl::StrCat("smtp:", u.sam, ".", i, kDomain));
  ExpectRefused(*env_, CasJob("many-1", u, {{"proxyAddresses", {primary}, desired}}), u,
                "max_values_per_attribute");
  EXPECT_THAT(DcValues(u.dn, "proxyAddresses"), ElementsAre(primary));
  // At the limit it is written.
  desired.pop_back();
  auto results = env_->Run({CasJob("many-2", u, {{"proxyAddresses", {primary}, desired}})});
  ASSERT_OK(results) << env_->AgentLog();
  EXPECT_EQ(results->at("many-2").outcome(), v1::APPLIED) << results->at("many-2").ShortDebugString();
  EXPECT_THAT(DcValues(u.dn, "proxyAddresses"), ::testing::UnorderedElementsAreArray(desired));
}

// Its own agent: the volume cap counts every write the agent makes.
TEST(AgentVolumeCapTest, WritesBeyondTheCapAreRejectedAndNotWritten) {
  constexpr int kCap = 3;
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  AgentItEnv::AgentOptions options;
  options.extra_config =
      absl::StrCat("max_writes_per_window: ", kCap, "\nwrite_window_s: 3600\n");
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(kCap + 2, "capped");
  ASSERT_OK(users);
  for (int i = 0; i < kCap + 2; ++i) {
    const SambaDc::User& u = (*users)[i];
    v1::Job job = CasJob(absl::StrCat("cap-", i), u, {{"extensionAttribute9", {}, {"gen-1"}}});
    if (i < kCap) {
      auto results = env.Run({job});
      ASSERT_OK(results) << env.AgentLog();
      EXPECT_EQ(results->at(job.job_id()).outcome(), v1::APPLIED)
          << results->at(job.job_id()).ShortDebugString();
    } else {
      ExpectRefused(env, job, u, "volume cap");
    }
    auto attrs = env.dc().Read(u.dn, {"extensionAttribute9"});
    ASSERT_OK(attrs);
    if (i < kCap) {
      EXPECT_THAT((*attrs)["extensionAttribute9"], ElementsAre("gen-1")) << u.dn;
    } else {
      EXPECT_THAT(*attrs, IsEmpty()) << u.dn;
    }
  }
  // A job with nothing to write is not a write: it still answers.
  auto again = env.Run({CasJob("cap-again", (*users)[0], {{"extensionAttribute9", {}, {"gen-1"}}})});
  ASSERT_OK(again);
  EXPECT_EQ(again->at("cap-again").outcome(), v1::ALREADY_IN_STATE)
      << again->at("cap-again").ShortDebugString();
}

}  // namespace
}  // namespace writeback::testing
