// The log formats (log_format.h) and the logger (log.h): escaping, one line
// per event, levels, fields in text and JSON.
#include "common/base/log.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/base/log_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace writeback {
namespace {

using ::testing::HasSubstr;

const absl::Time kTime = absl::FromUnixMillis(1795464901123);  // 2026-11-23T20:15:01.123Z

LogEvent Event(std::string message, std::vector<std::pair<std::string, std::string>> fields = {}) {
  return LogEvent{kTime, LogLevel::kError, "agent", std::move(message), std::move(fields)};
}

// Parses one JSON line into a Struct; fails the test when it is not one.
google::protobuf::Struct ParseJson(const std::string& line) {
  google::protobuf::Struct object;
  auto status = google::protobuf::util::JsonStringToMessage(line, &object);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return object;
}

std::string Str(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "<missing>" : it->second.string_value();
}

int Newlines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(LogFormatTest, TextKeepsTheClassicLayoutAndAppendsFields) {
  EXPECT_EQ(FormatLogEvent(Event("job refused", {{"mailbox", "c10d-1"}, {"attribute", "mail"}}),
                           LogFormat::kText),
            "2026-11-23T20:15:01.123Z ERROR agent: job refused mailbox=c10d-1 "
            "attribute=mail\n");
}

TEST(LogFormatTest, TextQuotesValuesThatNeedIt) {
  EXPECT_EQ(TextValue("plain"), "plain");
  EXPECT_EQ(TextValue(""), "\"\"");
  EXPECT_EQ(TextValue("two words"), "\"two words\"");
  EXPECT_EQ(TextValue("a=b"), "\"a=b\"");
  EXPECT_EQ(TextValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(TextValue("C:\\dir"), "\"C:\\\\dir\"");
  EXPECT_EQ(TextValue("line1\nline2"), "\"line1\\nline2\"");
  EXPECT_EQ(TextValue("bell\x07"), "\"bell\\x07\"");
  EXPECT_EQ(TextValue("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 stays
  EXPECT_EQ(TextValue("bad\xff"), "\"bad\\xff\"");
}

TEST(LogFormatTest, TextEscapesNewlinesInTheMessage) {
  std::string line = FormatLogEvent(Event("first\nsecond\r\n\tthird"), LogFormat::kText);
  EXPECT_EQ(Newlines(line), 1);
  EXPECT_THAT(line, HasSubstr("agent: first\\nsecond\\r\\n\\tthird\n"));
}

TEST(LogFormatTest, JsonHasTheFixedMembersThenTheFields) {
  std::string line = FormatLogEvent(
      Event("job refused", {{"mailbox", "c10d-1"}, {"hint", "fix it: writebackctl mailbox retry"}}),
      LogFormat::kJson);
  EXPECT_EQ(line,
            "{\"time\":\"2026-11-23T20:15:01.123Z\",\"level\":\"error\","
            "\"component\":\"agent\","
            "\"msg\":\"job refused\",\"mailbox\":\"c10d-1\","
            "\"hint\":\"fix it: writebackctl mailbox retry\"}\n");
  google::protobuf::Struct object = ParseJson(line);
  EXPECT_EQ(Str(object, "level"), "error");
  EXPECT_EQ(Str(object, "hint"), "fix it: writebackctl mailbox retry");
}

TEST(LogFormatTest, JsonEscapesEverythingAndStaysOneLine) {
  const std::string nasty = std::string("q\"b\\s/n\nr\rt\tnul") + '\0' + "\x01\x1f\x7f" +
                            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  std::string line = FormatLogEvent(Event(nasty, {{"value", nasty}}), LogFormat::kJson);
  EXPECT_EQ(Newlines(line), 1);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_THAT(line, HasSubstr("q\\\"b\\\\s/n\\nr\\rt\\tnul\\u0000\\u0001\\u001f\\u007f"));
  google::protobuf::Struct object = ParseJson(line);
  EXPECT_EQ(Str(object, "msg"), nasty);
  EXPECT_EQ(Str(object, "value"), nasty);
}

TEST(LogFormatTest, JsonReplacesInvalidUtf8) {
  // A stray continuation byte, a truncated sequence, an overlong '/', a
  // surrogate, and a code point past U+10FFFF.
  const std::string bad =
      "a\x80"
      "b\xc3"
      "c\xc0\xaf"
      "d\xed\xa0\x80"
      "e\xf4\x90\x80\x80";
  std::string line = FormatLogEvent(Event(bad), LogFormat::kJson);
  google::protobuf::Struct object = ParseJson(line);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(Str(object, "msg"),
            "a" + r + "b" + r + "c" + r + r + "d" + r + r + r + "e" + r + r + r + r);
}

TEST(LogFormatTest, FieldKeysNeverRepeatOrShadowTheFixedMembers) {
  std::string line = FormatLogEvent(
      Event("m", {{"msg", "x"}, {"level", "y"}, {"dn", "1"}, {"dn", "2"}, {"bad key!", "z"}}),
      LogFormat::kJson);
  google::protobuf::Struct object = ParseJson(line);
  EXPECT_EQ(Str(object, "msg"), "m");
  EXPECT_EQ(Str(object, "level"), "error");
  EXPECT_EQ(Str(object, "msg_field"), "x");
  EXPECT_EQ(Str(object, "level_field"), "y");
  EXPECT_EQ(Str(object, "dn"), "1");
  EXPECT_EQ(Str(object, "dn_2"), "2");
  EXPECT_EQ(Str(object, "bad_key_"), "z");
}

TEST(LogFormatTest, ParsesFormats) {
  LogFormat f = LogFormat::kJson;
  ASSERT_TRUE(ParseLogFormat("", &f).ok());
  EXPECT_EQ(f, LogFormat::kText);
  ASSERT_TRUE(ParseLogFormat("JSON", &f).ok());
  EXPECT_EQ(f, LogFormat::kJson);
  ASSERT_TRUE(ParseLogFormat("text", &f).ok());
  EXPECT_EQ(f, LogFormat::kText);
  absl::Status bad = ParseLogFormat("yaml", &f);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("log_format"));
}

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogComponent("unit"); }
  void TearDown() override {
    SetLogLevel(LogLevel::kInfo);
    SetLogFormat(LogFormat::kText);
  }
  std::vector<std::string> Lines() {
    return absl::StrSplit(capture_.text(), '\n', absl::SkipEmpty());
  }
  ScopedLogCapture capture_;
};

TEST_F(LoggerTest, FieldsHintsAndErrorsInText) {
  WB_LOG(ERROR) << "job refused" << LogField("mailbox", std::string("c10d-1"))
                << LogField("attempts", 3) << LogError(absl::NotFoundError("no such DN"))
                << LogHint("fix the value in the cloud");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(" ERROR unit: job refused mailbox=c10d-1 attempts=3 "
                                  "error=\"NOT_FOUND: no such DN\" "
                                  "hint=\"fix the value in the cloud\""));
}

TEST_F(LoggerTest, FieldsInJsonAndMessageTextAroundThem) {
  SetLogFormat(LogFormat::kJson);
  WB_LOG(WARNING) << "stream ended" << LogField("agent", "agent-1") << " after " << 3 << "s";
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  google::protobuf::Struct object = ParseJson(lines[0]);
  EXPECT_EQ(Str(object, "msg"), "stream ended after 3s");
  EXPECT_EQ(Str(object, "level"), "warning");
  EXPECT_EQ(Str(object, "component"), "unit");
  EXPECT_EQ(Str(object, "agent"), "agent-1");
  EXPECT_THAT(Str(object, "time"), ::testing::MatchesRegex("20[0-9-]+T[0-9:]+\\.[0-9]{3}Z"));
}

TEST_F(LoggerTest, LevelsBelowTheMinimumAreDropped) {
  SetLogLevel(LogLevel::kWarning);
  WB_LOG(DEBUG) << "debug";
  WB_LOG(INFO) << "info";
  WB_LOG(WARNING) << "warning";
  WB_LOG(ERROR) << "error";
  LogLine(LogLevel::kInfo) << "a LogLine of its own, below the minimum";
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(" WARNING unit: warning"));
  EXPECT_THAT(lines[1], HasSubstr(" ERROR unit: error"));
  SetLogLevel(LogLevel::kDebug);
  WB_LOG(DEBUG) << "now shown";
  EXPECT_THAT(Lines().back(), HasSubstr(" DEBUG unit: now shown"));
}

TEST_F(LoggerTest, EveryEventIsExactlyOneLineInBothFormats) {
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    SetLogFormat(format);
    WB_LOG(ERROR) << "multi\nline\nmessage" << LogField("dn", "CN=a\nb,OU=x")
                  << LogHint("first\nsecond");
  }
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Newlines(capture_.text()), 2);
  EXPECT_THAT(lines[0], HasSubstr("multi\\nline\\nmessage dn=\"CN=a\\nb,OU=x\""));
  google::protobuf::Struct object = ParseJson(lines[1]);
  EXPECT_EQ(Str(object, "msg"), "multi\nline\nmessage");
  EXPECT_EQ(Str(object, "dn"), "CN=a\nb,OU=x");
  EXPECT_EQ(Str(object, "hint"), "first\nsecond");
}

}  // namespace
}  // namespace writeback
