#include "common/identity/anchor.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace writeback {
namespace {

// Debian's Abseil has its own absl::string_view, which does not convert from
// std::string_view.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr size_t kGuidStringSize = 36;  // 32 hex digits and 4 hyphens

// Byte i of the binary form comes from byte kGuidOrder[i] of the string form
// read as 16 bytes in order: the first three fields are byte-swapped.
constexpr int kGuidOrder[kAnchorSize] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsHyphenPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

// Parses the 36-character form into 16 bytes in string order.
bool ParseGuidString(absl::string_view s, std::string* in_order) {
  if (s.size() != kGuidStringSize) return false;
  in_order->clear();
  for (size_t i = 0; i < s.size();) {
    if (IsHyphenPosition(i)) {
      if (s[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = HexValue(s[i]);
    const int lo = HexValue(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    in_order->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return in_order->size() == kAnchorSize;
}

}  // namespace

absl::StatusOr<std::string> ParseAnchor(std::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(Av(text));
  absl::string_view guid = s;
  const bool braced = absl::ConsumePrefix(&guid, "{") && absl::ConsumeSuffix(&guid, "}");
  std::string in_order;
  if (ParseGuidString(braced ? guid : s, &in_order)) {
    std::string bytes(kAnchorSize, '\0');
    for (size_t i = 0; i < kAnchorSize; ++i) bytes[i] = in_order[kGuidOrder[i]];
    return bytes;
  }
  std::string decoded;
  if (!s.empty() && absl::Base64Unescape(s, &decoded) && decoded.size() == kAnchorSize) {
    return decoded;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "source anchor \"", absl::CEscape(Av(text.substr(0, 80))), text.size() > 80 ? "..." : "",
      "\" is neither a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in braces) nor "
      "base64 of 16 bytes (as ldapsearch prints objectGUID::); copy the objectGUID or "
      "ms-DS-ConsistencyGuid in one of those forms"));
}

bool IsGuidString(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) return false;
  }
  return true;
}

std::string AnchorToGuidString(std::string_view bytes) {
  if (bytes.size() != kAnchorSize) return "";
  std::string in_order(kAnchorSize, '\0');
  for (size_t i = 0; i < kAnchorSize; ++i) in_order[kGuidOrder[i]] = bytes[i];
  const std::string hex = absl::BytesToHexString(in_order);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

std::string AnchorToBase64(std::string_view bytes) { return absl::Base64Escape(Av(bytes)); }

std::string EscapeLdapFilterBytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back('\\');
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

}  // namespace writeback
