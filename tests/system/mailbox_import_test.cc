// Issue 7: `writebackctl mailbox import` of 10,000 mailboxes from JSON lines
// with seven bad lines of different kinds. Without --continue-on-error nothing
// is stored (Admin API count) and nothing reaches AD (LDAP search); with it
// every good line is stored with its values and the bad ones are not; the
// mailboxes whose anchors are real AD users reach AD.
//
// Noise: 20 lines name real users of the DC in the agent's forest; the other
// 9,980 have made-up anchors and go to a second forest that is paused and has
// no agent, so no job is planned for them (no 9,980 failing reads).
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/identity/anchor.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/system/ctl_test_util.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kLines = 10000;
constexpr int kRealUsers = 20;
constexpr char kBulk[] = "bulk.example.test";

std::string CloudIdOf(int line) { return absl::StrFormat("%08x-0000-4000-8000-%012x", line, line); }
std::string BulkAnchor(int line) {
  return absl::StrFormat("%08x-1111-2222-3333-%012x", line, line);
}
constexpr char kTakenAnchor[] = "deadbeef-1111-2222-3333-000000000000";
constexpr char kHolder[] = "eeeeeeee-0000-4000-8000-000000000000";

// The bad lines and the field each must be reported with.
const std::vector<std::pair<int, std::string>>& BadLines() {
  static const auto* bad = new std::vector<std::pair<int, std::string>>{
      {100, "json"},                         // malformed JSON
      {2000, "attributes.favouriteColour"},  // unknown attribute
      {4000, "attributes.proxyAddresses"},   // invalid value
      {6000, "forest"},                      // forest not registered (the controller's check)
      {8000, "anchor"},                      // malformed anchor
      {9000, "anchor"},                      // anchor of line 50 again
      {9500, "anchor"},                      // anchor held by a registered mailbox (controller)
  };
  return *bad;
}

std::string LineText(int line, const std::vector<SambaDc::User>& users) {
  const std::string id = CloudIdOf(line);
  auto json = [&](const std::string& forest, const std::string& anchor, const std::string& attrs) {
    return absl::StrCat("{\"cloud_id\":\"", id, "\",\"forest\":\"", forest, "\",\"anchor\":\"",
                        anchor, "\",\"attributes\":{", attrs, "}}");
  };
  const std::string good_attrs = absl::StrFormat(
      "\"mail\":\"u%d@contoso.com\",\"proxyAddresses\":[\"SMTP:u%d@contoso."
      "com\","
      "\"smtp:alias%d@contoso.com\"],\"extensionAttribute1\":\"bulk-%d\"",
      line, line, line, line);
  switch (line) {
    case 100:
      return absl::StrCat("{\"cloud_id\":\"", id, "\",\"forest\":");
    case 2000:
      return json(kBulk, BulkAnchor(line), "\"favouriteColour\":\"blue\"");
    case 4000:
      return json(kBulk, BulkAnchor(line), "\"proxyAddresses\":[\"nocolon\"]");
    case 6000:
      return json("nowhere.example.test", BulkAnchor(line), good_attrs);
    case 8000:
      return json(kBulk, "not-an-anchor", good_attrs);
    case 9000:
      return json(kBulk, BulkAnchor(50), good_attrs);
    case 9500:
      return json(kBulk, kTakenAnchor, good_attrs);
    default:
      break;
  }
  if (line <= kRealUsers) {
    return json(WritebackEnv::kForest, AnchorToGuidString(users[line - 1].object_guid),
                absl::StrFormat("\"extensionAttribute1\":\"imported-%d\"", line));
  }
  return json(kBulk, BulkAnchor(line), good_attrs);
}

int64_t TotalMailboxes(WritebackEnv& env) {
  v1::GetStatusResponse status;
  grpc::ClientContext context;
  EXPECT_TRUE(env.Admin().stub().GetStatus(&context, {}, &status).ok());
  return status.total_mailboxes();
}

// extensionAttribute1 of every user under the scope OU that has one.
std::map<std::string, std::string> AdValues(WritebackEnv& env) {
  auto found = env.dc().Search(env.ScopeOu(), "(extensionAttribute1=*)", {"extensionAttribute1"});
  EXPECT_OK(found);
  std::map<std::string, std::string> out;
  if (!found.ok()) return out;
  for (const auto& [dn, attrs] : *found) {
    auto it = attrs.find("extensionAttribute1");
    if (it != attrs.end() && !it->second.empty()) out[dn] = it->second[0];
  }
  return out;
}

TEST(MailboxImportTest, BadLinesStoreNothingUnlessContinueOnErrorThenTheGoodOnesReachAd) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(auto users, env.dc().AddUsers(kRealUsers));
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  AdminClient& admin = env.Admin();
  ASSERT_OK(admin.AddForest(WritebackEnv::kForest, env.ScopeOu()));
  ASSERT_OK(admin.AddForest(kBulk, "OU=Mailboxes,DC=bulk,DC=example,DC=test"));
  ASSERT_EQ(env.Ctl({"forest", "pause", kBulk, "--reason=bulk import test"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(std::string taken, ParseAnchor(kTakenAnchor));
  ASSERT_OK(admin.AddMailbox(kHolder, kBulk, taken).status());
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Minutes(1)));

  const std::string file = env.work_dir() + "/mailboxes.jsonl";
  {
    std::ofstream out(file);
    for (int line = 1; line <= kLines; ++line) out << LineText(line, users) << "\n";
  }

  // 1. Without --continue-on-error: every bad line named, nothing stored.
  absl::Time start = absl::Now();
  CtlResult refused = env.Ctl({"mailbox", "import", file});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  for (const auto& [line, field] : BadLines()) {
    EXPECT_THAT(refused.output, HasSubstr(absl::StrCat("line ", line, ": field ", field, ": ")))
        << refused.output;
  }
  EXPECT_THAT(refused.output, HasSubstr("0 stored (0 new, 0 updated), 7 refused"));
  EXPECT_THAT(refused.output, HasSubstr("nothing was stored"));
  EXPECT_EQ(TotalMailboxes(env), 1);  // the anchor's holder only
  // The same with --json: one object per error on stdout, then the summary.
  ShellResult json = CtlStdout(env, {"--json", "mailbox", "import", file});
  EXPECT_EQ(json.exit_code, 1);
  std::set<int> reported;
  int summaries = 0;
  for (absl::string_view l : absl::StrSplit(json.output, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct s;
    ASSERT_TRUE(ParseJson(std::string(l), &s)) << l;
    if (s.fields().count("line") != 0) {
      reported.insert(static_cast<int>(s.fields().at("line").number_value()));
    } else {
      ++summaries;
      EXPECT_EQ(s.fields().at("stored").number_value(), 0);
    }
  }
  EXPECT_EQ(reported.size(), BadLines().size());
  EXPECT_EQ(summaries, 1);
  EXPECT_EQ(TotalMailboxes(env), 1);
  absl::SleepFor(absl::Seconds(2));  // time for any (wrong) job to reach AD
  EXPECT_TRUE(AdValues(env).empty()) << "something reached AD from a refused import";
  std::cout << "refused imports took " << absl::FormatDuration(absl::Now() - start) << std::endl;

  // 2. --continue-on-error: the good lines are stored, the bad ones are not.
  start = absl::Now();
  CtlResult stored = env.Ctl({"mailbox", "import", file, "--continue-on-error"});
  EXPECT_EQ(stored.exit_code, 1) << stored.output;  // lines were refused
  const int good = kLines - static_cast<int>(BadLines().size());
  EXPECT_THAT(stored.output,
              HasSubstr(absl::StrCat(good, " stored (", good, " new, 0 updated), 7 refused")));
  EXPECT_THAT(stored.output, HasSubstr("the good lines were stored"));
  std::cout << "import of " << kLines << " lines took " << absl::FormatDuration(absl::Now() - start)
            << std::endl;
  EXPECT_EQ(TotalMailboxes(env), good + 1);
  for (const auto& [line, field] : BadLines()) {
    EXPECT_FALSE(admin.GetMailbox(CloudIdOf(line)).ok()) << "line " << line << " was stored";
  }
  ASSERT_OK_AND_ASSIGN(v1::Mailbox sample, admin.GetMailbox(CloudIdOf(5000)));
  EXPECT_EQ(sample.forest(), kBulk);
  EXPECT_EQ(AnchorToGuidString(sample.source_anchor()), BulkAnchor(5000));
  EXPECT_EQ(sample.desired().attributes().at("mail").values(0), "u5000@contoso.com");
  EXPECT_THAT(
      sample.desired().attributes().at("proxyAddresses").values(),
      ::testing::UnorderedElementsAre("SMTP:u5000@contoso.com", "smtp:alias5000@contoso.com"));
  EXPECT_EQ(sample.desired().attributes().at("extensionAttribute1").values(0), "bulk-5000");
  EXPECT_EQ(sample.status(), v1::PENDING);  // its forest is paused

  // The real users' mailboxes reach AD.
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=60"};
  for (int line = 1; line <= kRealUsers; ++line) wait.push_back(CloudIdOf(line));
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  std::map<std::string, std::string> in_ad = AdValues(env);
  std::set<std::string> values, want;
  for (const auto& [dn, value] : in_ad) values.insert(value);
  for (int line = 1; line <= kRealUsers; ++line) want.insert(absl::StrCat("imported-", line));
  EXPECT_EQ(in_ad.size(), static_cast<size_t>(kRealUsers));
  EXPECT_EQ(values, want);
  ASSERT_OK_AND_ASSIGN(auto first, env.dc().Read(users[0].dn, {"extensionAttribute1"}));
  EXPECT_EQ(first["extensionAttribute1"], std::vector<std::string>{"imported-1"});

  // 3. Importing existing mailboxes again (CSV): named attributes change, a
  // new generation; attributes not named stay.
  const std::string csv = env.work_dir() + "/again.csv";
  std::ofstream(csv) << "cloud_id,forest,anchor,extensionAttribute2\n"
                     << CloudIdOf(1) << "," << WritebackEnv::kForest << ","
                     << AnchorToGuidString(users[0].object_guid) << ",\"second, quoted\"\n";
  CtlResult again = env.Ctl({"mailbox", "import", csv});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("1 stored (0 new, 1 updated), 0 refused"));
  ASSERT_EQ(env.Ctl({"mailbox", "wait", CloudIdOf(1)}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(auto read,
                       env.dc().Read(users[0].dn, {"extensionAttribute1", "extensionAttribute2"}));
  EXPECT_EQ(read["extensionAttribute1"], std::vector<std::string>{"imported-1"});
  EXPECT_EQ(read["extensionAttribute2"], std::vector<std::string>{"second, quoted"});
}

}  // namespace
}  // namespace writeback::testing
