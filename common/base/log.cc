#include "common/base/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace writeback {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
absl::Mutex g_mu;
std::string* g_component = new std::string("writeback");

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARNING";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void SetLogComponent(absl::string_view component) {
  absl::MutexLock lock(&g_mu);
  *g_component = std::string(component);
}

absl::Status ParseLogLevel(absl::string_view text, LogLevel* level) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") *level = LogLevel::kDebug;
  else if (t == "info" || t.empty()) *level = LogLevel::kInfo;
  else if (t == "warning") *level = LogLevel::kWarning;
  else if (t == "error") *level = LogLevel::kError;
  else
    return absl::InvalidArgumentError(absl::StrCat(
        "log_level: unknown level '", text, "' (use debug, info, warning or error)"));
  return absl::OkStatus();
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

LogLine::~LogLine() {
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
      LevelName(level_), " ");
  absl::MutexLock lock(&g_mu);
  absl::StrAppend(&line, *g_component, ": ", stream_.str(), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace writeback
