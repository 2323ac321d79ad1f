// How one log event becomes one line: the text and JSON formats, and the
// escaping that keeps every event on exactly one line whatever its message
// or fields hold (newlines, quotes, control characters, invalid UTF-8).
// Pure functions, no state; log.h writes what these return.
//
//   LogEvent e{absl::Now(), LogLevel::kError, "agent", "job refused",
//              {{"mailbox", "c10d..."}, {"hint", "fix the value in the
//              cloud"}}};
//   FormatLogEvent(e, LogFormat::kText);
//   // 2026-11-23T20:15:01.123Z ERROR agent: job refused mailbox=c10d...
//   hint="fix the ..." FormatLogEvent(e, LogFormat::kJson);
//   // {"time":"2026-11-23T20:15:01.123Z","level":"error","component":"agent",
//   //  "msg":"job refused","mailbox":"c10d...","hint":"fix the value in the
//   cloud"}
#ifndef WRITEBACK_COMMON_BASE_LOG_FORMAT_H_
#define WRITEBACK_COMMON_BASE_LOG_FORMAT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace writeback {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText = 0, kJson = 1 };

// "DEBUG", "INFO", "WARNING", "ERROR".
const char* LogLevelName(LogLevel level);
// Parses "text" (or empty) and "json", any case; kInvalidArgument naming
// the field log_format otherwise.
absl::Status ParseLogFormat(absl::string_view text, LogFormat* format);

struct LogEvent {
  absl::Time time;
  LogLevel level = LogLevel::kInfo;
  std::string component;
  std::string message;
  // In the order given. Keys are [a-z0-9_] by convention; others are
  // sanitized. Duplicate keys, and the reserved time/level/component/msg,
  // get a suffix ("_2", "_field") so a JSON object never repeats a member.
  std::vector<std::pair<std::string, std::string>> fields;
};

// One line ending in '\n', and no other '\n' in it.
//  kText: "<time> <LEVEL> <component>: <message>[ key=value]...": control
//         characters and invalid UTF-8 in the message are escaped (\n, \t,
//         \xNN); a value is quoted ("...", with \" \\ and the same escapes)
//         when it is empty or holds a space, '"', '=', '\\' or anything
//         escaped.
//  kJson: one object: "time", "level" (lower case), "component", "msg",
//         then one string member per field. Strings are escaped per RFC 8259;
//         invalid UTF-8 becomes U+FFFD.
std::string FormatLogEvent(const LogEvent& event, LogFormat format);

// The JSON string literal of `text` (quotes included), as above.
std::string JsonQuote(absl::string_view text);
// `text` for a text-format line: escapes as above, quoted when needed.
std::string TextValue(absl::string_view text);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_LOG_FORMAT_H_
