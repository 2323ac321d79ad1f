// Minimal structured logging: one event per line on stderr,
//   2026-11-23T20:15:01.123Z INFO agent: job applied mailbox=... dn=...
// Thread-safe. The level is set once by main().
//
//   WB_LOG(INFO) << "job applied mailbox=" << id;
#ifndef WRITEBACK_COMMON_BASE_LOG_H_
#define WRITEBACK_COMMON_BASE_LOG_H_

#include <sstream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace writeback {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Sets the minimum level written and the component name shown on each line.
void SetLogLevel(LogLevel level);
void SetLogComponent(absl::string_view component);
// Parses "debug", "info", "warning", "error".
absl::Status ParseLogLevel(absl::string_view text, LogLevel* level);
bool LogEnabled(LogLevel level);

// Collects one line and writes it atomically on destruction.
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace writeback

#define WB_LOG_LEVEL_DEBUG ::writeback::LogLevel::kDebug
#define WB_LOG_LEVEL_INFO ::writeback::LogLevel::kInfo
#define WB_LOG_LEVEL_WARNING ::writeback::LogLevel::kWarning
#define WB_LOG_LEVEL_ERROR ::writeback::LogLevel::kError

#define WB_LOG(level)                                          \
  if (!::writeback::LogEnabled(WB_LOG_LEVEL_##level)) {        \
  } else                                                       \
    ::writeback::LogLine(WB_LOG_LEVEL_##level)

#endif  // WRITEBACK_COMMON_BASE_LOG_H_
