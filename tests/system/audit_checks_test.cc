// Unit tests of the audit-log questions (audit_checks.h), on made-up events.
#include "tests/system/audit_checks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kAttr[] = "extensionAttribute1";
constexpr char kAgent[] = "S-1-5-21-1-1105";
constexpr char kOnPrem[] = "S-1-5-21-1-1106";

AuditEvent Write(const std::string& sid, const std::string& value, int status = 0) {
  AuditEvent e;
  e.operation = "Modify";
  e.dn = "CN=u,OU=Mailboxes,DC=x";
  e.user_sid = sid;
  e.session_id = sid + "-session";
  e.status_code = status;
  e.attributes[kAttr] = {{"delete", {}}, {"add", {value}}};
  return e;
}

std::vector<const AuditEvent*> Pointers(const std::vector<AuditEvent>& events) {
  std::vector<const AuditEvent*> out;
  for (const auto& e : events) out.push_back(&e);
  return out;
}

const std::map<std::string, std::set<uint64_t>> kGenerations = {
    {"g1", {1}}, {"g2", {2}}, {"g3", {3}}};

TEST(WritesMoveForwardTest, NewerGenerationsPass) {
  std::vector<AuditEvent> events = {Write(kAgent, "g1"), Write(kAgent, "g3")};
  EXPECT_OK(WritesMoveForward(Pointers(events), kAttr, kGenerations));
}

TEST(WritesMoveForwardTest, AnOlderGenerationAfterANewerOneFails) {
  std::vector<AuditEvent> events = {Write(kAgent, "g2"), Write(kAgent, "g1")};
  EXPECT_THAT(WritesMoveForward(Pointers(events), kAttr, kGenerations),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("went back to \"g1\"")));
}

TEST(WritesMoveForwardTest, FailedWritesAreNotJudged) {
  std::vector<AuditEvent> events = {Write(kAgent, "g2"), Write(kAgent, "g1", 16)};
  EXPECT_OK(WritesMoveForward(Pointers(events), kAttr, kGenerations));
}

TEST(WritesMoveForwardTest, TheSameGenerationTwiceFailsWithoutADualWriter) {
  std::vector<AuditEvent> events = {Write(kAgent, "g2"), Write(kAgent, "g2")};
  EXPECT_THAT(WritesMoveForward(Pointers(events), kAttr, kGenerations),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(WritesMoveForwardTest, ACorrectionMayRewriteTheGenerationADualWriterDisplaced) {
  std::vector<AuditEvent> events = {Write(kAgent, "g2"), Write(kOnPrem, "onprem"),
                                    Write(kAgent, "g2"), Write(kAgent, "g3")};
  EXPECT_OK(WritesMoveForward(Pointers(events), kAttr, kGenerations, {kOnPrem}));
  // Without naming the dual writer, its value is one no generation carried.
  EXPECT_THAT(WritesMoveForward(Pointers(events), kAttr, kGenerations),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no generation")));
}

TEST(WritesMoveForwardTest, AStaleWriteAfterADualWriterStillFails) {
  std::vector<AuditEvent> events = {Write(kAgent, "g2"), Write(kOnPrem, "onprem"),
                                    Write(kAgent, "g1")};
  EXPECT_THAT(WritesMoveForward(Pointers(events), kAttr, kGenerations, {kOnPrem}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("went back to \"g1\"")));
}

TEST(NoWriteAfterLeaseTest, APreFreezeSessionWritingAfterTheLeaseFails) {
  const absl::Time frozen = absl::FromUnixSeconds(1000);
  std::vector<AuditEvent> events = {Write(kAgent, "g1"), Write(kAgent, "g2")};
  events[0].time = frozen - absl::Seconds(1);
  events[1].time = frozen + absl::Seconds(2);
  EXPECT_OK(NoWriteAfterLease(events, kAgent, frozen, absl::Seconds(3)));
  events[1].time = frozen + absl::Seconds(4);
  EXPECT_THAT(NoWriteAfterLease(events, kAgent, frozen, absl::Seconds(3)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("after the freeze")));
  // A session opened after the agent resumed may write.
  events[1].session_id = "new-session";
  EXPECT_OK(NoWriteAfterLease(events, kAgent, frozen, absl::Seconds(3)));
}

}  // namespace
}  // namespace writeback::testing
