// Issue 7 (metrics): both binaries serve GET /metrics in the Prometheus text
// format on loopback, and the series follow the run: K changes applied move
// the controller's APPLIED count, its change latency histogram and the
// agent's job and LDAP modify counts by K; the queue depth is K while the
// forest is paused and 0 after; a stream cut moves both reconnect counters
// by one; a write the DC refuses shows under its LDAP result code; commits
// are timed. Every scrape is parsed strictly.
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/http_get.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kChanges = 40;
const std::string kF = absl::StrCat("forest=\"", WritebackEnv::kForest, "\"");

// Series (name{labels} exactly as served) -> value.
using Scrape = std::map<std::string, double>;

// Parses the text format strictly: every line is "# HELP name text",
// "# TYPE name type" or "name[{label="value",...}] value".
absl::StatusOr<Scrape> Parse(const std::string& text) {
  static const std::regex kHelp(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  static const std::regex kType(
      R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})?) (\S+))");
  if (text.empty() || text.back() != '\n') return absl::DataLossError("no final newline");
  Scrape out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string l(line);
    if (l[0] == '#') {
      if (!std::regex_match(l, kHelp) && !std::regex_match(l, kType)) {
        return absl::DataLossError("bad comment line: " + l);
      }
      continue;
    }
    std::smatch m;
    if (!std::regex_match(l, m, kSample)) return absl::DataLossError("bad sample line: " + l);
    const std::string value = m[m.size() - 1];
    double v = 0;
    if (value == "+Inf") {
      v = std::numeric_limits<double>::infinity();
    } else if (value == "-Inf") {
      v = -std::numeric_limits<double>::infinity();
    } else if (value == "NaN") {
      v = std::numeric_limits<double>::quiet_NaN();
    } else if (!absl::SimpleAtod(value, &v)) {
      return absl::DataLossError("bad value: " + l);
    }
    if (!out.emplace(m[1], v).second) return absl::DataLossError("duplicate series: " + l);
  }
  return out;
}

absl::StatusOr<Scrape> ScrapePort(int port) {
  auto answer = HttpRequest(port, "GET", "/metrics");
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) return absl::InternalError(absl::StrCat("HTTP ", answer->status));
  if (answer->headers.find("text/plain; version=0.0.4") == std::string::npos) {
    return absl::InternalError("wrong content type: " + answer->headers);
  }
  return Parse(answer->body);
}

double Get(const Scrape& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? 0 : it->second;
}

// The histogram `name{labels}` has cumulative buckets ending in +Inf == count.
void ExpectCumulative(const Scrape& s, const std::string& name, const std::string& labels) {
  const std::string prefix = name + "_bucket{" + (labels.empty() ? "" : labels + ",") + "le=\"";
  std::vector<std::pair<double, double>> buckets;  // le, count
  for (const auto& [series, v] : s) {
    if (series.rfind(prefix, 0) != 0) continue;
    std::string le = series.substr(prefix.size(), series.size() - prefix.size() - 2);
    double bound = std::numeric_limits<double>::infinity();
    if (le != "+Inf") ASSERT_TRUE(absl::SimpleAtod(le, &bound)) << series;
    buckets.emplace_back(bound, v);
  }
  ASSERT_GT(buckets.size(), 2u) << prefix;
  std::sort(buckets.begin(), buckets.end());
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LE(buckets[i - 1].second, buckets[i].second) << prefix << " le=" << buckets[i].first;
  }
  EXPECT_TRUE(std::isinf(buckets.back().first));
  const std::string plain = labels.empty() ? "" : "{" + labels + "}";
  EXPECT_EQ(buckets.back().second, Get(s, name + "_count" + plain)) << prefix;
}

// True when a listening TCP socket on `port` is bound to 127.0.0.1 only.
bool ListensOnLoopbackOnly(int port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  bool found = false;
  char hex_port[8];
  snprintf(hex_port, sizeof(hex_port), "%04X", port);
  while (std::getline(tcp, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 4 || f[3] != "0A") continue;  // LISTEN
    if (!absl::EndsWith(f[1], std::string(":") + hex_port)) continue;
    if (f[1] != std::string("0100007F:") + hex_port) return false;
    found = true;
  }
  std::ifstream tcp6("/proc/net/tcp6");
  while (std::getline(tcp6, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 4 && f[3] == "0A" && absl::EndsWith(f[1], std::string(":") + hex_port)) {
      return false;
    }
  }
  return found;
}

// Polls `port` until `done(scrape)` (hang guard 60 s); the last scrape.
absl::StatusOr<Scrape> WaitFor(int port, const std::function<bool(const Scrape&)>& done) {
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::StatusOr<Scrape> s;
  while (absl::Now() < deadline) {
    s = ScrapePort(port);
    if (s.ok() && done(*s)) return s;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError("condition not reached; last scrape: " +
                                     std::string(s.ok() ? "ok" : s.status().message()));
}

TEST(MetricsTest, SeriesFollowTheRun) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kChanges, "mt");
  ASSERT_OK(users);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(*users));
  AdminClient& admin = env.Admin();
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Seconds(60)));
  ASSERT_OK(admin.WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();

  const int cport = env.controller_metrics_port();
  ASSERT_GT(cport, 0);
  ASSERT_OK_AND_ASSIGN(int aport, env.AgentMetricsPort(1));

  // The endpoints: loopback only, /metrics only, GET only.
  EXPECT_TRUE(ListensOnLoopbackOnly(cport));
  EXPECT_TRUE(ListensOnLoopbackOnly(aport));
  for (int port : {cport, aport}) {
    auto other = HttpRequest(port, "GET", "/other");
    ASSERT_OK(other.status());
    EXPECT_EQ(other->status, 404);
    auto post = HttpRequest(port, "POST", "/metrics");
    ASSERT_OK(post.status());
    EXPECT_EQ(post->status, 405);
  }

  ASSERT_OK_AND_ASSIGN(Scrape c0, ScrapePort(cport));
  ASSERT_OK_AND_ASSIGN(Scrape a0, ScrapePort(aport));
  EXPECT_EQ(Get(c0, "writeback_controller_agents_connected{" + kF + "}"), 1);
  EXPECT_EQ(Get(c0, "writeback_controller_queue_depth{" + kF + "}"), 0);
  EXPECT_EQ(Get(c0, "writeback_controller_mailboxes{" + kF + ",status=\"IN_SYNC\"}"), kChanges);
  EXPECT_EQ(Get(a0, "writeback_agent_stream_connected"), 1);

  // K changes while the forest is paused: all wait in the queue.
  CtlResult paused = env.Ctl({"forest", "pause", WritebackEnv::kForest, "--reason=metrics"});
  ASSERT_EQ(paused.exit_code, 0) << paused.output;
  for (const std::string& id : ids) {
    ASSERT_OK(admin.UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "mt-1")}));
  }
  ASSERT_OK_AND_ASSIGN(Scrape queued, ScrapePort(cport));
  EXPECT_EQ(Get(queued, "writeback_controller_queue_depth{" + kF + "}"), kChanges);
  EXPECT_EQ(Get(queued, "writeback_controller_changes_accepted_total") -
                Get(c0, "writeback_controller_changes_accepted_total"),
            kChanges);
  CtlResult resumed = env.Ctl({"forest", "resume", WritebackEnv::kForest});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  ASSERT_OK(admin.WaitAllInSync(absl::Minutes(3))) << env.LogsForFailure();

  ASSERT_OK_AND_ASSIGN(Scrape c1, ScrapePort(cport));
  ASSERT_OK_AND_ASSIGN(Scrape a1, ScrapePort(aport));
  const std::string applied =
      "writeback_controller_jobs_answered_total{" + kF + ",outcome=\"APPLIED\"}";
  EXPECT_EQ(Get(c1, applied) - Get(c0, applied), kChanges);
  const std::string latency = "writeback_controller_change_latency_seconds";
  EXPECT_EQ(Get(c1, latency + "_count{" + kF + "}") - Get(c0, latency + "_count{" + kF + "}"),
            kChanges);
  EXPECT_GT(Get(c1, latency + "_sum{" + kF + "}"), 0);
  ExpectCumulative(c1, latency, kF);
  EXPECT_EQ(Get(c1, "writeback_controller_queue_depth{" + kF + "}"), 0);
  EXPECT_EQ(Get(c1, "writeback_controller_agents_connected{" + kF + "}"), 1);
  const std::string commits = "writeback_controller_store_commit_seconds_count";
  EXPECT_GE(Get(c1, commits) - Get(c0, commits),
            kChanges);  // one per accepted change at least
  ExpectCumulative(c1, "writeback_controller_store_commit_seconds", "");

  const std::string agent_applied = "writeback_agent_jobs_total{outcome=\"APPLIED\"}";
  EXPECT_EQ(Get(a1, agent_applied) - Get(a0, agent_applied), kChanges);
  const std::string modifies = "writeback_agent_ldap_operation_seconds_count{operation=\"modify\"}";
  EXPECT_GE(Get(a1, modifies) - Get(a0, modifies), kChanges);
  ExpectCumulative(a1, "writeback_agent_ldap_operation_seconds", "operation=\"modify\"");
  EXPECT_GE(Get(a1, "writeback_agent_ldap_operation_seconds_count{operation=\"bind\"}"), 1);

  // A stream cut: SIGSTOP past the lease (the controller cuts the session),
  // then SIGCONT: the agent opens one new session.
  const std::string connects = "writeback_controller_agent_stream_connects_total{" + kF + "}";
  const std::string reconnects = "writeback_agent_stream_reconnects_total";
  ASSERT_OK(env.SuspendAgent(1));
  ASSERT_OK(WaitFor(cport,
                    [&](const Scrape& s) {
                      return Get(s, "writeback_controller_agents_connected{" + kF + "}") == 0;
                    })
                .status())
      << env.LogsForFailure();
  ASSERT_OK(env.ResumeAgent(1));
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(Scrape a2, WaitFor(aport, [&](const Scrape& s) {
                         return Get(s, "writeback_agent_stream_connected") == 1;
                       }));
  absl::SleepFor(absl::Seconds(2));  // a second reconnect would show by now
  ASSERT_OK_AND_ASSIGN(Scrape c2, ScrapePort(cport));
  ASSERT_OK_AND_ASSIGN(a2, ScrapePort(aport));
  EXPECT_EQ(Get(c2, connects) - Get(c1, connects), 1);
  EXPECT_EQ(Get(a2, reconnects) - Get(a1, reconnects), 1);
  EXPECT_EQ(Get(a2, "writeback_agent_stream_connected"), 1);
  EXPECT_EQ(Get(c2, "writeback_controller_agents_connected{" + kF + "}"), 1);

  // A write the DC refuses: agent-2 binds as an account without the
  // delegation (least_privilege_test), so the modify ends in
  // insufficientAccessRights (50).
  ASSERT_OK(env.StopAgent(1));
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 0, absl::Seconds(60)));
  auto account = env.dc().AddAccount("svc-metrics", /*domain_admin=*/false);
  ASSERT_OK(account);
  WritebackEnv::AgentOptions unprivileged;
  unprivileged.bind_dn = account->dn;
  unprivileged.password_file = account->password_file;
  ASSERT_OK(env.StartAgent(2, unprivileged));
  ASSERT_OK_AND_ASSIGN(int aport2, env.AgentMetricsPort(2));
  ASSERT_OK(admin.WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(Scrape c3, ScrapePort(cport));
  ASSERT_OK(admin.UpdateMailbox(ids[0], {AdminClient::Set("extensionAttribute1", "mt-2")}));
  const std::string refused =
      "writeback_agent_ldap_errors_total{operation=\"modify\",code=\"50\",name="
      "\"insufficientAccessRights\"}";
  absl::StatusOr<Scrape> a3 =
      WaitFor(aport2, [&](const Scrape& s) { return Get(s, refused) >= 1; });
  ASSERT_OK(a3.status()) << env.LogsForFailure();
  EXPECT_EQ(Get(*a3, agent_applied), 0);
  ASSERT_OK_AND_ASSIGN(Scrape c4, WaitFor(cport, [&](const Scrape& s) {
                         double failed = 0;
                         for (const char* o : {"FAILED_PERMANENT", "FAILED_RETRYABLE"}) {
                           const std::string k =
                               absl::StrCat("writeback_controller_jobs_answered_total{", kF,
                                            ",outcome=\"", o, "\"}");
                           failed += Get(s, k) - Get(c3, k);
                         }
                         return failed >= 1;
                       }));
  EXPECT_EQ(Get(c4, applied), Get(c3, applied));
  EXPECT_EQ(Get(c4, connects) - Get(c1, connects), 2);  // the cut and agent-2
}

}  // namespace
}  // namespace writeback::testing
