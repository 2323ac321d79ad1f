// The pipelined apply layer over the in-memory directory: same decisions as
// JobApplier, many modifies in flight, batched matching, per-object order.
#include "agent/apply/pipelined_applier.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/apply/fake_directory.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using writeback::agent::testing::FakeDirectory;

const std::string kScope = "OU=Mailboxes,DC=corp,DC=example,DC=test";

std::string Dn(int i) { return absl::StrCat("CN=u", i, ",", kScope); }
std::string Anchor(int i) {
  std::string a(16, '\0');
  a[0] = static_cast<char>(i & 0xff);
  a[1] = static_cast<char>((i >> 8) & 0xff);
  a[15] = '\x42';
  return a;
}

v1::Job SetExtension(int i, const std::string& job_id, std::vector<std::string> expected,
                     const std::string& desired) {
  v1::Job job;
  job.set_job_id(job_id);
  job.set_source_anchor(Anchor(i));
  auto* c = job.add_changes();
  c->set_attribute("extensionAttribute1");
  for (auto& e : expected) c->add_expected(e);
  c->add_desired(desired);
  return job;
}

class PipelinedApplierTest : public ::testing::Test {
 protected:
  PipelinedApplierTest() : applier_(&dir_, LocalPolicy{{}, {kScope}}) {
    for (int i = 0; i < 100; ++i) dir_.AddObject(Dn(i), {{"objectGUID", {Anchor(i)}}});
  }
  std::map<std::string, v1::JobResult> ByJob(const std::vector<v1::JobResult>& results) {
    std::map<std::string, v1::JobResult> out;
    for (const auto& r : results) out[r.job_id()] = r;
    return out;
  }

  FakeDirectory dir_;
  JobApplier applier_;
};

TEST_F(PipelinedApplierTest, AppliesEveryJobWithManyModifiesInFlight) {
  PipelinedApplier pipeline(&dir_, &applier_, {.window = 16, .match_batch = 32});
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 100; ++i) jobs.push_back(SetExtension(i, absl::StrCat("j", i), {}, "v"));
  auto results = ByJob(ApplyAll(pipeline, jobs));
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(results[absl::StrCat("j", i)].outcome(), v1::APPLIED);
    EXPECT_EQ(results[absl::StrCat("j", i)].dn(), Dn(i));
    EXPECT_THAT(dir_.Get(Dn(i), "extensionAttribute1"), ElementsAre("v"));
  }
  EXPECT_GT(dir_.max_outstanding(), 1u) << "modifies were not pipelined";
  EXPECT_LE(dir_.max_outstanding(), 16u) << "the window was exceeded";
  EXPECT_LE(dir_.search_calls(), 4) << "anchors were not matched in batches";
}

TEST_F(PipelinedApplierTest, JobsOfOneObjectKeepTheirOrder) {
  PipelinedApplier pipeline(&dir_, &applier_, {.window = 8, .match_batch = 8});
  // The second job expects what the first writes: it only succeeds if it is
  // matched again after the first write landed.
  auto results = ByJob(ApplyAll(pipeline, {SetExtension(1, "first", {}, "A"),
                                           SetExtension(1, "second", {"A"}, "B")}));
  EXPECT_EQ(results["first"].outcome(), v1::APPLIED);
  EXPECT_EQ(results["second"].outcome(), v1::APPLIED) << results["second"].diagnostic();
  EXPECT_THAT(dir_.Get(Dn(1), "extensionAttribute1"), ElementsAre("B"));
}

TEST_F(PipelinedApplierTest, MakesTheSameDecisionsAsTheSingleJobPath) {
  dir_.Set(Dn(2), "extensionAttribute1", {"on-prem"});
  dir_.Set(Dn(3), "extensionAttribute1", {"done"});
  PipelinedApplier pipeline(&dir_, &applier_, {});
  v1::Job refused = SetExtension(4, "refused", {}, "x");
  refused.mutable_changes(0)->set_attribute("userAccountControl");
  v1::Job missing = SetExtension(4, "missing", {}, "x");
  missing.set_source_anchor(std::string(16, '\x7f'));
  auto results = ByJob(ApplyAll(pipeline, {SetExtension(2, "conflict", {}, "cloud"),
                                           SetExtension(3, "already", {"old"}, "done"),
                                           refused, missing}));
  EXPECT_EQ(results["conflict"].outcome(), v1::CONFLICT);
  EXPECT_EQ(results["already"].outcome(), v1::ALREADY_IN_STATE);
  EXPECT_EQ(results["refused"].outcome(), v1::REJECTED_BY_POLICY);
  EXPECT_EQ(results["missing"].outcome(), v1::FAILED_PERMANENT);
  EXPECT_EQ(dir_.modify_calls(), 0);
  EXPECT_THAT(dir_.Get(Dn(2), "extensionAttribute1"), ElementsAre("on-prem"));
}

TEST_F(PipelinedApplierTest, ClosedWriteGateSendsNothing) {
  applier_.set_write_gate([] { return false; });
  PipelinedApplier pipeline(&dir_, &applier_, {});
  auto results = ApplyAll(pipeline, {SetExtension(5, "j", {}, "v")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome(), v1::FAILED_RETRYABLE);
  EXPECT_EQ(dir_.modify_calls(), 0);
}

TEST_F(PipelinedApplierTest, UnsentModifyFailureIsRetryable) {
  dir_.next_start_error = absl::UnavailableError("DC gone");
  PipelinedApplier pipeline(&dir_, &applier_, {});
  auto results = ApplyAll(pipeline, {SetExtension(6, "j", {}, "v")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome(), v1::FAILED_RETRYABLE);
  EXPECT_TRUE(dir_.Get(Dn(6), "extensionAttribute1").empty());
}

TEST_F(PipelinedApplierTest, DropUnsentForgetsQueuedJobs) {
  PipelinedApplier pipeline(&dir_, &applier_, {});
  pipeline.Submit({SetExtension(7, "a", {}, "v"), SetExtension(8, "b", {}, "v")});
  EXPECT_EQ(pipeline.pending(), 2u);
  pipeline.DropUnsent();
  EXPECT_EQ(pipeline.pending(), 0u);
  EXPECT_TRUE(pipeline.Pump(absl::ZeroDuration()).empty());
  EXPECT_EQ(dir_.modify_calls(), 0);
}

}  // namespace
}  // namespace writeback::agent
