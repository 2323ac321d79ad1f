#include "common/base/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace writeback {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
absl::Mutex g_mu;
std::string *g_component ABSL_GUARDED_BY(g_mu) = new std::string("writeback");
std::string *g_capture ABSL_GUARDED_BY(g_mu) = nullptr;  // ScopedLogCapture's lines
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }

void SetLogComponent(absl::string_view component) {
  absl::MutexLock lock(&g_mu);
  *g_component = std::string(component);
}

absl::Status ParseLogLevel(absl::string_view text, LogLevel *level) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "debug")
    *level = LogLevel::kDebug;
  else if (t == "info" || t.empty())
    *level = LogLevel::kInfo;
  else if (t == "warning")
    *level = LogLevel::kWarning;
  else if (t == "error")
    *level = LogLevel::kError;
  else
    return absl::InvalidArgumentError(
        absl::StrCat("log_level: unknown level '", text, "' (use debug, info, warning or error)"));
  return absl::OkStatus();
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

LogLine::~LogLine() {
  if (!LogEnabled(level_)) return;  // a LogLine made without WB_LOG
  LogEvent event;
  event.time = absl::Now();
  event.level = level_;
  event.message = stream_.str();
  event.fields = std::move(fields_);
  const auto format = static_cast<LogFormat>(g_format.load());
  absl::MutexLock lock(&g_mu);
  event.component = *g_component;
  const std::string line = FormatLogEvent(event, format);
  if (g_capture != nullptr) {
    g_capture->append(line);
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

ScopedLogCapture::ScopedLogCapture() {
  absl::MutexLock lock(&g_mu);
  g_capture = new std::string();
}

ScopedLogCapture::~ScopedLogCapture() {
  absl::MutexLock lock(&g_mu);
  delete g_capture;
  g_capture = nullptr;
}

std::string ScopedLogCapture::text() const {
  absl::MutexLock lock(&g_mu);
  return g_capture == nullptr ? std::string() : *g_capture;
}

}  // namespace writeback
