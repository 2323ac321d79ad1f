// Fuzz target: attribute value validation and directory-style comparison
// (common/attributes/validation.h) for every attribute of the catalog.
//
// Input: an attribute index and up to 6 values (FuzzedDataProvider). Checks,
// beyond "no crash" under ASan and UBSan:
// - every error is kInvalidArgument, names the attribute ("name: ...") and is
//   valid UTF-8 without control characters (it is logged and shown as is);
// - ValuesEqual is reflexive, symmetric and transitive;
// - a valid value stays valid and equal to itself under CanonicalValue (which
//   is idempotent and changes no string), and under ASCII case changes where
//   the syntax ignores case (strings; for proxyAddresses the address only,
//   the TYPE prefix compares exactly);
// - a valid set has only valid values, no two ValuesEqual, at most one value
//   for a single-valued attribute; a valid non-empty proxyAddresses set has
//   exactly one "SMTP:" value, the one PrimarySmtpAddress returns;
// - SetsEqual ignores order and repeats, and a valid set with a value added
//   again (case changed) is no longer valid.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"

namespace writeback {
namespace {

void Fail(const char* what, std::string_view a, std::string_view b = {}) {
  std::cerr << "property violated: " << what << "\n  a: \"" << a << "\"\n  b: \"" << b << "\"\n";
  std::abort();
}

// True for valid UTF-8 without C0/C1 control characters.
bool PrintableUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = b0 < 0x80             ? 1
                 : (b0 & 0xE0) == 0xC0 ? 2
                 : (b0 & 0xF0) == 0xE0 ? 3
                 : (b0 & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (len == 0 || i + len > s.size()) return false;
    char32_t cp = len == 1 ? b0 : len == 2 ? b0 & 0x1F : len == 3 ? b0 & 0x0F : b0 & 0x07;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += len;
  }
  return true;
}

void CheckError(const AttributeSpec& spec, const absl::Status& status, std::string_view value) {
  if (status.ok()) return;
  if (status.code() != absl::StatusCode::kInvalidArgument) Fail("error code", value);
  const std::string message(status.message());
  if (!absl::StartsWith(message, std::string(spec.name) + ": ")) {
    Fail("error does not start with the attribute's name", message, value);
  }
  if (!PrintableUtf8(message)) Fail("error is not printable UTF-8", message, value);
}

bool IsProxy(const AttributeSpec& spec) { return spec.name == "proxyAddresses"; }

// `value` with its case changed (ASCII) where the syntax says case does not
// matter: the whole string, or a proxy address's part after the first ':'.
std::string CaseChanged(const AttributeSpec& spec, const std::string& value, bool upper) {
  auto change = [upper](std::string s) {
    return upper ? absl::AsciiStrToUpper(s) : absl::AsciiStrToLower(s);
  };
  if (IsProxy(spec)) {
    const size_t colon = value.find(':');
    if (colon == std::string::npos) return value;
    return value.substr(0, colon + 1) + change(value.substr(colon + 1));
  }
  return change(value);
}

void CheckValue(const AttributeSpec& spec, const std::string& value) {
  const absl::Status status = ValidateValue(spec, value);
  CheckError(spec, status, value);
  if (!ValuesEqual(spec, value, value)) Fail("ValuesEqual is not reflexive", value);
  if (!status.ok()) return;
  const std::string canonical = CanonicalValue(spec, value);
  if (!ValidateValue(spec, canonical).ok()) Fail("canonical form is invalid", value, canonical);
  if (!ValuesEqual(spec, value, canonical)) Fail("canonical form differs", value, canonical);
  if (CanonicalValue(spec, canonical) != canonical) Fail("CanonicalValue not idempotent", value);
  if (spec.syntax == AttributeSyntax::kUnicodeString && canonical != value) {
    Fail("CanonicalValue changed a string", value, canonical);
  }
  if (spec.syntax == AttributeSyntax::kInteger || spec.syntax == AttributeSyntax::kLargeInteger) {
    return;  // digits have no case
  }
  for (bool upper : {false, true}) {
    const std::string other = CaseChanged(spec, value, upper);
    const absl::Status other_status = ValidateValue(spec, other);
    if (!other_status.ok()) Fail("case change made a valid value invalid", value, other);
    if (!ValuesEqual(spec, value, other)) Fail("case change made a value differ", value, other);
  }
}

void CheckSet(const AttributeSpec& spec, const std::vector<std::string>& values) {
  const absl::Status status = ValidateValues(spec, values);
  CheckError(spec, status, values.empty() ? "" : values[0]);
  std::vector<std::string> reversed(values.rbegin(), values.rend());
  if (!SetsEqual(spec, values, reversed)) Fail("SetsEqual depends on order", "");
  if (!values.empty()) {
    std::vector<std::string> repeated = values;
    repeated.push_back(values[0]);
    if (!SetsEqual(spec, values, repeated)) Fail("SetsEqual depends on repeats", values[0]);
  }
  if (IsProxy(spec) && !ValidateProxyAddresses(values).ok() != !status.ok()) {
    Fail("ValidateValues and ValidateProxyAddresses disagree", "");
  }
  if (!status.ok()) return;
  if (!spec.multi_valued && values.size() > 1) Fail("two values for a single-valued attribute", "");
  int primaries = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!ValidateValue(spec, values[i]).ok()) Fail("valid set with an invalid value", values[i]);
    primaries += absl::StartsWith(values[i], "SMTP:");
    for (size_t j = i + 1; j < values.size(); ++j) {
      if (ValuesEqual(spec, values[i], values[j])) Fail("valid set repeats", values[i], values[j]);
    }
  }
  if (IsProxy(spec) && !values.empty()) {
    if (primaries != 1) Fail("valid proxyAddresses set without exactly one primary", values[0]);
    const std::string primary = PrimarySmtpAddress(values);
    bool found = false;
    for (const std::string& v : values) found |= v == "SMTP:" + primary;
    if (primary.empty() || !found) Fail("PrimarySmtpAddress is not the primary", primary);
  }
  if (!values.empty()) {
    std::vector<std::string> doubled = values;
    doubled.push_back(CaseChanged(spec, values.back(), /*upper=*/true));
    if (ValidateValues(spec, doubled).ok())
      Fail("a set with a value twice is valid", values.back());
  }
}

}  // namespace
}  // namespace writeback

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writeback;
  FuzzedDataProvider input(data, size);
  const std::vector<AttributeSpec>& all = AttributeCatalog::Default().all();
  const AttributeSpec& spec = all[input.ConsumeIntegralInRange<size_t>(0, all.size() - 1)];
  std::vector<std::string> values(input.ConsumeIntegralInRange<size_t>(0, 6));
  for (std::string& v : values) v = input.ConsumeRandomLengthString(1200);
  for (const std::string& v : values) CheckValue(spec, v);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& a = values[i];
    const std::string& b = values[(i + 1) % values.size()];
    const std::string& c = values[(i + 2) % values.size()];
    if (ValuesEqual(spec, a, b) != ValuesEqual(spec, b, a)) Fail("not symmetric", a, b);
    if (ValuesEqual(spec, a, b) && ValuesEqual(spec, b, c) && !ValuesEqual(spec, a, c)) {
      Fail("not transitive", a, c);
    }
  }
  CheckSet(spec, values);
  return 0;
}
