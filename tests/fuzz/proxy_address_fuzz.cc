// Fuzz target: proxyAddresses parsing and the agent's address rules
// (agent/apply/address_rules.h, common/attributes/validation.h, the domain
// check of agent/apply/local_policy.h).
//
// Input: up to 8 proxyAddresses values, owned address types and one
// accepted domain (FuzzedDataProvider). Checks, beyond "no crash" under ASan
// and UBSan:
// - parse -> format round trip: AddressType is the upper-cased text before
//   the first ':', and TYPE + ':' + address (SmtpAddress) gives the value
//   back; DomainOf(address) is what follows its last '@';
// - a valid value has a 1-9 character alphanumeric type and a non-empty
//   address; a valid SMTP value's address is a valid `mail` value (when it
//   fits mail's rangeUpper) and its domain has two or more labels; its
//   primary and secondary forms are both valid, never ValuesEqual, and never
//   valid together in one set;
// - EscapeFilterValue leaves no '*', '(', ')' or NUL and unescapes back;
// - OfTypes and NotOfTypes split a set into two parts that keep its order;
// - PolicyChecker with accepted_domains passes a proxyAddresses change only
//   when every owned SMTP value's domain is the accepted one (any case).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "agent/apply/address_rules.h"
#include "agent/apply/local_policy.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {
namespace {

void Fail(const char* what, std::string_view a, std::string_view b = {}) {
  std::cerr << "property violated: " << what << "\n  a: \"" << a << "\"\n  b: \"" << b << "\"\n";
  std::abort();
}

const AttributeSpec& Spec(const char* name) { return *AttributeCatalog::Default().Find(name); }

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reverses EscapeFilterValue: "\xx" (lower-case hex) is one byte.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void CheckValue(const std::string& value) {
  const size_t colon = value.find(':');
  const std::string type = AddressType(value);
  const std::string expected_type =
      colon == std::string::npos ? "" : absl::AsciiStrToUpper(value.substr(0, colon));
  if (type != expected_type) Fail("AddressType", value, type);
  const std::string address = SmtpAddress(value);
  if (type == "SMTP") {
    if (value.substr(0, 5) + address != value) Fail("SMTP round trip", value, address);
  } else if (!address.empty()) {
    Fail("SmtpAddress of a non-SMTP value", value, address);
  }
  const size_t at = address.rfind('@');
  if (DomainOf(address) != (at == std::string::npos ? "" : address.substr(at + 1))) {
    Fail("DomainOf", address, DomainOf(address));
  }
  const std::string escaped = EscapeFilterValue(value);
  for (char c : escaped) {
    if (c == '*' || c == '(' || c == ')' || c == '\0') Fail("unescaped filter character", value);
  }
  if (Unescape(escaped) != value) Fail("filter escape round trip", value, escaped);

  const AttributeSpec& proxy = Spec("proxyAddresses");
  if (!ValidateValue(proxy, value).ok()) return;
  if (colon == std::string::npos || colon == 0 || colon > 9 || colon + 1 == value.size()) {
    Fail("valid value without TYPE:address", value);
  }
  if (type != "SMTP") return;
  if (address.empty()) Fail("valid SMTP value without an address", value);
  const std::string domain = DomainOf(address);
  if (domain.find('.') == std::string::npos) Fail("valid SMTP domain of one label", value, domain);
  if (CodePoints(address) <= Spec("mail").max_length) {
    const absl::Status mail = ValidateValue(Spec("mail"), address);
    if (!mail.ok())
      Fail("valid SMTP proxy address is not a valid mail", value, std::string(mail.message()));
  }
  const std::string primary = "SMTP:" + address;
  const std::string secondary = "smtp:" + address;
  if (!ValidateValue(proxy, primary).ok() || !ValidateValue(proxy, secondary).ok()) {
    Fail("primary and secondary forms differ in validity", value);
  }
  if (ValuesEqual(proxy, primary, secondary)) Fail("SMTP: equals smtp:", value);
  if (ValidateProxyAddresses({primary, secondary}).ok()) Fail("SMTP: and smtp: together", value);
}

}  // namespace
}  // namespace writeback::agent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writeback::agent;
  FuzzedDataProvider input(data, size);
  std::vector<std::string> values(input.ConsumeIntegralInRange<size_t>(0, 8));
  for (std::string& v : values) v = input.ConsumeRandomLengthString(400);
  std::vector<std::string> types;
  const size_t type_count = input.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < type_count; ++i) types.push_back(input.ConsumeRandomLengthString(12));
  const std::string domain = input.ConsumeRandomLengthString(64);

  for (const std::string& v : values) CheckValue(v);

  // OfTypes / NotOfTypes: a split that keeps the order.
  std::vector<std::string> upper_types;
  for (const std::string& t : types) upper_types.push_back(absl::AsciiStrToUpper(t));
  const std::vector<std::string> of = OfTypes(values, upper_types);
  const std::vector<std::string> not_of = NotOfTypes(values, upper_types);
  if (upper_types.empty()) {
    if (of != values || !not_of.empty()) Fail("empty types must keep every value", "");
  } else {
    size_t i = 0, j = 0;
    for (const std::string& v : values) {
      if (i < of.size() && of[i] == v) {
        ++i;
      } else if (j < not_of.size() && not_of[j] == v) {
        ++j;
      } else {
        Fail("OfTypes and NotOfTypes do not split the set", v);
      }
    }
    if (i != of.size() || j != not_of.size()) Fail("OfTypes/NotOfTypes sizes", "");
  }

  // The accepted-domain rule of the local policy.
  LocalPolicy policy;
  policy.accepted_domains = {domain};
  policy.owned_address_types = types;
  policy.max_values_per_attribute = 0;
  if (!ValidateLocalPolicy(policy).ok()) return 0;
  const PolicyChecker checker(policy);
  writeback::v1::Job job;
  job.set_job_id("fuzz");
  writeback::v1::AttributeChange* change = job.add_changes();
  change->set_attribute("proxyAddresses");
  for (const std::string& v : values) change->add_desired(v);
  if (!checker.CheckJob(job).ok()) return 0;
  if (!writeback::ValidateProxyAddresses(values).ok()) Fail("policy passed an invalid set", "");
  for (const std::string& v : values) {
    const std::string address = SmtpAddress(v);
    if (address.empty() || !checker.OwnsAddress(v)) continue;
    if (!absl::EqualsIgnoreCase(DomainOf(address), domain)) {
      Fail("policy passed an address outside the accepted domain", v, domain);
    }
  }
  return 0;
}
