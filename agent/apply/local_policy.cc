#include "agent/apply/local_policy.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/attributes/validation.h"

namespace writeback::agent {
namespace {

// Debian's Abseil has its own string_view type: convert explicitly.
std::string S(std::string_view s) { return std::string(s); }

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
    parts.push_back(absl::StrCat(absl::AsciiStrToLower(t), "=",
                                 absl::AsciiStrToLower(value)));
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
  return absl::OkStatus();
}

PolicyChecker::PolicyChecker(const LocalPolicy& policy,
                             const AttributeCatalog& catalog)
    : catalog_(&catalog) {
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

absl::Status PolicyChecker::CheckJob(const v1::Job& job) const {
  std::set<const AttributeSpec*> seen;
  for (const v1::AttributeChange& change : job.changes()) {
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
  }
  return absl::OkStatus();
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
