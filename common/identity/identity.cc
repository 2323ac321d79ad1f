#include "common/identity/identity.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace writeback {
namespace {

// Debian's Abseil has its own absl::string_view, which does not convert from
// std::string_view, so this file works in absl::string_view throughout.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr absl::string_view kScheme = "writeback://";
constexpr absl::string_view kAgentForm = "writeback://forest/<forest DNS name>/agent/<agent id>";
constexpr absl::string_view kAdminForm = "writeback://admin/<name>";
constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;

absl::Status Bad(absl::string_view what, absl::string_view uri, absl::string_view why,
                 absl::string_view form) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", absl::CEscape(uri), "\" ", why, "; expected ", form));
}

// Removes a case-insensitive "writeback://" prefix.
bool ConsumeScheme(absl::string_view* uri) {
  if (uri->size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(uri->substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  uri->remove_prefix(kScheme.size());
  return true;
}

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsValidDnsName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxDnsName) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > kMaxDnsLabel) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<AgentIdentity> ParseAgentIdentity(std::string_view std_uri) {
  constexpr absl::string_view kWhat = "agent identity";
  const absl::string_view uri = Av(std_uri);
  absl::string_view rest = uri;
  if (!ConsumeScheme(&rest)) return Bad(kWhat, uri, "does not start with writeback://", kAgentForm);
  if (!absl::ConsumePrefix(&rest, "forest/")) {
    return Bad(kWhat, uri, "has no \"forest/\" after the scheme", kAgentForm);
  }
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return Bad(kWhat, uri, "has no agent part", kAgentForm);
  const absl::string_view forest = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  if (!IsValidDnsName(forest)) {
    return Bad(kWhat, uri,
               absl::StrCat("has forest \"", absl::CEscape(forest),
                            "\", which is not a DNS name (labels of letters, digits and '-')"),
               kAgentForm);
  }
  if (!absl::ConsumePrefix(&rest, "agent/")) {
    return Bad(kWhat, uri, "has no \"agent/\" after the forest", kAgentForm);
  }
  if (!IsValidId(rest)) {
    return Bad(kWhat, uri,
               absl::StrCat("has agent id \"", absl::CEscape(rest),
                            "\"; an agent id is 1 to 64 characters of A-Z a-z 0-9 . _ -"),
               kAgentForm);
  }
  return AgentIdentity{absl::AsciiStrToLower(forest), std::string(rest)};
}

std::string AgentIdentityUri(const AgentIdentity& identity) {
  return absl::StrCat(kScheme, "forest/", identity.forest, "/agent/", identity.agent_id);
}

absl::StatusOr<std::string> ParseAdminIdentity(std::string_view std_uri) {
  constexpr absl::string_view kWhat = "admin identity";
  const absl::string_view uri = Av(std_uri);
  absl::string_view rest = uri;
  if (!ConsumeScheme(&rest)) return Bad(kWhat, uri, "does not start with writeback://", kAdminForm);
  if (!absl::ConsumePrefix(&rest, "admin/")) {
    return Bad(kWhat, uri, "has no \"admin/\" after the scheme", kAdminForm);
  }
  if (!IsValidId(rest)) {
    return Bad(kWhat, uri,
               absl::StrCat("has name \"", absl::CEscape(rest),
                            "\"; an admin name is 1 to 64 characters of A-Z a-z 0-9 . _ -"),
               kAdminForm);
  }
  return std::string(rest);
}

}  // namespace writeback
