// Fuzz target: job planning (controller/planner/job_planner.h), mailbox
// state -> read, job or nothing.
//
// Input: a mailbox built by FuzzedDataProvider: desired and last_known maps
// over catalog attributes (canonical names, as the Admin API stores them)
// and a few unknown names, values drawn from a small pool of case and
// number variants so that equal-but-different spellings meet, verify_read,
// the generation and ids. Checks, beyond "no crash" under ASan and UBSan:
// - never read (no last_known) -> a read and no job;
// - a job carries the mailbox's ids and desired_gen and the given job id;
//   one change per attribute at most, sorted by name; every change names a
//   catalog attribute of the desired map; its desired values are the desired
//   state's and its expected values last_known's, exactly and in order; and
//   the two differ as the directory compares (not SetsEqual);
// - every catalog attribute of the desired map without a change is equal to
//   last_known (SetsEqual); no job -> a read exactly when verify_read;
// - planning is deterministic (twice -> the same decision);
// - convergence: with the job applied (last_known := desired for its
//   changes) the next plan has nothing to write.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "controller/planner/job_planner.h"
#include "google/protobuf/util/message_differencer.h"

namespace writeback::controller {
namespace {

using google::protobuf::util::MessageDifferencer;

void Fail(const char* what, const std::string& detail = "") {
  std::cerr << "property violated: " << what << "\n  " << detail << "\n";
  std::abort();
}

// Spellings that the directory's comparison may or may not call equal.
constexpr const char* kPool[] = {
    "SMTP:ann@contoso.com",
    "smtp:ann@contoso.com",
    "SMTP:Ann@Contoso.com",
    "smtp:bob@contoso.com",
    "X500:/o=corp/cn=ann",
    "x500:/o=corp/cn=ann",
    "ann@contoso.com",
    "Ann@Contoso.COM",
    "7",
    "+007",
    "-0",
    "0",
    "TRUE",
    "true",
    "FALSE",
    "Ünïcode",
    "üNÏCODE",
    "",
    "value",
    "VALUE",
};

std::string Value(FuzzedDataProvider* input) {
  if (input->ConsumeBool())
    return kPool[input->ConsumeIntegralInRange<size_t>(0, std::size(kPool) - 1)];
  return input->ConsumeRandomLengthString(40);
}

std::string Name(FuzzedDataProvider* input) {
  const std::vector<AttributeSpec>& all = AttributeCatalog::Default().all();
  const size_t i = input->ConsumeIntegralInRange<size_t>(0, all.size() + 1);
  if (i < all.size()) return std::string(all[i].name);
  return i == all.size() ? "notAnAttribute" : input->ConsumeRandomLengthString(20);
}

void FillMap(FuzzedDataProvider* input, v1::AttributeMap* map) {
  const size_t attributes = input->ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < attributes; ++i) {
    v1::AttributeValues& values = (*map->mutable_attributes())[Name(input)];
    const size_t count = input->ConsumeIntegralInRange<size_t>(0, 4);
    for (size_t k = 0; k < count; ++k) values.add_values(Value(input));
  }
}

std::string Describe(const MailboxRecord& m) {
  return "desired {" + m.desired.ShortDebugString() + "} last_known {" +
         (m.last_known ? m.last_known->ShortDebugString() : "none") + "}";
}

void CheckPlan(const MailboxRecord& m, const PlanDecision& d) {
  if (!m.last_known.has_value()) {
    if (d.kind != PlanDecision::kRead || d.job.changes_size() > 0) Fail("no read", Describe(m));
    return;
  }
  if (d.kind != PlanDecision::kJob) {
    if (d.job.changes_size() > 0) Fail("changes without a job", Describe(m));
    if ((d.kind == PlanDecision::kRead) != m.verify_read) Fail("verify_read", Describe(m));
  } else {
    if (d.job.changes().empty()) Fail("a job without changes", Describe(m));
    if (d.job.job_id() != "job-1" || d.job.mailbox_id() != m.cloud_id ||
        d.job.source_anchor() != m.source_anchor || d.job.generation() != m.desired_gen) {
      Fail("job identity", d.job.ShortDebugString());
    }
  }
  std::set<std::string> changed;
  std::string previous;
  for (const v1::AttributeChange& change : d.job.changes()) {
    const std::string& name = change.attribute();
    if (!changed.insert(name).second) Fail("attribute twice", name);
    if (!previous.empty() && name <= previous) Fail("changes not sorted", name);
    previous = name;
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr) Fail("attribute outside the catalog", name);
    if (m.desired.attributes().count(name) == 0) Fail("attribute not desired", name);
    const std::vector<std::string> want = ValuesOf(m.desired, name);
    const std::vector<std::string> have = ValuesOf(*m.last_known, name);
    if (std::vector<std::string>(change.desired().begin(), change.desired().end()) != want) {
      Fail("desired values are not the desired state's", name);
    }
    if (std::vector<std::string>(change.expected().begin(), change.expected().end()) != have) {
      Fail("expected values are not last_known's", name);
    }
    if (SetsEqual(*spec, have, want)) Fail("a change of equal sets", name);
  }
  for (const auto& [name, values] : m.desired.attributes()) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr || changed.count(name) > 0) continue;
    if (!SetsEqual(*spec, ValuesOf(*m.last_known, name), ValuesOf(m.desired, name))) {
      Fail("a differing attribute without a change", name);
    }
  }
}

}  // namespace
}  // namespace writeback::controller

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writeback::controller;
  FuzzedDataProvider input(data, size);
  MailboxRecord m;
  m.cloud_id = input.ConsumeRandomLengthString(40);
  m.source_anchor = input.ConsumeBytesAsString(16);
  m.desired_gen = input.ConsumeIntegral<uint64_t>();
  m.verify_read = input.ConsumeBool();
  FillMap(&input, &m.desired);
  if (input.ConsumeBool()) {
    m.last_known.emplace();
    // Often start from the desired state, so that small differences are tried.
    if (input.ConsumeBool()) *m.last_known = m.desired;
    FillMap(&input, &*m.last_known);
  }

  const PlanDecision d = PlanMailbox(m, "job-1");
  CheckPlan(m, d);
  const PlanDecision again = PlanMailbox(m, "job-1");
  if (again.kind != d.kind || !MessageDifferencer::Equals(again.job, d.job)) {
    Fail("planning twice differs", Describe(m));
  }
  if (d.kind == PlanDecision::kJob) {
    MailboxRecord applied = m;
    for (const writeback::v1::AttributeChange& change : d.job.changes()) {
      writeback::v1::AttributeValues& values =
          (*applied.last_known->mutable_attributes())[change.attribute()];
      values.clear_values();
      for (const std::string& v : change.desired()) values.add_values(v);
    }
    const PlanDecision next = PlanMailbox(applied, "job-2");
    if (next.kind == PlanDecision::kJob) Fail("an applied job plans again", Describe(applied));
  }
  return 0;
}
