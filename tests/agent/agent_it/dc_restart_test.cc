// Issue 3, acceptance 1: stopping the DC in the middle of a batch gives
// retryable failures; after the DC is back, resending the failed jobs (as the
// controller does) ends with every object holding its desired values, each
// written by exactly one committed write, nothing lost.
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/base/status_macros.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;

constexpr int kUsers = 200;

std::string Desired(int i) { return absl::StrCat("gen-1-", i); }

// The ATTID the DC uses for a schema attribute in replication metadata: its
// msDS-IntId (attributes added by a schema extension have one).
absl::StatusOr<uint32_t> AttributeId(const SambaDc& dc, const std::string& schema_cn) {
  std::string dn = absl::StrCat("CN=", schema_cn, ",CN=Schema,CN=Configuration,", dc.base_dn());
  WB_ASSIGN_OR_RETURN(auto attrs, dc.Read(dn, {"msDS-IntId"}));
  int32_t id = 0;
  if (attrs["msDS-IntId"].size() != 1 || !absl::SimpleAtoi(attrs["msDS-IntId"][0], &id)) {
    return absl::NotFoundError("no msDS-IntId on " + dn);
  }
  return static_cast<uint32_t>(id);
}

// The version of attribute `attid` in `dn`'s replPropertyMetaData: how many
// committed originating writes the attribute has seen (0: never written).
// Layout (MS-DRSR REPLPROPERTYMETADATA blob, little-endian): version 1,
// reserved, count, reserved, then `count` entries of 48 bytes starting with
// attid (4) and version (4).
absl::StatusOr<uint32_t> AttributeVersion(const SambaDc& dc, const std::string& dn,
                                          uint32_t attid) {
  WB_ASSIGN_OR_RETURN(auto attrs, dc.Read(dn, {"replPropertyMetaData"}));
  if (attrs["replPropertyMetaData"].size() != 1) {
    return absl::NotFoundError("no replPropertyMetaData on " + dn);
  }
  const std::string& blob = attrs["replPropertyMetaData"][0];
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int b = 3; b >= 0; --b) v = (v << 8) | static_cast<uint8_t>(blob[at + b]);
    return v;
  };
  if (blob.size() < 16 || u32(0) != 1) return absl::DataLossError("bad metadata of " + dn);
  uint32_t count = u32(8);
  if (blob.size() < 16 + size_t{count} * 48) return absl::DataLossError("short metadata of " + dn);
  for (uint32_t i = 0; i < count; ++i) {
    if (u32(16 + i * 48) == attid) return u32(16 + i * 48 + 4);
  }
  return 0u;
}

TEST(AgentDcRestartTest, DcStoppedMidBatchGivesRetryableFailuresThenNothingIsLost) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  AgentItEnv::AgentOptions options;
  options.max_in_flight = 2 * kUsers;
  options.ldap_timeout_ms = 2000;
  ASSERT_OK(env.StartAgent(options));
  auto users = env.dc().AddUsers(kUsers, "restart");
  ASSERT_OK(users);
  auto mark = env.AuditMark();
  ASSERT_OK(mark);

  std::map<std::string, int> index_of_job;  // job id -> user index
  std::vector<v1::Job> jobs;
  auto job_for = [&](int i, int attempt) {
    std::string id = absl::StrCat("restart-", i, "-attempt-", attempt);
    index_of_job[id] = i;
    return CasJob(id, (*users)[i], {{"extensionAttribute8", {}, {Desired(i)}}});
  };
  for (int i = 0; i < kUsers; ++i) jobs.push_back(job_for(i, 1));
  ASSERT_OK(env.controller().SendJobs(jobs));

  // Stop the DC as soon as the first writes are acknowledged.
  auto first = env.controller().WaitForResults(1, absl::Seconds(60));
  ASSERT_OK(first) << env.AgentLog();
  ASSERT_OK(env.dc().Stop());
  auto rest = env.controller().WaitForResults(kUsers - 1, absl::Seconds(120));
  ASSERT_OK(rest) << env.AgentLog();
  rest->insert(rest->begin(), first->begin(), first->end());

  std::set<int> pending;
  std::map<v1::Outcome, int> first_round;
  for (const v1::JobResult& r : *rest) {
    first_round[r.outcome()]++;
    if (r.outcome() == v1::FAILED_RETRYABLE) {
      pending.insert(index_of_job.at(r.job_id()));
    } else {
      EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString();
    }
  }
  EXPECT_GT(first_round[v1::APPLIED], 0);
  EXPECT_GT(first_round[v1::FAILED_RETRYABLE], 0) << "the DC was stopped mid-batch";
  for (const auto& [outcome, n] : first_round) {
    std::cout << "first round: " << v1::Outcome_Name(outcome) << " x" << n << std::endl;
  }

  ASSERT_OK(env.dc().Restart());
  // Redeliver what failed until nothing does (hang guard: rounds and time).
  absl::Time deadline = absl::Now() + absl::Seconds(90);
  for (int attempt = 2; !pending.empty(); ++attempt) {
    ASSERT_LT(absl::Now(), deadline) << pending.size() << " jobs still failing\n" << env.AgentLog();
    std::vector<v1::Job> retry;
    for (int i : pending) retry.push_back(job_for(i, attempt));
    auto results = env.Run(retry);
    ASSERT_OK(results) << env.AgentLog();
    for (const auto& [id, r] : *results) {
      int i = index_of_job.at(id);
      if (r.outcome() == v1::APPLIED || r.outcome() == v1::ALREADY_IN_STATE) {
        pending.erase(i);
      } else {
        ASSERT_EQ(r.outcome(), v1::FAILED_RETRYABLE) << r.ShortDebugString();
      }
    }
    if (!pending.empty()) absl::SleepFor(absl::Milliseconds(500));
  }

  // The oracle. The LDAP read: every object holds its value. The DC's
  // replication metadata: the attribute was written by exactly one committed
  // originating write (version 1). The audit log: every object has a
  // successful modify touching only that attribute. (The audit log alone
  // cannot count committed writes: Samba logs a modify as "Success" before
  // its transaction commits, and a modify caught by the stop is logged but
  // rolled back; the agent then rightly writes it again.)
  auto attid = AttributeId(env.dc(), "ms-Exch-Extension-Attribute-8");
  ASSERT_OK(attid);
  for (int i = 0; i < kUsers; ++i) {
    const SambaDc::User& u = (*users)[i];
    auto attrs = env.dc().Read(u.dn, {"extensionAttribute8"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute8"], ElementsAre(Desired(i))) << u.dn;
    auto version = AttributeVersion(env.dc(), u.dn, *attid);
    ASSERT_OK(version);
    EXPECT_EQ(*version, 1u) << "extensionAttribute8 of " << u.dn << " written more than once";
  }
  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  std::map<std::string, int> successful;
  for (size_t e = *mark; e < events->size(); ++e) {
    const auto& ev = (*events)[e];
    if (ev.performed_as_system || ev.operation != "Modify" || ev.status_code != 0) continue;
    successful[absl::AsciiStrToLower(ev.dn)]++;
    EXPECT_EQ(ev.attributes.size(), 1u) << ev.dn;
    EXPECT_NE(ev.Find("extensionAttribute8"), nullptr) << ev.dn;
  }
  int rolled_back = 0;
  for (const SambaDc::User& u : *users) {
    int n = successful[absl::AsciiStrToLower(u.dn)];
    EXPECT_GE(n, 1) << u.dn;
    rolled_back += n - 1;
  }
  // Only a modify in flight when the DC stopped can have been rolled back.
  EXPECT_LE(rolled_back, options.max_in_flight);
  std::cout << "modifies logged but rolled back by the stop: " << rolled_back << std::endl;
}

}  // namespace
}  // namespace writeback::testing
