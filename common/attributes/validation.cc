#include "common/attributes/validation.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace writeback {
namespace {

// Debian's Abseil is built with its own absl::string_view, which does not
// convert from std::string_view; this bridges the two without copying.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr size_t kMaxQuotedChars = 80;
constexpr size_t kMaxProxyTypeLength = 9;
constexpr size_t kMaxLocalPartBytes = 64;
constexpr size_t kMaxDomainBytes = 255;
constexpr size_t kMaxLabelBytes = 63;

// ---- UTF-8 -----------------------------------------------------------------

// Decodes the code point at s[*i] and advances *i. Returns false (leaving *i)
// on a malformed, overlong or surrogate sequence.
bool DecodeUtf8(std::string_view s, size_t* i, char32_t* out) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    *out = b0;
    ++*i;
    return true;
  }
  size_t len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (*i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *out = cp;
  *i += len;
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// Simple lowercase mapping for the scripts listed in validation.h.
char32_t FoldCase(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 0x20;  // Latin-1
  if (c == 0x130) return 'i';                      // İ
  if (c >= 0x100 && c <= 0x137) return c | 1;      // Latin Ext-A pairs
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c == 0x386) return 0x3AC;  // Greek
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;  // Cyrillic
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  return c;
}

// `s` with every code point case-folded; invalid UTF-8 is returned as is.
std::string Folded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    if (!DecodeUtf8(s, &i, &cp)) return std::string(s);
    AppendUtf8(FoldCase(cp), &out);
  }
  return out;
}

// `value` in double quotes for an error message: at most kMaxQuotedChars
// characters, '"' and '\' escaped, control characters and bytes that are not
// UTF-8 written as \xNN.
std::string Quote(std::string_view value) {
  std::string out = "\"";
  size_t chars = 0;
  for (size_t i = 0; i < value.size(); ++chars) {
    if (chars == kMaxQuotedChars) {
      absl::StrAppend(&out, "...");
      break;
    }
    const size_t start = i;
    char32_t cp;
    if (!DecodeUtf8(value, &i, &cp)) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(value[i]));
      ++i;
    } else if (IsControl(cp)) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned>(cp));
    } else if (cp == '"' || cp == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(cp)));
    } else {
      out.append(value.substr(start, i - start));
    }
  }
  out.push_back('"');
  return out;
}

absl::Status Invalid(const AttributeSpec& spec, std::string_view value, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Av(spec.name), ": ", Quote(value), " ", Av(what)));
}

// ---- numbers ---------------------------------------------------------------

enum class NumberError { kNone, kNotANumber, kOutOfRange };

// Parses an optionally signed decimal within [min, max].
std::optional<int64_t> ParseDecimal(std::string_view s, int64_t min, int64_t max,
                                    NumberError* error) {
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) {
    *error = NumberError::kNotANumber;
    return std::nullopt;
  }
  // Only sign and digits remain, so SimpleAtoi fails only on overflow.
  int64_t v;
  if (!absl::SimpleAtoi(Av(s), &v) || v < min || v > max) {
    *error = NumberError::kOutOfRange;
    return std::nullopt;
  }
  *error = NumberError::kNone;
  return v;
}

absl::Status ValidateNumber(const AttributeSpec& spec, std::string_view value) {
  const bool large = spec.syntax == AttributeSyntax::kLargeInteger;
  const int64_t min = large ? INT64_MIN : INT32_MIN;
  const int64_t max = large ? INT64_MAX : INT32_MAX;
  NumberError error;
  if (ParseDecimal(value, min, max, &error).has_value()) return absl::OkStatus();
  if (error == NumberError::kNotANumber) {
    return Invalid(spec, value,
                   large ? "is not a number (Large Integer: a decimal 64-bit integer such as "
                           "2147483648 for RemoteUserMailbox)"
                         : "is not a number (Integer: a decimal 32-bit signed integer such as "
                           "-2147483642 for MailUserRemoteUserMailbox)");
  }
  return Invalid(
      spec, value,
      large ? absl::StrCat("is out of range (Large Integer: ", INT64_MIN, " to ", INT64_MAX, ")")
            : absl::StrCat("is out of range (Integer: ", INT32_MIN, " to ", INT32_MAX,
                           "; write larger flag values in their signed form, e.g. "
                           "-2147483642 rather than 2147483654)"));
}

// ---- SMTP addresses --------------------------------------------------------

bool IsAtext(char c) {
  return absl::ascii_isalnum(c) || static_cast<unsigned char>(c) >= 0x80 ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Returns "" if `local` is a dot-atom or quoted string, else the reason.
std::string CheckLocalPart(std::string_view local) {
  if (local.empty()) return "the part before '@' is empty";
  if (local.size() > kMaxLocalPartBytes) {
    return absl::StrCat("the part before '@' is longer than ", kMaxLocalPartBytes, " bytes");
  }
  if (local.front() == '"') {
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      const char c = local[i];
      if (c == '\\')
        ++i;  // quoted-pair: the next character is taken as is
      else if (c == '"')
        return "it has a '\"' inside the quoted part before '@'";
      else if (static_cast<unsigned char>(c) < 0x20)
        return "it has a control character";
    }
    if (local.size() < 2 || local.back() != '"') return "the quoted part before '@' is not closed";
    return "";
  }
  for (absl::string_view atom : absl::StrSplit(Av(local), '.')) {
    if (atom.empty()) return "the part before '@' starts or ends with '.' or has \"..\"";
    for (char c : atom) {
      if (!IsAtext(c)) {
        return absl::StrCat("the part before '@' has '", std::string(1, c),
                            "', which needs quoting (\"...\")");
      }
    }
  }
  return "";
}

// Returns "" if `domain` is a host name of two or more labels, else the reason.
std::string CheckDomain(std::string_view domain) {
  if (domain.empty()) return "the domain after '@' is empty";
  if (domain.front() == '[') return "address literals are not accepted; use a domain name";
  if (domain.size() > kMaxDomainBytes) {
    return absl::StrCat("the domain is longer than ", kMaxDomainBytes, " bytes");
  }
  size_t labels = 0;
  for (absl::string_view label : absl::StrSplit(Av(domain), '.')) {
    ++labels;
    if (label.empty()) return "the domain starts or ends with '.' or has \"..\"";
    if (label.size() > kMaxLabelBytes) {
      return absl::StrCat("a domain label is longer than ", kMaxLabelBytes, " bytes");
    }
    if (label.front() == '-' || label.back() == '-') {
      return "a domain label starts or ends with '-'";
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && static_cast<unsigned char>(c) < 0x80) {
        return absl::StrCat("the domain has '", std::string(1, c),
                            "'; use letters, digits, '-' and '.'");
      }
    }
  }
  if (labels < 2) return "the domain has a single label; use a fully qualified domain";
  return "";
}

// Returns "" if `address` is an RFC 5322 addr-spec as described in the header.
std::string CheckAddrSpec(std::string_view address) {
  size_t at;
  if (!address.empty() && address.front() == '"') {
    size_t close = 1;
    while (close < address.size() && address[close] != '"') {
      close += address[close] == '\\' ? 2 : 1;
    }
    at = close + 1;
    if (at >= address.size() || address[at] != '@') return "it has no '@' after the quoted part";
  } else {
    at = address.find('@');
    if (at == std::string_view::npos) return "it has no '@'";
  }
  std::string reason = CheckLocalPart(address.substr(0, at));
  if (!reason.empty()) return reason;
  const std::string_view domain = address.substr(at + 1);
  if (domain.find('@') != std::string_view::npos) return "it has more than one '@'";
  return CheckDomain(domain);
}

// ---- Unicode String --------------------------------------------------------

absl::Status ValidateString(const AttributeSpec& spec, std::string_view value) {
  if (value.empty()) {
    return Invalid(spec, value, "is empty; to clear the attribute send no values");
  }
  size_t chars = 0;
  for (size_t i = 0; i < value.size(); ++chars) {
    char32_t cp;
    if (!DecodeUtf8(value, &i, &cp)) {
      return Invalid(spec, value,
                     absl::StrCat("is not valid UTF-8 (at byte ", i + 1,
                                  "); send the value encoded as UTF-8"));
    }
    if (IsControl(cp)) {
      return Invalid(spec, value,
                     absl::StrFormat("has control character U+%04X at character %d; remove it",
                                     static_cast<unsigned>(cp), chars + 1));
    }
  }
  if (spec.max_length > 0 && chars > spec.max_length) {
    return Invalid(spec, value,
                   absl::StrCat("is ", chars, " characters long; the schema allows at most ",
                                spec.max_length, " (rangeUpper): shorten it"));
  }
  return absl::OkStatus();
}

bool IsProxyAddresses(const AttributeSpec& spec) {
  return absl::EqualsIgnoreCase(Av(spec.name), "proxyAddresses");
}

// Checks one proxyAddresses value after the Unicode String checks.
absl::Status ValidateProxyFormat(const AttributeSpec& spec, std::string_view value) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) {
    return Invalid(spec, value,
                   "has no address type prefix; write it as TYPE:address, for example "
                   "\"smtp:john@contoso.com\"");
  }
  const std::string_view type = value.substr(0, colon);
  const std::string_view address = value.substr(colon + 1);
  if (type.empty() || type.size() > kMaxProxyTypeLength ||
      !std::all_of(type.begin(), type.end(), absl::ascii_isalnum)) {
    return Invalid(spec, value,
                   absl::StrCat("has an invalid address type \"", Av(type),
                                "\"; use 1 to 9 letters or digits such as SMTP, X500, SIP or EUM"));
  }
  if (address.empty()) {
    return Invalid(spec, value, absl::StrCat("has no address after \"", Av(type), ":\""));
  }
  if (!absl::EqualsIgnoreCase(Av(type), "smtp")) return absl::OkStatus();
  if (type != "SMTP" && type != "smtp") {
    return Invalid(spec, value,
                   "mixes upper and lower case in its type: write \"SMTP:\" for the primary "
                   "address or \"smtp:\" for a secondary one");
  }
  const std::string reason = CheckAddrSpec(address);
  if (!reason.empty()) {
    return Invalid(spec, value, absl::StrCat("is not a valid SMTP address: ", reason));
  }
  return absl::OkStatus();
}

// The string two values are compared by: equal keys <=> ValuesEqual.
std::string ComparisonKey(const AttributeSpec& spec, std::string_view value) {
  switch (spec.syntax) {
    case AttributeSyntax::kInteger:
    case AttributeSyntax::kLargeInteger: {
      NumberError error;
      if (auto v = ParseDecimal(value, INT64_MIN, INT64_MAX, &error)) {
        return absl::StrCat("#", *v);
      }
      return absl::StrCat("?", Av(value));
    }
    case AttributeSyntax::kBoolean:
      return absl::AsciiStrToUpper(Av(value));
    case AttributeSyntax::kUnicodeString:
      break;
  }
  if (IsProxyAddresses(spec)) {
    const size_t colon = value.find(':');
    if (colon != std::string_view::npos) {
      return absl::StrCat(Av(value.substr(0, colon + 1)), Folded(value.substr(colon + 1)));
    }
  }
  return Folded(value);
}

const AttributeSpec& ProxyAddressesSpec() {
  static const AttributeSpec* const kSpec = AttributeCatalog::Default().Find("proxyAddresses");
  return *kSpec;
}

}  // namespace

std::string QuoteForError(std::string_view text) { return Quote(text); }

absl::Status ValidateValue(const AttributeSpec& spec, std::string_view value) {
  switch (spec.syntax) {
    case AttributeSyntax::kInteger:
    case AttributeSyntax::kLargeInteger:
      return ValidateNumber(spec, value);
    case AttributeSyntax::kBoolean:
      if (absl::EqualsIgnoreCase(Av(value), "TRUE") || absl::EqualsIgnoreCase(Av(value), "FALSE")) {
        return absl::OkStatus();
      }
      return Invalid(spec, value, "is not a Boolean; write TRUE or FALSE");
    case AttributeSyntax::kUnicodeString:
      break;
  }
  absl::Status status = ValidateString(spec, value);
  if (!status.ok()) return status;
  if (IsProxyAddresses(spec)) return ValidateProxyFormat(spec, value);
  if (absl::EqualsIgnoreCase(Av(spec.name), "mail")) {
    const std::string reason = CheckAddrSpec(value);
    if (!reason.empty()) {
      return Invalid(spec, value, absl::StrCat("is not a valid SMTP address: ", reason));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateValues(const AttributeSpec& spec, const std::vector<std::string>& values) {
  if (IsProxyAddresses(spec)) return ValidateProxyAddresses(values);
  if (!spec.multi_valued && values.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(spec.name), ": ", values.size(), " values (", Quote(values[0]), ", ",
                     Quote(values[1]), (values.size() > 2 ? ", ..." : ""),
                     ") for a single-valued attribute; send at most one value"));
  }
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < values.size(); ++i) {
    absl::Status status = ValidateValue(spec, values[i]);
    if (!status.ok()) return status;
    auto [it, inserted] = seen.emplace(ComparisonKey(spec, values[i]), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(Av(spec.name), ": ", Quote(values[it->second]), " and ", Quote(values[i]),
                       " are the same value ignoring case; keep only one"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateProxyAddresses(const std::vector<std::string>& values) {
  const AttributeSpec& spec = ProxyAddressesSpec();
  std::unordered_map<std::string, size_t> seen;
  const std::string* primary = nullptr;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& value = values[i];
    absl::Status status = ValidateValue(spec, value);
    if (!status.ok()) return status;
    // Duplicates ignore case entirely, the prefix included, as AD matches.
    auto [it, inserted] = seen.emplace(Folded(value), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(Av(spec.name), ": ", Quote(values[it->second]), " and ", Quote(value),
                       " are the same address ignoring case; keep only one"));
    }
    if (absl::StartsWith(value, "SMTP:")) {
      if (primary != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            Av(spec.name), ": ", Quote(*primary), " and ", Quote(value),
            " are both primary (upper-case \"SMTP:\"); a mailbox has exactly one primary "
            "SMTP address: write the others with \"smtp:\""));
      }
      primary = &value;
    }
  }
  if (!values.empty() && primary == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(spec.name), ": none of the ", values.size(), " values (", Quote(values[0]),
        values.size() > 1 ? ", ..." : "",
        ") is a primary SMTP address; a mailbox needs exactly one, written with upper-case "
        "\"SMTP:\", for example \"SMTP:john@contoso.com\""));
  }
  return absl::OkStatus();
}

bool ValuesEqual(const AttributeSpec& spec, std::string_view a, std::string_view b) {
  return ComparisonKey(spec, a) == ComparisonKey(spec, b);
}

bool SetsEqual(const AttributeSpec& spec, const std::vector<std::string>& a,
               const std::vector<std::string>& b) {
  auto keys = [&spec](const std::vector<std::string>& values) {
    std::vector<std::string> out;
    out.reserve(values.size());
    for (const std::string& v : values) out.push_back(ComparisonKey(spec, v));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  return keys(a) == keys(b);
}

std::string CanonicalValue(const AttributeSpec& spec, std::string_view value) {
  switch (spec.syntax) {
    case AttributeSyntax::kInteger:
    case AttributeSyntax::kLargeInteger: {
      NumberError error;
      if (auto v = ParseDecimal(value, INT64_MIN, INT64_MAX, &error)) return absl::StrCat(*v);
      return std::string(value);
    }
    case AttributeSyntax::kBoolean:
      if (absl::EqualsIgnoreCase(Av(value), "TRUE")) return "TRUE";
      if (absl::EqualsIgnoreCase(Av(value), "FALSE")) return "FALSE";
      return std::string(value);
    case AttributeSyntax::kUnicodeString:
      break;
  }
  return std::string(value);
}

std::string PrimarySmtpAddress(const std::vector<std::string>& proxy_addresses) {
  for (const std::string& value : proxy_addresses) {
    if (absl::StartsWith(value, "SMTP:")) return value.substr(5);
  }
  return "";
}

}  // namespace writeback
