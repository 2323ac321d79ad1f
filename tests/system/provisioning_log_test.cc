// Issue 5, the provisioning log end to end: a real DC, two agents and about
// twenty mailboxes, some changed twice and one whose object was deleted in
// AD. Every filter of the Admin API and of `writebackctl log` must return
// exactly the records of the full log it selects, and `writebackctl log
// export` must hold every record of the run once, oldest first, as JSON lines.
#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using v1::ListProvisioningLogRequest;
using v1::ProvisioningRecord;

constexpr int kMailboxes = 20;
constexpr int kChangedTwice = 8;  // mailboxes 0..7 get a second change
constexpr int kDeleted = 19;      // its object is deleted in AD before its second change
constexpr int kRemoved = 18;      // leaves writeback at the end

std::vector<int64_t> Ids(const std::vector<ProvisioningRecord>& records) {
  std::vector<int64_t> ids;
  for (const auto& r : records) ids.push_back(r.id());
  return ids;
}

std::vector<int64_t> Select(const std::vector<ProvisioningRecord>& all,
                            const std::function<bool(const ProvisioningRecord&)>& keep) {
  std::vector<int64_t> ids;
  for (const auto& r : all) {
    if (keep(r)) ids.push_back(r.id());
  }
  return ids;
}

// Parses JSON lines (lines not starting with '{' are writebackctl's stderr).
std::vector<ProvisioningRecord> ParseJsonLines(const std::string& text, int* bad_lines) {
  std::vector<ProvisioningRecord> records;
  *bad_lines = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.empty() || line[0] != '{') continue;
    ProvisioningRecord r;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &r).ok()) {
      ++*bad_lines;
      continue;
    }
    records.push_back(std::move(r));
  }
  return records;
}

std::string Rfc3339(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

class ProvisioningLogTest : public ::testing::Test {
 protected:
  // `writebackctl log --json FLAGS` as records, oldest first.
  std::vector<int64_t> CtlLog(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"log", "--json", "--limit=100000"};
    args.insert(args.end(), flags.begin(), flags.end());
    CtlResult r = env_.Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    int bad = 0;
    std::vector<ProvisioningRecord> records = ParseJsonLines(r.output, &bad);
    EXPECT_EQ(bad, 0) << r.output;
    std::vector<int64_t> ids = Ids(records);
    std::reverse(ids.begin(), ids.end());  // the API answers newest first
    return ids;
  }

  // The Admin API with `filter`, oldest first.
  std::vector<int64_t> ApiLog(const ListProvisioningLogRequest& filter) {
    auto records = env_.Admin().ProvisioningLog(filter);
    EXPECT_OK(records);
    return records.ok() ? Ids(*records) : std::vector<int64_t>{};
  }

  WritebackEnv env_;
};

TEST_F(ProvisioningLogTest, EveryFilterAndTheExportHoldExactlyTheRecordsOfTheRun) {
  // Retention is configurable; a week keeps everything of this run.
  env_.set_controller_config(
      "provisioning_log_retention_days: 7\naudit_log_retention_days: 90\n");
  ASSERT_OK(env_.StartDc());
  auto users = env_.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  ASSERT_OK(env_.StartController());
  ASSERT_OK(env_.StartAgent(1));
  ASSERT_OK(env_.StartAgent(2));
  auto ids = env_.AddMailboxes(*users);
  ASSERT_OK(ids);
  AdminClient& admin = env_.Admin();
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 2, absl::Minutes(1)));

  for (const std::string& id : *ids) {
    ASSERT_OK(admin.UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "first")}));
  }
  ASSERT_OK(admin.WaitAllInSync(absl::Minutes(3))) << env_.LogsForFailure();

  absl::SleepFor(absl::Milliseconds(20));
  const int64_t second_round_ms = absl::ToUnixMillis(absl::Now());
  absl::SleepFor(absl::Milliseconds(20));
  for (int i = 0; i < kChangedTwice; ++i) {
    ASSERT_OK(admin.UpdateMailbox((*ids)[i], {AdminClient::Set("extensionAttribute1", "second")}));
  }
  ASSERT_OK(env_.dc().Delete((*users)[kDeleted].dn));
  ASSERT_OK(admin.UpdateMailbox((*ids)[kDeleted],
                                {AdminClient::Set("extensionAttribute1", "second")}));
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=120"};
  wait.insert(wait.end(), ids->begin(), ids->begin() + kChangedTwice);
  CtlResult waited = env_.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env_.LogsForFailure();
  CtlResult deleted = env_.Ctl({"mailbox", "wait", (*ids)[kDeleted], "--timeout_s=120"});
  ASSERT_THAT(deleted.output, HasSubstr("OBJECT_DELETED")) << env_.LogsForFailure();
  ASSERT_EQ(env_.Ctl({"mailbox", "remove", (*ids)[kRemoved]}).exit_code, 0);
  const int64_t end_ms = absl::ToUnixMillis(absl::Now()) + 1;

  // The full log: one record per attempt.
  auto all = admin.ProvisioningLog();
  ASSERT_OK(all);
  const std::vector<int64_t> all_ids = Ids(*all);
  ASSERT_EQ(std::set<int64_t>(all_ids.begin(), all_ids.end()).size(), all_ids.size());
  int jobs_applied = 0;
  std::set<std::string> kinds, agents;
  std::set<v1::Outcome> outcomes;
  for (const auto& r : *all) {
    kinds.insert(r.kind());
    outcomes.insert(r.outcome());
    if (!r.agent_id().empty()) agents.insert(r.agent_id());
    jobs_applied += r.kind() == "job" && r.outcome() == v1::APPLIED;
  }
  // Every mailbox was applied once, the first eight twice.
  EXPECT_GE(jobs_applied, kMailboxes - 1 + kChangedTwice);
  EXPECT_TRUE(kinds.count("job") && kinds.count("read") && kinds.count("removed"))
      << "kinds seen: " << kinds.size();
  EXPECT_EQ(agents.size(), 2u) << "both agents should have taken work";
  EXPECT_GE(outcomes.size(), 2u);
  // The deleted object's second attempt failed, and the log says so.
  std::vector<int64_t> deleted_failures = Select(*all, [&](const ProvisioningRecord& r) {
    return r.mailbox_id() == (*ids)[kDeleted] && r.time_ms() >= second_round_ms &&
           r.outcome() != v1::APPLIED && r.outcome() != v1::OUTCOME_UNSPECIFIED;
  });
  EXPECT_THAT(deleted_failures, Not(IsEmpty()));

  // Each filter, through the API and through writebackctl.
  auto check = [&](const std::string& what, const ListProvisioningLogRequest& filter,
                   const std::vector<std::string>& flags,
                   const std::function<bool(const ProvisioningRecord&)>& keep) {
    std::vector<int64_t> expected = Select(*all, keep);
    EXPECT_THAT(expected, Not(IsEmpty())) << what << " selects nothing: a weak check";
    EXPECT_THAT(ApiLog(filter), ElementsAreArray(expected)) << what << " (Admin API)";
    EXPECT_THAT(CtlLog(flags), ElementsAreArray(expected)) << what << " (writebackctl)";
  };
  for (int i : {0, kChangedTwice, kDeleted, kRemoved}) {
    const std::string id = (*ids)[i];
    ListProvisioningLogRequest f;
    f.set_mailbox_id(id);
    check("mailbox " + id, f, {"--mailbox=" + id},
          [&](const ProvisioningRecord& r) { return r.mailbox_id() == id; });
  }
  {
    ListProvisioningLogRequest f;
    f.set_forest(WritebackEnv::kForest);
    check("forest", f, {absl::StrCat("--forest=", WritebackEnv::kForest)},
          [&](const ProvisioningRecord& r) { return r.forest() == WritebackEnv::kForest; });
    EXPECT_EQ(Select(*all, [](const ProvisioningRecord& r) {
                return r.forest() == WritebackEnv::kForest;
              }).size(),
              all->size());
    f.set_forest("other.example.test");
    EXPECT_THAT(ApiLog(f), IsEmpty());
  }
  for (const std::string& agent : agents) {
    ListProvisioningLogRequest f;
    f.set_agent_id(agent);
    check("agent " + agent, f, {"--agent=" + agent},
          [&](const ProvisioningRecord& r) { return r.agent_id() == agent; });
  }
  for (v1::Outcome outcome : outcomes) {
    if (outcome == v1::OUTCOME_UNSPECIFIED) continue;  // the API's "any"
    ListProvisioningLogRequest f;
    f.set_outcome(outcome);
    check("outcome " + v1::Outcome_Name(outcome), f, {"--outcome=" + v1::Outcome_Name(outcome)},
          [&](const ProvisioningRecord& r) { return r.outcome() == outcome; });
  }
  for (const std::string& kind : kinds) {
    ListProvisioningLogRequest f;
    f.set_kind(kind);
    check("kind " + kind, f, {"--kind=" + kind},
          [&](const ProvisioningRecord& r) { return r.kind() == kind; });
  }
  {
    ListProvisioningLogRequest f;
    f.set_since_ms(second_round_ms);
    f.set_until_ms(end_ms);
    auto in_range = [&](const ProvisioningRecord& r) {
      return r.time_ms() >= second_round_ms && r.time_ms() < end_ms;
    };
    check("time range (RFC 3339)", f,
          {"--since=" + Rfc3339(second_round_ms), "--until=" + Rfc3339(end_ms)}, in_range);
    check("time range (Unix ms)", f,
          {absl::StrCat("--since=", second_round_ms), absl::StrCat("--until=", end_ms)}, in_range);
    f.set_until_ms(second_round_ms);
    f.clear_since_ms();
    check("before the second round", f, {absl::StrCat("--until=", second_round_ms)},
          [&](const ProvisioningRecord& r) { return r.time_ms() < second_round_ms; });
  }
  {
    ListProvisioningLogRequest f;
    f.set_mailbox_id((*ids)[0]);
    f.set_kind("job");
    f.set_outcome(v1::APPLIED);
    check("mailbox + kind + outcome", f,
          {"--mailbox=" + (*ids)[0], "--kind=job", "--outcome=applied"},
          [&](const ProvisioningRecord& r) {
            return r.mailbox_id() == (*ids)[0] && r.kind() == "job" &&
                   r.outcome() == v1::APPLIED;
          });
  }

  // A bad value is a usage error naming the flag.
  CtlResult bad = env_.Ctl({"log", "--since=yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--since"));
  bad = env_.Ctl({"log", "--outcome=WORKED"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--outcome"));

  // The export: every record of the run once, oldest first, one JSON line each.
  const std::string file = env_.work_dir() + "/export.jsonl";
  CtlResult exported = env_.Ctl({"log", "export", "--output=" + file});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr(absl::StrCat("exported ", all->size(), " ")));
  std::ifstream in(file);
  std::string line;
  std::vector<int64_t> lines_ids;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ProvisioningRecord r;
    auto parsed = google::protobuf::util::JsonStringToMessage(line, &r);
    ASSERT_TRUE(parsed.ok()) << "line " << lines << ": " << parsed.ToString() << "\n" << line;
    // Proto field names (time_ms, not timeMs); every record has a time.
    EXPECT_THAT(line, HasSubstr("\"time_ms\"")) << "proto field names";
    lines_ids.push_back(r.id());
  }
  // Oldest first means in the order written (by id): a record's time_ms is
  // stamped before its transaction, so two answers committed a millisecond
  // apart can carry times in the other order.
  std::vector<int64_t> written = all_ids;
  std::sort(written.begin(), written.end());
  EXPECT_THAT(lines_ids, ElementsAreArray(written));
  // A filtered export with a limit: the oldest matching records.
  CtlResult some = env_.Ctl({"log", "export", "--kind=job", "--limit=5"});
  ASSERT_EQ(some.exit_code, 0) << some.output;
  int bad_lines = 0;
  std::vector<int64_t> jobs =
      Select(*all, [](const ProvisioningRecord& r) { return r.kind() == "job"; });
  std::sort(jobs.begin(), jobs.end());
  jobs.resize(5);
  EXPECT_THAT(Ids(ParseJsonLines(some.output, &bad_lines)), ElementsAreArray(jobs));
  EXPECT_EQ(bad_lines, 0);
}

}  // namespace
}  // namespace writeback::testing
