#include "agent/apply/local_policy.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "agent/apply/address_rules.h"
#include "common/attributes/validation.h"

namespace writeback::agent {
namespace {

// Debian's Abseil has its own string_view type: convert explicitly.
std::string S(std::string_view s) { return std::string(s); }

// A DNS name: dot-separated labels of letters, digits and hyphens (or
// non-ASCII UTF-8), each 1-63 bytes, not starting or ending with a hyphen.
bool IsDomainName(const std::string& domain) {
  if (domain.empty() || domain.size() > 255) return false;
  size_t label = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (domain[i - 1] == '-' || domain[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(domain[i]);
    if (!(absl::ascii_isalnum(c) || c == '-' || c >= 0x80)) return false;
    ++label;
  }
  return true;
}

bool IsAddressType(const std::string& type) {
  if (type.empty() || type.size() > 9) return false;
  for (char c : type) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool NormalizeDn(std::string_view dn, std::vector<std::string>* rdns) {
  rdns->clear();
  std::vector<std::string> parts;  // of the RDN being read
  std::string type;
  std::string value;
  size_t value_keep = 0;  // value length without trailing unescaped spaces
  bool in_value = false;
  bool any = false;

  auto finish_part = [&]() -> bool {
    std::string t(absl::StripAsciiWhitespace(type));
    value.resize(value_keep);
    if (t.empty() || value.empty()) return false;
    // '+' joins the parts of a multi-valued RDN below, so a value's own '+'
    // (and backslash, to keep that unambiguous) stays escaped: the OU named
    // "a+ou=b" is one value, not the two of OU=a+OU=b.
    std::string escaped;
    for (char c : absl::AsciiStrToLower(value)) {
      if (c == '+') {
        escaped += "\\2b";
      } else if (c == '\\') {
        escaped += "\\5c";
      } else {
        escaped += c;
      }
    }
    parts.push_back(absl::StrCat(absl::AsciiStrToLower(t), "=", escaped));
    type.clear();
    value.clear();
    value_keep = 0;
    in_value = false;
    return true;
  };
  auto finish_rdn = [&]() {
    std::sort(parts.begin(), parts.end());
    rdns->push_back(absl::StrJoin(parts, "+"));
    parts.clear();
  };

  for (size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    any = any || c != ' ';
    if (!in_value) {
      if (c == '=') {
        in_value = true;
      } else if (c == ',' || c == ';' || c == '+' || c == '\\' || c == '"') {
        return false;
      } else {
        type += c;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= dn.size()) return false;
      const int hi = HexDigit(dn[i + 1]);
      const int lo = i + 2 < dn.size() ? HexDigit(dn[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        value += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        value += dn[i + 1];
        i += 1;
      }
      value_keep = value.size();
      continue;
    }
    if (c == '"') return false;  // RFC 1779 quoting: never produced by AD
    if (c == ',' || c == ';' || c == '+') {
      if (!finish_part()) return false;
      if (c != '+') finish_rdn();
      continue;
    }
    if (c == ' ' && value.empty()) continue;  // leading space
    value += c;
    if (c != ' ') value_keep = value.size();
  }
  if (!any) return true;  // the empty (root) DN
  if (!in_value || !finish_part()) return false;
  finish_rdn();
  return true;
}

absl::Status ValidateLocalPolicy(const LocalPolicy& policy) {
  const AttributeCatalog& catalog = AttributeCatalog::Default();
  for (const std::string& name : policy.allowed_attributes) {
    if (catalog.Find(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local policy: allowed attribute '", name,
          "' is not an attribute writeback carries"));
    }
  }
  std::vector<std::string> rdns;
  for (const std::string& ou : policy.scope_ous) {
    if (!NormalizeDn(ou, &rdns) || rdns.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local policy: scope OU '", ou, "' is not a distinguished name"));
    }
  }
  for (const std::string& domain : policy.accepted_domains) {
    if (!IsDomainName(domain)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local policy: accepted domain '", domain,
          "' is not a domain name (write it like corp.example.com, without '@')"));
    }
  }
  for (const std::string& type : policy.owned_address_types) {
    if (!IsAddressType(type)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local policy: owned address type '", type,
          "' is not a proxyAddresses type (1-9 letters or digits, such as SMTP or SIP)"));
    }
  }
  if (policy.max_writes_per_window > 0 && policy.write_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "local policy: max_writes_per_window needs a write window of at least one second");
  }
  return absl::OkStatus();
}

PolicyChecker::PolicyChecker(const LocalPolicy& policy,
                             const AttributeCatalog& catalog)
    : catalog_(&catalog), max_values_(policy.max_values_per_attribute) {
  for (const std::string& type : policy.owned_address_types) {
    owned_types_.push_back(absl::AsciiStrToUpper(type));
  }
  for (const std::string& domain : policy.accepted_domains) {
    accepted_domains_.push_back(absl::AsciiStrToLower(domain));
  }
  std::vector<std::string> names = policy.allowed_attributes;
  if (names.empty()) names = catalog.DefaultAllowlist();
  std::set<const AttributeSpec*> chosen;
  for (const std::string& name : names) {
    if (const AttributeSpec* spec = catalog.Find(name)) chosen.insert(spec);
  }
  for (const AttributeSpec& spec : catalog.all()) {
    if (chosen.count(&spec) > 0) allowed_.push_back(&spec);
  }
  scoped_ = !policy.scope_ous.empty();
  for (const std::string& ou : policy.scope_ous) {
    std::vector<std::string> rdns;
    if (NormalizeDn(ou, &rdns) && !rdns.empty()) scopes_.push_back(rdns);
  }
}

const AttributeSpec* PolicyChecker::FindAllowed(std::string_view name) const {
  const AttributeSpec* spec = catalog_->Find(name);
  if (spec == nullptr) return nullptr;
  for (const AttributeSpec* allowed : allowed_) {
    if (allowed == spec) return spec;
  }
  return nullptr;
}

absl::Status PolicyChecker::CheckJob(const v1::Job& job, std::string* attribute) const {
  std::set<const AttributeSpec*> seen;
  for (const v1::AttributeChange& change : job.changes()) {
    if (attribute != nullptr) *attribute = change.attribute();  // a refusal returns now
    const AttributeSpec* spec = catalog_->Find(change.attribute());
    if (spec == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat(
          "attribute '", change.attribute(),
          "' is not one writeback carries; this agent never writes it"));
    }
    if (FindAllowed(spec->name) == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat(
          "attribute ", S(spec->name),
          " is not in this agent's local allowlist; add it to the agent's "
          "allowed attributes if it should be written"));
    }
    if (!seen.insert(spec).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute ", S(spec->name), " appears twice in job ", job.job_id()));
    }
    std::vector<std::string> desired(change.desired().begin(),
                                     change.desired().end());
    absl::Status valid = ValidateValues(*spec, desired);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("refused desired value: ", valid.message()));
    }
    if (max_values_ > 0 && desired.size() > max_values_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "attribute ", S(spec->name), " of job ", job.job_id(), ": ", desired.size(),
          " values exceed this agent's limit of ", max_values_,
          " values per attribute; raise max_values_per_attribute if this is expected"));
    }
    WB_RETURN_IF_ERROR(CheckDomains(*spec, desired));
  }
  if (attribute != nullptr) attribute->clear();
  return absl::OkStatus();
}

bool PolicyChecker::OwnsAddress(std::string_view proxy_address) const {
  if (owned_types_.empty()) return true;
  const std::string type = AddressType(proxy_address);
  return std::find(owned_types_.begin(), owned_types_.end(), type) != owned_types_.end();
}

absl::Status PolicyChecker::CheckDomains(const AttributeSpec& spec,
                                         const std::vector<std::string>& desired) const {
  if (accepted_domains_.empty()) return absl::OkStatus();
  const bool is_mail = absl::EqualsIgnoreCase(S(spec.name), "mail");
  const bool is_proxy = absl::EqualsIgnoreCase(S(spec.name), "proxyAddresses");
  if (!is_mail && !is_proxy) return absl::OkStatus();
  for (const std::string& value : desired) {
    std::string address = value;
    if (is_proxy) {
      if (!OwnsAddress(value)) continue;  // never written
      address = SmtpAddress(value);
      if (address.empty()) continue;      // not an SMTP value
    }
    const std::string domain = DomainOf(address);
    if (std::find(accepted_domains_.begin(), accepted_domains_.end(),
                  absl::AsciiStrToLower(domain)) == accepted_domains_.end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          S(spec.name), " value \"", value, "\": domain ", domain,
          " is not one of this forest's accepted domains (",
          absl::StrJoin(accepted_domains_, ", "),
          "); nothing written; add it to the agent's accepted_domains if the forest "
          "accepts mail for it"));
    }
  }
  return absl::OkStatus();
}

std::string PolicyChecker::NotAUserAccount(const std::vector<std::string>& object_classes) {
  if (object_classes.empty()) return "";
  bool user = false;
  for (const std::string& c : object_classes) {
    // A computer account is a user by class inheritance; never a mailbox.
    if (absl::EqualsIgnoreCase(c, "computer")) return "a computer account";
    user = user || absl::EqualsIgnoreCase(c, "user");
  }
  if (user) return "";
  return absl::StrCat("a ", object_classes.back(), " (objectClass ",
                      absl::StrJoin(object_classes, ", "), "), not a user account");
}

bool PolicyChecker::InScope(std::string_view dn) const {
  if (!scoped_) return true;
  std::vector<std::string> rdns;
  if (!NormalizeDn(dn, &rdns)) return false;
  for (const std::vector<std::string>& scope : scopes_) {
    if (rdns.size() >= scope.size() &&
        std::equal(scope.begin(), scope.end(), rdns.end() - scope.size())) {
      return true;
    }
  }
  return false;
}

}  // namespace writeback::agent
