#include "tests/harness/session_recording.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {

const char* DirectionName(Direction direction) {
  return direction == Direction::kAgentToController ? "A2C" : "C2A";
}

std::string DescribeMessage(const RecordedMessage& message) {
  if (message.direction == Direction::kAgentToController) {
    writeback::v1::AgentMessage m;
    if (!m.ParseFromString(message.bytes)) return "(does not parse as an AgentMessage)";
    return m.ShortDebugString();
  }
  writeback::v1::ControllerMessage m;
  if (!m.ParseFromString(message.bytes)) return "(does not parse as a ControllerMessage)";
  return m.ShortDebugString();
}

std::string FormatSession(const std::vector<RecordedMessage>& messages,
                          const std::vector<std::string>& header) {
  std::string out;
  for (const std::string& line : header) absl::StrAppend(&out, "# ", line, "\n");
  for (const RecordedMessage& m : messages) {
    const char* dir = DirectionName(m.direction);
    absl::StrAppend(&out, "# ", dir, " ", DescribeMessage(m), "\n");
    absl::StrAppend(&out, dir, " ", m.at_ms, " ", absl::Base64Escape(m.bytes), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<RecordedMessage>> ParseSession(absl::string_view text) {
  std::vector<RecordedMessage> out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    RecordedMessage m;
    bool ok = fields.size() == 3 && absl::SimpleAtoi(fields[1], &m.at_ms) &&
              absl::Base64Unescape(fields[2], &m.bytes);
    if (ok && fields[0] == "A2C") {
      m.direction = Direction::kAgentToController;
    } else if (ok && fields[0] == "C2A") {
      m.direction = Direction::kControllerToAgent;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "session recording line ", number, ": expected \"A2C|C2A MS BASE64\", got \"",
          std::string(line.substr(0, 80)), "\""));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace writeback::testing
