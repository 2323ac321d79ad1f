#include "tests/bench/raw_ldap_client.h"

#include <ldap.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace writeback::bench {
namespace {

absl::Status LdapError(LDAP* ld, int rc, const std::string& what) {
  char* diag = nullptr;
  if (ld != nullptr) ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
  std::string text = absl::StrCat(what, ": ", ldap_err2string(rc), " (", rc, ")");
  if (diag != nullptr) {
    if (*diag != '\0') absl::StrAppend(&text, ": ", diag);
    ldap_memfree(diag);
  }
  return absl::UnavailableError(text);
}

int ResultCodeOf(LDAP* ld) {
  int rc = LDAP_OTHER;
  ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
  return rc;
}

// An LDAPMod array over borrowed strings, valid while the RawModify lives.
class ModArray {
 public:
  explicit ModArray(const std::vector<RawMod>& mods) {
    size_t values = 0;
    for (const RawMod& m : mods) values += m.values.size() + 1;
    bervals_.reserve(values);
    value_ptrs_.reserve(values);
    mods_.resize(mods.size());
    for (size_t i = 0; i < mods.size(); ++i) {
      const RawMod& m = mods[i];
      LDAPMod& out = mods_[i];
      int op = m.op == RawMod::Op::kAdd      ? LDAP_MOD_ADD
               : m.op == RawMod::Op::kDelete ? LDAP_MOD_DELETE
                                             : LDAP_MOD_REPLACE;
      out.mod_op = op | LDAP_MOD_BVALUES;
      out.mod_type = const_cast<char*>(m.attribute.c_str());
      if (m.values.empty()) {
        out.mod_bvalues = nullptr;
        continue;
      }
      size_t first = value_ptrs_.size();
      for (const std::string& v : m.values) {
        bervals_.push_back({static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});
        value_ptrs_.push_back(&bervals_.back());
      }
      value_ptrs_.push_back(nullptr);
      out.mod_bvalues = &value_ptrs_[first];
    }
    for (LDAPMod& m : mods_) ptrs_.push_back(&m);
    ptrs_.push_back(nullptr);
  }
  LDAPMod** get() { return ptrs_.data(); }

 private:
  std::vector<berval> bervals_;  // reserved up front: pointers stay valid
  std::vector<berval*> value_ptrs_;
  std::vector<LDAPMod> mods_;
  std::vector<LDAPMod*> ptrs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RawLdapClient>> RawLdapClient::Connect(const Options& options) {
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, options.url.c_str());
  if (rc != LDAP_SUCCESS) return LdapError(nullptr, rc, "ldap_initialize " + options.url);
  std::unique_ptr<RawLdapClient> client(new RawLdapClient(ld, options));
  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  const struct timeval tv = absl::ToTimeval(options.timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  if (!options.ca_file.empty()) {
    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options.ca_file.c_str());
  }
  const int demand = LDAP_OPT_X_TLS_DEMAND;
  ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
  const int is_server = 0;
  ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
  rc = ldap_connect(ld);
  if (rc != LDAP_SUCCESS) return LdapError(ld, rc, "connect to " + options.url);
  if (options.start_tls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return LdapError(ld, rc, "StartTLS with " + options.url);
  }
  berval cred{static_cast<ber_len_t>(options.password.size()),
              const_cast<char*>(options.password.data())};
  rc = ldap_sasl_bind_s(ld, options.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                        nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(ld, rc, "simple bind as " + options.bind_dn);
  return client;
}

RawLdapClient::~RawLdapClient() { ldap_unbind_ext_s(ld_, nullptr, nullptr); }

absl::StatusOr<PipelineStats> RawLdapClient::ModifyPipelined(const std::vector<RawModify>& modifies,
                                                             size_t window) {
  window = std::max<size_t>(window, 1);
  PipelineStats stats;
  std::set<int> outstanding;
  size_t next = 0;
  const absl::Time start = absl::Now();
  while (next < modifies.size() || !outstanding.empty()) {
    while (next < modifies.size() && outstanding.size() < window) {
      ModArray mods(modifies[next].mods);
      int msgid = 0;
      int rc =
          ldap_modify_ext(ld_, modifies[next].dn.c_str(), mods.get(), nullptr, nullptr, &msgid);
      if (rc != LDAP_SUCCESS) return LdapError(ld_, rc, "send modify " + modifies[next].dn);
      outstanding.insert(msgid);
      ++stats.sent;
      ++next;
    }
    // Wait for one result, then take whatever else has arrived.
    struct timeval wait = absl::ToTimeval(options_.timeout);
    bool first = true;
    while (!outstanding.empty()) {
      struct timeval zero = {0, 0};
      LDAPMessage* res = nullptr;
      int type = ldap_result(ld_, LDAP_RES_ANY, LDAP_MSG_ONE, first ? &wait : &zero, &res);
      if (type == -1) return LdapError(ld_, ResultCodeOf(ld_), "waiting for modify results");
      if (type == 0) {
        if (first) return absl::DeadlineExceededError("no modify result within the hang guard");
        break;
      }
      first = false;
      int msgid = ldap_msgid(res);
      int code = LDAP_OTHER;
      char* diag = nullptr;
      int rc = ldap_parse_result(ld_, res, &code, nullptr, &diag, nullptr, nullptr, 1);
      if (rc != LDAP_SUCCESS) code = rc;
      if (outstanding.erase(msgid) == 0) {
        if (diag != nullptr) ldap_memfree(diag);
        continue;  // not ours (e.g. a notice of disconnection)
      }
      if (code == LDAP_SUCCESS) {
        ++stats.succeeded;
      } else {
        if (stats.failed++ == 0) {
          stats.first_failure =
              absl::StrCat(ldap_err2string(code), " (", code, "): ", diag ? diag : "");
        }
      }
      if (diag != nullptr) ldap_memfree(diag);
      // Refill as soon as the window has room: keep the DC busy.
      if (next < modifies.size()) break;
    }
  }
  stats.elapsed = absl::Now() - start;
  return stats;
}

absl::StatusOr<absl::Duration> RawLdapClient::MedianRoundTrip(int count) {
  std::vector<absl::Duration> times;
  char* attrs[] = {const_cast<char*>("1.1"), nullptr};
  struct timeval tv = absl::ToTimeval(options_.timeout);
  for (int i = 0; i < std::max(count, 1); ++i) {
    LDAPMessage* res = nullptr;
    const absl::Time start = absl::Now();
    int rc = ldap_search_ext_s(ld_, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr,
                               nullptr, &tv, 0, &res);
    times.push_back(absl::Now() - start);
    if (res != nullptr) ldap_msgfree(res);
    if (rc != LDAP_SUCCESS) return LdapError(ld_, rc, "rootDSE search");
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

absl::StatusOr<std::vector<RawEntry>> RawLdapClient::SearchPaged(
    const std::string& base, const std::string& filter, const std::vector<std::string>& attributes,
    int page_size) {
  std::vector<char*> attrs;
  for (const std::string& a : attributes) attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);
  std::vector<RawEntry> out;
  berval cookie{0, nullptr};
  struct timeval tv = absl::ToTimeval(options_.timeout);
  do {
    LDAPControl* page = nullptr;
    int rc = ldap_create_page_control(ld_, page_size, cookie.bv_val ? &cookie : nullptr, 0, &page);
    if (rc != LDAP_SUCCESS) return LdapError(ld_, rc, "paged results control");
    LDAPControl* controls[] = {page, nullptr};
    LDAPMessage* res = nullptr;
    rc = ldap_search_ext_s(ld_, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                           controls, nullptr, &tv, 0, &res);
    ldap_control_free(page);
    if (cookie.bv_val != nullptr) {
      ber_memfree(cookie.bv_val);
      cookie = {0, nullptr};
    }
    if (rc != LDAP_SUCCESS) {
      if (res != nullptr) ldap_msgfree(res);
      return LdapError(ld_, rc, "search " + base + " " + filter);
    }
    for (LDAPMessage* e = ldap_first_entry(ld_, res); e != nullptr; e = ldap_next_entry(ld_, e)) {
      RawEntry entry;
      char* dn = ldap_get_dn(ld_, e);
      if (dn != nullptr) {
        entry.dn = dn;
        ldap_memfree(dn);
      }
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute(ld_, e, &ber); a != nullptr;
           a = ldap_next_attribute(ld_, e, ber)) {
        std::vector<std::string>& values = entry.attributes[absl::AsciiStrToLower(a)];
        berval** vals = ldap_get_values_len(ld_, e, a);
        for (int i = 0; vals != nullptr && vals[i] != nullptr; ++i) {
          values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
        }
        ldap_value_free_len(vals);
        ldap_memfree(a);
      }
      if (ber != nullptr) ber_free(ber, 0);
      out.push_back(std::move(entry));
    }
    LDAPControl** server_controls = nullptr;
    int code = LDAP_OTHER;
    rc = ldap_parse_result(ld_, res, &code, nullptr, nullptr, nullptr, &server_controls, 1);
    if (rc != LDAP_SUCCESS) return LdapError(ld_, rc, "search result");
    if (code != LDAP_SUCCESS) {
      ldap_controls_free(server_controls);
      return LdapError(ld_, code, "search " + base + " " + filter);
    }
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, server_controls, nullptr);
    if (response != nullptr) {
      ber_int_t estimate = 0;
      rc = ldap_parse_pageresponse_control(ld_, response, &estimate, &cookie);
      if (rc != LDAP_SUCCESS) cookie = {0, nullptr};
    }
    ldap_controls_free(server_controls);
  } while (cookie.bv_val != nullptr && cookie.bv_len > 0);
  if (cookie.bv_val != nullptr) ber_memfree(cookie.bv_val);
  return out;
}

}  // namespace writeback::bench
