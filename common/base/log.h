// Structured logging: one event per line on stderr, as text (the default)
//   2026-11-23T20:15:01.123Z ERROR agent: job refused mailbox=c10d...
//   attribute=mail hint="..."
// or as one JSON object per line (SetLogFormat(LogFormat::kJson))
//   {"time":"2026-11-23T20:15:01.123Z","level":"error","component":"agent",
//    "msg":"job refused","mailbox":"c10d...","attribute":"mail","hint":"..."}
// Formats and escaping: log_format.h. Thread-safe; level and format are set
// once by main().
//
//   WB_LOG(ERROR) << "job refused" << LogField("mailbox", id) <<
//   LogField("attribute", a)
//                 << LogHint("fix the value in the cloud, then: writebackctl
//                 mailbox retry ID");
//
// Everything streamed that is not a LogField makes up the message; keep its
// leading text fixed and distinctive (the operator guide lists messages by
// it) and put the variable parts in fields: the object (mailbox, dn, agent,
// forest, job, session), the attribute, the error, and a hint saying what to
// do. Never log a secret (token, password, key) as a message or a field.
#ifndef WRITEBACK_COMMON_BASE_LOG_H_
#define WRITEBACK_COMMON_BASE_LOG_H_

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/base/log_format.h"

namespace writeback {

// Sets the minimum level written, the format, and the component name shown
// on each event.
void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
void SetLogComponent(absl::string_view component);
// Parses "debug", "info", "warning", "error".
absl::Status ParseLogLevel(absl::string_view text, LogLevel *level);
bool LogEnabled(LogLevel level);

// A named value of a log event. The value is anything `<<` can print; an
// absl::Status prints its message only (the code is in the text too).
class LogField {
 public:
  template <typename T>
  LogField(absl::string_view key, const T &value) : key_(key), value_(ToText(value)) {}

  const std::string &key() const { return key_; }
  const std::string &value() const { return value_; }

 private:
  static std::string ToText(absl::string_view v) { return std::string(v); }
  static std::string ToText(const std::string &v) { return v; }
  static std::string ToText(const char *v) { return v == nullptr ? "" : v; }
  static std::string ToText(const absl::Status &s) { return s.ToString(); }
  template <typename T>
  static std::string ToText(const T &v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  std::string key_;
  std::string value_;
};

// The field "hint": what the operator should do about the event.
inline LogField LogHint(absl::string_view what_to_do) { return LogField("hint", what_to_do); }
// The field "error": the status's code and message.
inline LogField LogError(const absl::Status &status) { return LogField("error", status); }

// Collects one event and writes it as one line on destruction, when its
// level is enabled. WB_LOG skips the formatting for disabled levels; a
// LogLine of its own suits an event whose fields depend on conditions:
//   LogLine line(LogLevel::kWarning);
//   line << "refused agent stream" << LogField("peer", peer);
//   if (known) line << LogField("agent", id);
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  LogLine(const LogLine &) = delete;
  LogLine &operator=(const LogLine &) = delete;

  LogLine &operator<<(const LogField &field) {
    fields_.emplace_back(field.key(), field.value());
    return *this;
  }
  template <typename T>
  LogLine &operator<<(const T &v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

// For tests: while one is alive, events go to it (each formatted line
// appended to text()) instead of stderr. One at a time.
class ScopedLogCapture {
 public:
  ScopedLogCapture();
  ~ScopedLogCapture();
  ScopedLogCapture(const ScopedLogCapture &) = delete;
  ScopedLogCapture &operator=(const ScopedLogCapture &) = delete;
  // Everything written so far, line after line.
  std::string text() const;
};

}  // namespace writeback

#define WB_LOG_LEVEL_DEBUG ::writeback::LogLevel::kDebug
#define WB_LOG_LEVEL_INFO ::writeback::LogLevel::kInfo
#define WB_LOG_LEVEL_WARNING ::writeback::LogLevel::kWarning
#define WB_LOG_LEVEL_ERROR ::writeback::LogLevel::kError

#define WB_LOG(level)                                   \
  if (!::writeback::LogEnabled(WB_LOG_LEVEL_##level)) { \
  } else                                                \
    ::writeback::LogLine(WB_LOG_LEVEL_##level)

#endif  // WRITEBACK_COMMON_BASE_LOG_H_
