#include "agent/directory/ldap_operations.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/directory/ldap_errors.h"

namespace writeback::agent::internal {
namespace {

struct MessageFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageFree>;

std::string TakeString(char* s) {
  std::string out = s != nullptr ? s : "";
  if (s != nullptr) ldap_memfree(s);
  return out;
}

int ResultCode(LDAP* ld) {
  int rc = LDAP_OTHER;
  ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
  return rc;
}

DirectoryEntry ParseEntry(LDAP* ld, LDAPMessage* msg) {
  DirectoryEntry entry;
  entry.dn = TakeString(ldap_get_dn(ld, msg));
  BerElement* ber = nullptr;
  for (char* a = ldap_first_attribute(ld, msg, &ber); a != nullptr;
       a = ldap_next_attribute(ld, msg, ber)) {
    std::vector<std::string>& values =
        entry.attributes[absl::AsciiStrToLower(a)];
    struct berval** vals = ldap_get_values_len(ld, msg, a);
    for (int i = 0; vals != nullptr && vals[i] != nullptr; ++i) {
      values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
    }
    ldap_value_free_len(vals);
    ldap_memfree(a);
  }
  if (ber != nullptr) ber_free(ber, 0);
  return entry;
}

int ModOpCode(ModOp op) {
  switch (op) {
    case ModOp::kAdd: return LDAP_MOD_ADD;
    case ModOp::kDelete: return LDAP_MOD_DELETE;
    case ModOp::kReplace: return LDAP_MOD_REPLACE;
  }
  return LDAP_MOD_REPLACE;
}

}  // namespace

std::string Diagnostic(LDAP* ld) {
  char* msg = nullptr;
  ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
  return TakeString(msg);
}

namespace {

// One search with `controls` (may be null); the response controls of its
// result go to *response_controls when asked for (free them with
// ldap_controls_free).
absl::StatusOr<std::vector<DirectoryEntry>> RunSearch(
    LDAP* ld, const std::string& base, int scope, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit, LDAPControl** controls,
    absl::Duration timeout, LDAPControl*** response_controls) {
  const std::string what = absl::StrCat("LDAP search under '", base, "' failed");
  std::vector<char*> attrs;
  for (const std::string& a : attributes) attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);
  struct timeval tv = absl::ToTimeval(timeout);
  int msgid = 0;
  int rc = ldap_search_ext(ld, base.c_str(), scope, filter.c_str(), attrs.data(),
                           0, controls, nullptr, &tv, size_limit, &msgid);
  if (rc != LDAP_SUCCESS) return LdapStatus(rc, what, Diagnostic(ld));
  LDAPMessage* raw = nullptr;
  rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &raw);
  MessagePtr result(raw);
  if (rc == 0) {
    ldap_abandon_ext(ld, msgid, nullptr, nullptr);
    return LdapStatus(LDAP_TIMEOUT, what);
  }
  if (rc < 0) return LdapStatus(ResultCode(ld), what, Diagnostic(ld));

  std::vector<DirectoryEntry> entries;
  int code = LDAP_OTHER;
  std::string diagnostic = "no search result received";
  for (LDAPMessage* m = ldap_first_message(ld, result.get()); m != nullptr;
       m = ldap_next_message(ld, m)) {
    switch (ldap_msgtype(m)) {
      case LDAP_RES_SEARCH_ENTRY:
        entries.push_back(ParseEntry(ld, m));
        break;
      case LDAP_RES_SEARCH_RESULT: {
        char* diag = nullptr;
        int prc = ldap_parse_result(ld, m, &code, nullptr, &diag, nullptr,
                                    response_controls, 0);
        diagnostic = TakeString(diag);
        if (prc != LDAP_SUCCESS) code = prc;
        break;
      }
      default:  // continuation references: not followed
        break;
    }
  }
  // A size-limited search returns what it got; the caller asked for a limit.
  if (code != LDAP_SUCCESS && code != LDAP_SIZELIMIT_EXCEEDED) {
    return LdapStatus(code, what, diagnostic);
  }
  return entries;
}

struct ControlsFree {
  void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};

}  // namespace

absl::StatusOr<std::vector<DirectoryEntry>> SearchOn(
    LDAP* ld, const std::string& base, int scope, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit,
    absl::Duration timeout) {
  return RunSearch(ld, base, scope, filter, attributes, size_limit, nullptr, timeout, nullptr);
}

absl::StatusOr<std::vector<DirectoryEntry>> SearchPageOn(
    LDAP* ld, const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int page_size, std::string* cookie,
    absl::Duration timeout) {
  struct berval in = {static_cast<ber_len_t>(cookie->size()), cookie->data()};
  LDAPControl* page = nullptr;
  // Critical: a DC that cannot page refuses rather than answering at once.
  int rc = ldap_create_page_control(ld, page_size, cookie->empty() ? nullptr : &in, 1, &page);
  if (rc != LDAP_SUCCESS) return LdapStatus(rc, "LDAP: cannot build the paged results control");
  LDAPControl* controls[] = {page, nullptr};
  LDAPControl** raw_response = nullptr;
  absl::StatusOr<std::vector<DirectoryEntry>> entries =
      RunSearch(ld, base, LDAP_SCOPE_SUBTREE, filter, attributes, 0, controls, timeout,
                &raw_response);
  ldap_control_free(page);
  std::unique_ptr<LDAPControl*, ControlsFree> response(raw_response);
  if (!entries.ok()) return entries;
  LDAPControl* answer = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, response.get(), nullptr);
  cookie->clear();
  if (answer == nullptr) return entries;  // no more pages
  ber_int_t estimate = 0;
  struct berval next = {0, nullptr};
  rc = ldap_parse_pageresponse_control(ld, answer, &estimate, &next);
  if (rc != LDAP_SUCCESS) {
    return LdapStatus(rc, absl::StrCat("LDAP search under '", base,
                                       "': unreadable paged results response"));
  }
  if (next.bv_val != nullptr) {
    cookie->assign(next.bv_val, next.bv_len);
    ber_memfree(next.bv_val);
  }
  return entries;
}

absl::StatusOr<int> SendModify(LDAP* ld, const std::string& dn,
                               const std::vector<Modification>& mods) {
  // Storage first, pointers second: the vectors do not reallocate afterwards.
  // libldap encodes the request inside ldap_modify_ext, so the storage only
  // has to live until it returns.
  std::vector<std::vector<struct berval>> values(mods.size());
  std::vector<std::vector<struct berval*>> value_ptrs(mods.size());
  std::vector<LDAPMod> ldap_mods(mods.size());
  std::vector<LDAPMod*> mod_ptrs;
  for (size_t i = 0; i < mods.size(); ++i) {
    for (const std::string& v : mods[i].values) {
      values[i].push_back({static_cast<ber_len_t>(v.size()),
                           const_cast<char*>(v.data())});
    }
    for (struct berval& bv : values[i]) value_ptrs[i].push_back(&bv);
    value_ptrs[i].push_back(nullptr);
    LDAPMod& m = ldap_mods[i];
    m.mod_op = ModOpCode(mods[i].op) | LDAP_MOD_BVALUES;
    m.mod_type = const_cast<char*>(mods[i].attribute.c_str());
    m.mod_bvalues = values[i].empty() ? nullptr : value_ptrs[i].data();
    mod_ptrs.push_back(&m);
  }
  mod_ptrs.push_back(nullptr);
  int msgid = 0;
  int rc = ldap_modify_ext(ld, dn.c_str(), mod_ptrs.data(), nullptr, nullptr,
                           &msgid);
  if (rc != LDAP_SUCCESS) {
    return LdapStatus(rc, absl::StrCat("LDAP modify of ", dn, " failed"), Diagnostic(ld));
  }
  return msgid;
}

absl::StatusOr<LdapResult> ParseModifyResult(LDAP* ld, LDAPMessage* message,
                                             const std::string& dn) {
  LdapResult result;
  char* matched = nullptr;
  char* diag = nullptr;
  int rc = ldap_parse_result(ld, message, &result.code, &matched, &diag, nullptr,
                             nullptr, /*freeit=*/1);
  result.matched_dn = TakeString(matched);
  result.diagnostic = TakeString(diag);
  if (rc != LDAP_SUCCESS) {
    return LdapStatus(rc, absl::StrCat("LDAP modify of ", dn, " failed"), Diagnostic(ld));
  }
  return result;
}

absl::StatusOr<LdapResult> ModifyOn(LDAP* ld, const std::string& dn,
                                    const std::vector<Modification>& mods,
                                    absl::Duration timeout) {
  const std::string what = absl::StrCat("LDAP modify of ", dn, " failed");
  absl::StatusOr<int> msgid = SendModify(ld, dn, mods);
  if (!msgid.ok()) return msgid.status();
  struct timeval tv = absl::ToTimeval(timeout);
  LDAPMessage* raw = nullptr;
  int rc = ldap_result(ld, *msgid, LDAP_MSG_ALL, &tv, &raw);
  if (rc == 0) {
    ldap_abandon_ext(ld, *msgid, nullptr, nullptr);
    return LdapStatus(LDAP_TIMEOUT, what);
  }
  if (rc < 0) return LdapStatus(ResultCode(ld), what, Diagnostic(ld));
  return ParseModifyResult(ld, raw, dn);
}

}  // namespace writeback::agent::internal
