#include "agent/apply/address_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace writeback::agent {
namespace {

bool HasType(const std::string& value, const std::vector<std::string>& types) {
  const std::string type = AddressType(value);
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

std::string AddressType(std::string_view proxy_address) {
  const size_t colon = proxy_address.find(':');
  if (colon == std::string_view::npos) return "";
  return absl::AsciiStrToUpper(std::string(proxy_address.substr(0, colon)));
}

std::string SmtpAddress(std::string_view proxy_address) {
  if (AddressType(proxy_address) != "SMTP") return "";
  return std::string(proxy_address.substr(5));
}

std::string DomainOf(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  return std::string(address.substr(at + 1));
}

std::string EscapeFilterValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      const auto b = static_cast<unsigned char>(c);
      out += '\\';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> OfTypes(const std::vector<std::string>& values,
                                 const std::vector<std::string>& types) {
  if (types.empty()) return values;
  std::vector<std::string> out;
  for (const std::string& v : values) {
    if (HasType(v, types)) out.push_back(v);
  }
  return out;
}

std::vector<std::string> NotOfTypes(const std::vector<std::string>& values,
                                    const std::vector<std::string>& types) {
  std::vector<std::string> out;
  if (types.empty()) return out;
  for (const std::string& v : values) {
    if (!HasType(v, types)) out.push_back(v);
  }
  return out;
}

}  // namespace writeback::agent
