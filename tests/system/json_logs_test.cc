// Structured logs end to end: the controller and two agents run with
// log_format "json"; the test causes errors an operator must act on (a job
// refused for a value outside the agent's accepted domains, a job for an
// object moved out of scope, a revoked agent that connects again) and checks
// that every line both binaries wrote to stderr is one JSON object with
// time, level, component and msg, and that the error events carry the
// mailbox, attribute, agent and hint fields with the right values.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kJson[] = "log_format: \"json\"\n";

// One log event: its members as strings.
using Event = std::map<std::string, std::string>;

// Every line of `path` as an event; a line that is not exactly one JSON
// object with the four fixed members fails the test.
std::vector<Event> ReadEvents(const std::string& path) {
  std::vector<Event> events;
  absl::StatusOr<std::string> text = ReadFileToString(path);
  EXPECT_OK(text.status());
  if (!text.ok()) return events;
  EXPECT_TRUE(text->empty() || text->back() == '\n') << path << " ends mid-line";
  int n = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    ++n;
    google::protobuf::Struct object;
    auto parsed = google::protobuf::util::JsonStringToMessage(std::string(line), &object);
    EXPECT_TRUE(parsed.ok()) << path << " line " << n << " is not JSON (" << parsed.ToString()
                             << "): " << line;
    if (!parsed.ok()) continue;
    Event event;
    for (const auto& [key, value] : object.fields()) {
      EXPECT_EQ(value.kind_case(), google::protobuf::Value::kStringValue)
          << path << " line " << n << " member " << key << ": " << line;
      event[key] = value.string_value();
    }
    EXPECT_THAT(event["time"],
                MatchesRegex("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                             "\\.[0-9]{3}Z"))
        << line;
    EXPECT_THAT(event["level"], AnyOf("debug", "info", "warning", "error")) << line;
    EXPECT_THAT(event["component"], AnyOf("controller", "agent")) << line;
    EXPECT_FALSE(event["msg"].empty()) << line;
    events.push_back(std::move(event));
  }
  return events;
}

// The first event of `path` with `msg` whose members include `match`;
// polls until `guard` runs out. nullopt then.
std::optional<Event> WaitForEvent(const std::string& path, const std::string& msg,
                                  const Event& match, absl::Duration guard = absl::Seconds(90)) {
  for (absl::Time end = absl::Now() + guard; absl::Now() < end;
       absl::SleepFor(absl::Milliseconds(250))) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      google::protobuf::Struct object;
      if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok()) continue;
      Event event;
      for (const auto& [key, value] : object.fields()) event[key] = value.string_value();
      if (event["msg"] != msg) continue;
      bool all = true;
      for (const auto& [key, value] : match) all = all && event[key] == value;
      if (all) return event;
    }
  }
  return std::nullopt;
}

TEST(JsonLogsTest, EveryLineIsJsonAndErrorsNameObjectAttributeAndHint) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(std::vector<SambaDc::User> users, env.dc().AddUsers(2));
  env.set_controller_config(kJson);
  ASSERT_OK(env.StartController());
  WritebackEnv::AgentOptions one;
  one.extra_config = absl::StrCat(kJson, "accepted_domains: \"corp.example.test\"\n");
  ASSERT_OK(env.StartAgent(1, one));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(users));
  for (const std::string& id : ids) {
    ASSERT_OK(
        env.Admin().UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "first")}).status());
  }
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Seconds(120))) << env.LogsForFailure();
  const std::string controller_log = env.work_dir() + "/controller.log";
  const std::string agent_log = env.agent(1).log_file();

  // 1. A value the agent's local policy refuses: mail outside its domains.
  ASSERT_OK(env.Admin()
                .UpdateMailbox(ids[0], {AdminClient::Set("mail", "ann@elsewhere.example")})
                .status());
  std::optional<Event> refused =
      WaitForEvent(agent_log, "job refused by local policy", {{"mailbox", ids[0]}});
  ASSERT_TRUE(refused.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*refused)["level"], "error");
  EXPECT_EQ((*refused)["component"], "agent");
  EXPECT_EQ((*refused)["attribute"], "mail");
  EXPECT_EQ((*refused)["outcome"], "REJECTED_BY_POLICY");
  EXPECT_EQ((*refused)["dn"], "");  // refused before the directory was asked
  EXPECT_THAT((*refused)["error"], HasSubstr("elsewhere.example"));
  EXPECT_THAT((*refused)["hint"], HasSubstr("writebackctl mailbox retry " + ids[0]));
  std::optional<Event> answered = WaitForEvent(
      controller_log, "agent refused a job by its local policy", {{"mailbox", ids[0]}});
  ASSERT_TRUE(answered.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*answered)["component"], "controller");
  EXPECT_EQ((*answered)["level"], "error");
  EXPECT_EQ((*answered)["attribute"], "mail");
  EXPECT_EQ((*answered)["agent"], "agent-1");
  EXPECT_EQ((*answered)["forest"], WritebackEnv::kForest);
  EXPECT_EQ((*answered)["job"], (*refused)["job"]);
  EXPECT_THAT((*answered)["hint"], HasSubstr("writebackctl mailbox retry " + ids[0]));

  // 2. An object moved out of the agent's scope after onboarding.
  ASSERT_OK_AND_ASSIGN(std::string moved,
                       env.dc().Move(users[1].dn, "OU=Outside," + env.dc().base_dn()));
  ASSERT_OK(env.Admin()
                .UpdateMailbox(ids[1], {AdminClient::Set("extensionAttribute1", "second")})
                .status());
  std::optional<Event> outside =
      WaitForEvent(agent_log, "job refused by local policy", {{"mailbox", ids[1]}});
  ASSERT_TRUE(outside.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*outside)["attribute"], "extensionAttribute1");
  EXPECT_EQ((*outside)["reason"], "REASON_OUT_OF_SCOPE");
  EXPECT_TRUE(absl::EqualsIgnoreCase((*outside)["dn"], moved)) << (*outside)["dn"];
  EXPECT_THAT((*outside)["hint"], HasSubstr("scope"));
  std::optional<Event> outside_answer =
      WaitForEvent(controller_log, "agent refused a job by its local policy",
                   {{"mailbox", ids[1]}, {"reason", "REASON_OUT_OF_SCOPE"}});
  ASSERT_TRUE(outside_answer.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*outside_answer)["attribute"], "extensionAttribute1");
  EXPECT_THAT((*outside_answer)["hint"], HasSubstr("writebackctl mailbox retry " + ids[1]));

  // 3. A revoked agent that connects again is refused, by name.
  WritebackEnv::AgentOptions two;
  two.extra_config = kJson;
  ASSERT_OK(env.StartAgent(2, two));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 2, absl::Seconds(60)));
  CtlResult revoke = env.Ctl({"agent", "revoke", "agent-2", "--reason=json logs test"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  std::optional<Event> revoked =
      WaitForEvent(controller_log, "agent revoked", {{"agent", "agent-2"}});
  ASSERT_TRUE(revoked.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*revoked)["reason"], "json logs test");
  EXPECT_EQ((*revoked)["by"], "token:local-operator (operator)");
  std::optional<Event> stream_refused =
      WaitForEvent(controller_log, "refused agent stream", {{"agent", "agent-2"}});
  ASSERT_TRUE(stream_refused.has_value()) << env.LogsForFailure();
  EXPECT_EQ((*stream_refused)["level"], "warning");
  EXPECT_EQ((*stream_refused)["forest"], WritebackEnv::kForest);
  EXPECT_THAT((*stream_refused)["error"], HasSubstr("revoked"));
  EXPECT_THAT((*stream_refused)["hint"], HasSubstr("enroll"));
  std::optional<Event> agent_side =
      WaitForEvent(env.agent(2).log_file(), "stream to controller ended", {});
  ASSERT_TRUE(agent_side.has_value()) << env.LogsForFailure();
  EXPECT_THAT((*agent_side)["error"], HasSubstr("revoked"));

  // Every line of every log is one JSON event; none is a token.
  const std::string token(
      absl::StripAsciiWhitespace(ReadFileToString(env.admin_token_file()).value_or("<none>")));
  ASSERT_GE(token.size(), 43u);
  for (const std::string& path : {controller_log, agent_log, env.agent(2).log_file()}) {
    std::vector<Event> events = ReadEvents(path);
    EXPECT_GT(events.size(), 3u) << path;
    int errors = 0;
    for (const Event& e : events) {
      for (const auto& [key, value] : e) {
        EXPECT_THAT(value, ::testing::Not(HasSubstr(token))) << path << " " << key;
      }
      if (e.at("level") != "warning" && e.at("level") != "error") continue;
      if (absl::StartsWith(e.at("msg"), "grpc: ")) continue;  // gRPC's own (grpc_log.h)
      ++errors;
      EXPECT_TRUE(e.count("hint") == 1 && !e.at("hint").empty())
          << path << ": a " << e.at("level") << " event without a hint: " << e.at("msg");
    }
    EXPECT_GT(errors, 0) << path;
  }
}

}  // namespace
}  // namespace writeback::testing
