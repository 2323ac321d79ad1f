#include "common/base/log_format.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace writeback {
namespace {

// The length of the well-formed UTF-8 sequence starting at text[i] (1-4),
// or 0 when the bytes there are not one (overlong forms, surrogates and
// code points past U+10FFFF included).
size_t Utf8Length(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// Text-format escaping of one byte below 0x20, 0x7F or an invalid byte.
void AppendTextEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      absl::StrAppendFormat(out, "\\x%02x", c);
  }
}

// Escapes control characters and invalid UTF-8; with `quoted`, also '"'
// and '\\'. Sets *escaped when anything was escaped.
std::string TextEscape(absl::string_view text, bool quoted, bool* escaped) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8Length(text, i);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      AppendTextEscape(c, &out);
      *escaped = true;
      ++i;
      continue;
    }
    if (quoted && (c == '"' || c == '\\')) out.push_back('\\');
    out.append(text.substr(i, n).data(), n);
    i += n;
  }
  return out;
}

std::string SanitizeKey(absl::string_view key) {
  std::string out;
  for (char c : key) {
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                          c == '.'
                      ? c
                      : '_');
  }
  return out.empty() ? "field" : out;
}

const char* LowerLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

// The fields with keys made unique and distinct from the reserved members.
std::vector<std::pair<std::string, std::string>> UniqueFields(const LogEvent& event) {
  std::set<std::string> used = {"time", "level", "component", "msg"};
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : event.fields) {
    std::string base = SanitizeKey(key);
    if (base == "time" || base == "level" || base == "component" || base == "msg") {
      base += "_field";
    }
    std::string k = base;
    for (int n = 2; used.count(k) > 0; ++n) k = absl::StrCat(base, "_", n);
    used.insert(k);
    out.emplace_back(std::move(k), value);
  }
  return out;
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

absl::Status ParseLogFormat(absl::string_view text, LogFormat* format) {
  std::string t = absl::AsciiStrToLower(text);
  if (t.empty() || t == "text") {
    *format = LogFormat::kText;
  } else if (t == "json") {
    *format = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("log_format: unknown format '", text, "' (use text or json)"));
  }
  return absl::OkStatus();
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out.append("\\ufffd");  // the replacement character
      ++i;
      continue;
    }
    i += n;
    switch (c) {
      case '"':
        out.append("\\\"");
        continue;
      case '\\':
        out.append("\\\\");
        continue;
      case '\n':
        out.append("\\n");
        continue;
      case '\r':
        out.append("\\r");
        continue;
      case '\t':
        out.append("\\t");
        continue;
      case '\b':
        out.append("\\b");
        continue;
      case '\f':
        out.append("\\f");
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.append(text.substr(i - n, n).data(), n);
    }
  }
  out.push_back('"');
  return out;
}

std::string TextValue(absl::string_view text) {
  bool escaped = false;
  std::string plain = TextEscape(text, /*quoted=*/false, &escaped);
  bool needs_quotes = escaped || text.empty();
  for (char c : text) needs_quotes = needs_quotes || c == ' ' || c == '"' || c == '=' || c == '\\';
  if (!needs_quotes) return plain;
  return absl::StrCat("\"", TextEscape(text, /*quoted=*/true, &escaped), "\"");
}

std::string FormatLogEvent(const LogEvent& event, LogFormat format) {
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", event.time, absl::UTCTimeZone());
  std::string line;
  if (format == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"time\":", JsonQuote(time), ",\"level\":\"",
                    LowerLevelName(event.level), "\",\"component\":", JsonQuote(event.component),
                    ",\"msg\":", JsonQuote(event.message));
    for (const auto& [key, value] : UniqueFields(event)) {
      absl::StrAppend(&line, ",", JsonQuote(key), ":", JsonQuote(value));
    }
    line.append("}\n");
    return line;
  }
  bool escaped = false;
  absl::StrAppend(&line, time, " ", LogLevelName(event.level), " ",
                  TextEscape(event.component, false, &escaped), ": ",
                  TextEscape(event.message, false, &escaped));
  for (const auto& [key, value] : UniqueFields(event)) {
    absl::StrAppend(&line, " ", key, "=", TextValue(value));
  }
  line.push_back('\n');
  return line;
}

}  // namespace writeback
