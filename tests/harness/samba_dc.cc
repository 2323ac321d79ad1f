#include "tests/harness/samba_dc.h"

#include <ldap.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/harness/certs.h"
#include "tests/harness/process.h"

namespace writeback::testing {
namespace {

constexpr char kLdapCodePayload[] = "writeback.testing/ldap-result-code";

absl::Status LdapError(int rc, const std::string& what, LDAP* ld = nullptr) {
  std::string diag;
  if (ld != nullptr) {
    char* msg = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_SUCCESS &&
        msg != nullptr) {
      diag = absl::StrCat(" (", msg, ")");
      ldap_memfree(msg);
    }
  }
  std::string text = absl::StrCat(what, ": LDAP ", rc, " ", ldap_err2string(rc), diag);
  absl::Status s;
  switch (rc) {
    case LDAP_NO_SUCH_OBJECT: s = absl::NotFoundError(text); break;
    case LDAP_TYPE_OR_VALUE_EXISTS:
    case LDAP_ALREADY_EXISTS: s = absl::AlreadyExistsError(text); break;
    case LDAP_NO_SUCH_ATTRIBUTE: s = absl::FailedPreconditionError(text); break;
    case LDAP_INVALID_SYNTAX:
    case LDAP_CONSTRAINT_VIOLATION:
    case LDAP_UNDEFINED_TYPE:
    case LDAP_OBJECT_CLASS_VIOLATION: s = absl::InvalidArgumentError(text); break;
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_INVALID_CREDENTIALS: s = absl::PermissionDeniedError(text); break;
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
    case LDAP_TIMEOUT: s = absl::UnavailableError(text); break;
    default: s = absl::UnknownError(text);
  }
  s.SetPayload(kLdapCodePayload, absl::Cord(absl::StrCat(rc)));
  return s;
}

// One bound LDAPS connection as Administrator, closed on destruction.
class LdapConn {
 public:
  static absl::StatusOr<std::unique_ptr<LdapConn>> Open(const SambaDc& dc) {
    WB_ASSIGN_OR_RETURN(std::string password, dc.AdminPassword());
    return Open(dc, dc.admin_dn(), password);
  }
  // Simple bind as `bind_dn` instead of Administrator.
  static absl::StatusOr<std::unique_ptr<LdapConn>> Open(const SambaDc& dc,
                                                        const std::string& bind_dn,
                                                        std::string password) {
    auto conn = std::unique_ptr<LdapConn>(new LdapConn());
    int rc = ldap_initialize(&conn->ld_, dc.url().c_str());
    if (rc != LDAP_SUCCESS) return LdapError(rc, "ldap_initialize " + dc.url());
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, new_ctx = 0;
    timeval tv{30, 0};
    ldap_set_option(conn->ld_, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(conn->ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(conn->ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(conn->ld_, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(conn->ld_, LDAP_OPT_X_TLS_CACERTFILE, dc.ca_file().c_str());
    ldap_set_option(conn->ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    rc = ldap_set_option(conn->ld_, LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
    if (rc != LDAP_SUCCESS) return LdapError(rc, "TLS context", conn->ld_);
    berval cred{static_cast<ber_len_t>(password.size()), password.data()};
    rc = ldap_sasl_bind_s(conn->ld_, bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                          nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return LdapError(rc, "bind as " + bind_dn, conn->ld_);
    return conn;
  }
  ~LdapConn() {
    if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }
  LDAP* get() { return ld_; }

 private:
  LdapConn() = default;
  LDAP* ld_ = nullptr;
};

// An LDAPMod array and the storage it points into.
class ModArray {
 public:
  explicit ModArray(const std::vector<SambaDc::Mod>& mods)
      : mods_(mods), bvs_(mods.size()), bv_ptrs_(mods.size()), lmods_(mods.size()) {
    for (size_t i = 0; i < mods_.size(); ++i) {
      for (const std::string& v : mods_[i].values) {
        bvs_[i].push_back(berval{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});
      }
      for (berval& b : bvs_[i]) bv_ptrs_[i].push_back(&b);
      bv_ptrs_[i].push_back(nullptr);
      int op = mods_[i].op == SambaDc::Mod::Op::kAdd      ? LDAP_MOD_ADD
               : mods_[i].op == SambaDc::Mod::Op::kDelete ? LDAP_MOD_DELETE
                                                          : LDAP_MOD_REPLACE;
      lmods_[i].mod_op = op | LDAP_MOD_BVALUES;
      lmods_[i].mod_type = const_cast<char*>(mods_[i].attr.c_str());
      lmods_[i].mod_bvalues = bv_ptrs_[i].data();
      ptrs_.push_back(&lmods_[i]);
    }
    ptrs_.push_back(nullptr);
  }
  ModArray(const ModArray&) = delete;
  ModArray& operator=(const ModArray&) = delete;
  LDAPMod** get() { return ptrs_.data(); }

 private:
  const std::vector<SambaDc::Mod> mods_;
  std::vector<std::vector<berval>> bvs_;
  std::vector<std::vector<berval*>> bv_ptrs_;
  std::vector<LDAPMod> lmods_;
  std::vector<LDAPMod*> ptrs_;
};

using Entry = std::map<std::string, std::vector<std::string>>;

// One search on `conn`: DN -> attributes, keys spelled as in `attrs`.
absl::StatusOr<std::map<std::string, Entry>> SearchOn(LdapConn& conn, const std::string& base,
                                                      int scope, const std::string& filter,
                                                      const std::vector<std::string>& attrs) {
  std::vector<char*> attr_ptrs;
  for (const std::string& a : attrs) attr_ptrs.push_back(const_cast<char*>(a.c_str()));
  attr_ptrs.push_back(nullptr);
  timeval tv{60, 0};
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(conn.get(), base.c_str(), scope, filter.c_str(), attr_ptrs.data(), 0,
                             nullptr, nullptr, &tv, 0, &res);
  std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> guard(res, ldap_msgfree);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "search " + base + " " + filter, conn.get());
  std::map<std::string, Entry> out;
  for (LDAPMessage* entry = ldap_first_entry(conn.get(), res); entry != nullptr;
       entry = ldap_next_entry(conn.get(), entry)) {
    char* dn = ldap_get_dn(conn.get(), entry);
    Entry& e = out[dn != nullptr ? dn : ""];
    if (dn != nullptr) ldap_memfree(dn);
    BerElement* ber = nullptr;
    for (char* name = ldap_first_attribute(conn.get(), entry, &ber); name != nullptr;
         name = ldap_next_attribute(conn.get(), entry, ber)) {
      std::string key = name;
      for (const std::string& a : attrs) {
        if (strcasecmp(a.c_str(), name) == 0) key = a;
      }
      berval** vals = ldap_get_values_len(conn.get(), entry, name);
      for (int i = 0; vals != nullptr && vals[i] != nullptr; ++i) {
        e[key].emplace_back(vals[i]->bv_val, vals[i]->bv_len);
      }
      ldap_value_free_len(vals);
      ldap_memfree(name);
    }
    if (ber != nullptr) ber_free(ber, 0);
  }
  return out;
}

// A binary objectSid as "S-1-5-21-...".
std::string SidToString(const std::string& b) {
  if (b.size() < 8) return "";
  uint64_t authority = 0;
  for (int i = 2; i < 8; ++i) authority = (authority << 8) | static_cast<uint8_t>(b[i]);
  std::string s = absl::StrCat("S-", static_cast<uint8_t>(b[0]), "-", authority);
  const size_t count = static_cast<uint8_t>(b[1]);
  for (size_t i = 0; i < count && 8 + 4 * i + 4 <= b.size(); ++i) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[8 + 4 * i + k]);
    absl::StrAppend(&s, "-", v);
  }
  return s;
}

// Removes surrounding single or double quotes.
std::string Unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
    return v.substr(1, v.size() - 2);
  }
  return v;
}

const google::protobuf::Value* Field(const google::protobuf::Struct& s,
                                     const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string StringField(const google::protobuf::Struct& s, const std::string& name) {
  const google::protobuf::Value* v = Field(s, name);
  return v != nullptr && v->has_string_value() ? v->string_value() : "";
}

// Parses one "dsdbChange" object into `event`.
void ParseChange(const google::protobuf::Struct& c, SambaDc::AuditEvent* event) {
  event->operation = StringField(c, "operation");
  event->dn = StringField(c, "dn");
  event->user_sid = StringField(c, "userSid");
  event->status = StringField(c, "status");
  event->transaction_id = StringField(c, "transactionId");
  event->remote_address = StringField(c, "remoteAddress");
  event->session_id = StringField(c, "sessionId");
  if (const auto* v = Field(c, "statusCode"); v != nullptr && v->has_number_value()) {
    event->status_code = static_cast<int>(v->number_value());
  }
  if (const auto* v = Field(c, "performedAsSystem"); v != nullptr && v->has_bool_value()) {
    event->performed_as_system = v->bool_value();
  }
  const google::protobuf::Value* attrs = Field(c, "attributes");
  if (attrs == nullptr || !attrs->has_struct_value()) return;
  for (const auto& [name, spec] : attrs->struct_value().fields()) {
    auto& list = event->attributes[name];
    if (!spec.has_struct_value()) continue;
    const auto* actions = Field(spec.struct_value(), "actions");
    if (actions == nullptr || !actions->has_list_value()) continue;
    for (const auto& a : actions->list_value().values()) {
      if (!a.has_struct_value()) continue;
      SambaDc::AttributeAction action;
      action.action = StringField(a.struct_value(), "action");
      const auto* values = Field(a.struct_value(), "values");
      if (values != nullptr && values->has_list_value()) {
        for (const auto& v : values->list_value().values()) {
          if (!v.has_struct_value()) continue;
          const auto& vs = v.struct_value();
          if (Field(vs, "value") != nullptr) {
            action.values.push_back(StringField(vs, "value"));
          } else if (Field(vs, "base64Value") != nullptr) {
            std::string raw;
            absl::Base64Unescape(StringField(vs, "base64Value"), &raw);
            action.values.push_back(raw);
          }
        }
      }
      list.push_back(std::move(action));
    }
  }
}

}  // namespace

SambaDc::Options SambaDc::Options::FromEnv() {
  Options o;
  if (const char* v = std::getenv("WB_GOLDEN_TAR")) o.golden_tar = v;
  if (const char* v = std::getenv("WB_CERT_DIR")) o.cert_dir = v;
  return o;
}

const std::vector<SambaDc::AttributeAction>* SambaDc::AuditEvent::Find(
    const std::string& attr) const {
  for (const auto& [name, actions] : attributes) {
    if (absl::EqualsIgnoreCase(name, attr)) return &actions;
  }
  return nullptr;
}

absl::Status SambaDc::RunScript(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {FixtureScript("samba_dc.sh")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, absl::Seconds(120)).status();
}

absl::StatusOr<std::unique_ptr<SambaDc>> SambaDc::Start(const Options& options) {
  if (options.golden_tar.empty() || options.cert_dir.empty()) {
    return absl::InvalidArgumentError(
        "SambaDc::Start needs golden_tar and cert_dir (WB_GOLDEN_TAR, WB_CERT_DIR)");
  }
  auto dc = std::unique_ptr<SambaDc>(new SambaDc());
  dc->cert_dir_ = options.cert_dir;
  if (options.work_dir.empty()) {
    // $WB_DC_TMPDIR (the benchmarks: a tmpfs) or /tmp.
    const char* parent = getenv("WB_DC_TMPDIR");
    std::string tmpl = absl::StrCat(parent != nullptr && *parent != 0 ? parent : "/tmp",
                                    "/wb-dc.XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    dc->dir_ = tmpl;
    dc->owns_dir_ = true;
  } else {
    dc->dir_ = options.work_dir;
  }
  // From here on the destructor cleans up (the script stops samba itself
  // when it fails to come up).
  WB_RETURN_IF_ERROR(dc->RunScript({"start", options.golden_tar, dc->dir_, dc->cert_dir_}));
  dc->running_ = true;
  WB_ASSIGN_OR_RETURN(std::string env,
                      RunCommand({FixtureScript("samba_dc.sh"), "env", dc->dir_},
                                 absl::Seconds(10)));
  for (absl::string_view line : absl::StrSplit(env, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    std::string value = Unquote(kv.second);
    if (kv.first == "DC_URL") dc->url_ = value;
    if (kv.first == "BASE_DN") dc->base_dn_ = value;
    if (kv.first == "ADMIN_DN") dc->admin_dn_ = value;
    if (kv.first == "ADMIN_PASSWORD_FILE") dc->admin_password_file_ = value;
    if (kv.first == "CA_FILE") dc->ca_file_ = value;
    if (kv.first == "AUDIT_LOG") dc->audit_log_ = value;
  }
  if (dc->url_.empty() || dc->base_dn_.empty() || dc->admin_dn_.empty()) {
    return absl::InternalError("samba_dc.sh env: incomplete output: " + env);
  }
  return dc;
}

SambaDc::~SambaDc() {
  if (running_) (void)Stop();
  const char* keep = std::getenv("WB_KEEP_DC_DIR");
  if (owns_dir_ && !(keep != nullptr && std::string(keep) == "1")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::Status SambaDc::Stop() {
  WB_RETURN_IF_ERROR(RunScript({"stop", dir_}));
  running_ = false;
  return absl::OkStatus();
}

absl::Status SambaDc::Restart() {
  WB_RETURN_IF_ERROR(RunScript({"restart", dir_}));
  running_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> SambaDc::AdminPassword() const {
  std::ifstream in(admin_password_file_);
  if (!in) return absl::NotFoundError("cannot read " + admin_password_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(ss.str()));
}

absl::StatusOr<std::vector<SambaDc::User>> SambaDc::AddUsers(int count, std::string prefix,
                                                            std::string ou) {
  std::vector<std::string> argv = {FixtureScript("samba_dc.sh"), "add-users", dir_,
                                   cert_dir_, absl::StrCat(count), prefix, ou};
  // Hang guard: Samba adds a few hundred users per second.
  absl::Duration guard = absl::Seconds(120) + absl::Milliseconds(100) * count;
  WB_ASSIGN_OR_RETURN(std::string out, RunCommand(argv, guard));
  std::vector<User> users;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> f = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    User u;
    u.dn = f.first;
    if (!absl::Base64Unescape(f.second, &u.object_guid) || u.object_guid.size() != 16) {
      return absl::InternalError(absl::StrCat("bad objectGUID in: ", line));
    }
    absl::string_view rdn = u.dn;
    rdn = rdn.substr(0, rdn.find(','));
    absl::ConsumePrefix(&rdn, "CN=");
    u.sam = std::string(rdn);
    users.push_back(std::move(u));
  }
  if (static_cast<int>(users.size()) != count) {
    return absl::InternalError(absl::StrCat("add-users returned ", users.size(),
                                            " users, want ", count));
  }
  return users;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> SambaDc::Read(
    const std::string& dn, const std::vector<std::string>& attrs) const {
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  WB_ASSIGN_OR_RETURN(auto found, SearchOn(*conn, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs));
  if (found.empty()) return absl::NotFoundError("no entry " + dn);
  return std::move(found.begin()->second);
}

absl::StatusOr<std::map<std::string, std::map<std::string, std::vector<std::string>>>>
SambaDc::Search(const std::string& base, const std::string& filter,
                const std::vector<std::string>& attrs) const {
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  return SearchOn(*conn, base, LDAP_SCOPE_SUBTREE, filter, attrs);
}

absl::StatusOr<SambaDc::Account> SambaDc::AddAdminAccount(const std::string& name) {
  return AddAccount(name, /*domain_admin=*/true);
}

absl::StatusOr<SambaDc::Account> SambaDc::AddAccount(const std::string& name, bool domain_admin) {
  // A throwaway password of a throwaway test domain, random so that it never
  // looks like a real secret; the suffix satisfies AD's complexity rules.
  std::random_device rd;
  std::string password = absl::StrFormat("%08x%08x-Wb!9", rd(), rd());
  Account account;
  account.dn = absl::StrCat("CN=", name, ",CN=Users,", base_dn_);
  account.password_file = absl::StrCat(dir_, "/", name, ".pass");
  WB_RETURN_IF_ERROR(WriteFileAtomically(account.password_file, password));
  if (chmod(account.password_file.c_str(), 0600) != 0) {
    return absl::InternalError("chmod 600 " + account.password_file);
  }
  // unicodePwd: the quoted password in UTF-16LE (ASCII here).
  std::string quoted = "\"" + password + "\"", utf16;
  for (char c : quoted) {
    utf16.push_back(c);
    utf16.push_back('\0');
  }
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  ModArray add({{Mod::Op::kAdd, "objectClass", {"user"}},
                {Mod::Op::kAdd, "sAMAccountName", {name}},
                {Mod::Op::kAdd, "unicodePwd", {utf16}},
                {Mod::Op::kAdd, "userAccountControl", {"512"}}});
  int rc = ldap_add_ext_s(conn->get(), account.dn.c_str(), add.get(), nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "add " + account.dn, conn->get());
  if (domain_admin) {
    std::string group = absl::StrCat("CN=Domain Admins,CN=Users,", base_dn_);
    ModArray member({{Mod::Op::kAdd, "member", {account.dn}}});
    rc = ldap_modify_ext_s(conn->get(), group.c_str(), member.get(), nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return LdapError(rc, "add " + name + " to " + group, conn->get());
  }
  WB_ASSIGN_OR_RETURN(auto found, SearchOn(*conn, account.dn, LDAP_SCOPE_BASE, "(objectClass=*)",
                                           {"objectSid"}));
  if (found.empty() || found.begin()->second["objectSid"].empty()) {
    return absl::InternalError("no objectSid on " + account.dn);
  }
  account.sid = SidToString(found.begin()->second["objectSid"][0]);
  return account;
}

absl::Status SambaDc::Modify(
    const std::string& dn,
    const std::map<std::string, std::vector<std::string>>& replace) const {
  std::vector<Mod> mods;
  for (const auto& [attr, values] : replace) {
    mods.push_back(Mod{Mod::Op::kReplace, attr, values});
  }
  return ModifyOps(dn, mods);
}

absl::Status SambaDc::ModifyOps(const std::string& dn, const std::vector<Mod>& mods) const {
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  ModArray lmods(mods);
  int rc = ldap_modify_ext_s(conn->get(), dn.c_str(), lmods.get(), nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "modify " + dn, conn->get());
  return absl::OkStatus();
}

absl::Status SambaDc::ModifyOpsAs(const Account& who, const std::string& dn,
                                  const std::vector<Mod>& mods) const {
  std::ifstream in(who.password_file);
  std::string password((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return absl::InternalError("read " + who.password_file);
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this, who.dn, std::move(password)));
  ModArray lmods(mods);
  int rc = ldap_modify_ext_s(conn->get(), dn.c_str(), lmods.get(), nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "modify " + dn + " as " + who.dn, conn->get());
  return absl::OkStatus();
}

absl::StatusOr<std::string> SambaDc::AddGroup(const std::string& name, const std::string& ou) {
  std::string dn = absl::StrCat("CN=", name, ",", ou, ",", base_dn_);
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  ModArray add({{Mod::Op::kAdd, "objectClass", {"group"}},
                {Mod::Op::kAdd, "sAMAccountName", {name}}});
  int rc = ldap_add_ext_s(conn->get(), dn.c_str(), add.get(), nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "add " + dn, conn->get());
  return dn;
}

absl::Status SambaDc::Delete(const std::string& dn) const {
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  int rc = ldap_delete_ext_s(conn->get(), dn.c_str(), nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "delete " + dn, conn->get());
  return absl::OkStatus();
}

absl::StatusOr<std::string> SambaDc::Move(const std::string& dn,
                                          const std::string& new_parent) const {
  WB_ASSIGN_OR_RETURN(auto conn, LdapConn::Open(*this));
  const std::string rdn = dn.substr(0, dn.find(','));
  int rc = ldap_rename_s(conn->get(), dn.c_str(), rdn.c_str(), new_parent.c_str(),
                         /*deleteoldrdn=*/1, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return LdapError(rc, "move " + dn, conn->get());
  return rdn + "," + new_parent;
}

absl::StatusOr<std::vector<SambaDc::AuditEvent>> SambaDc::AuditEvents() const {
  std::vector<AuditEvent> events;
  std::ifstream in(audit_log_);
  if (!in) return events;  // nothing logged yet
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (!absl::StartsWith(text, "{")) continue;
    google::protobuf::Struct root;
    auto st = google::protobuf::util::JsonStringToMessage(std::string(text), &root);
    // A partially written last line is not an error.
    if (!st.ok()) continue;
    if (StringField(root, "type") != "dsdbChange") continue;
    const google::protobuf::Value* change = Field(root, "dsdbChange");
    if (change == nullptr || !change->has_struct_value()) continue;
    AuditEvent event;
    event.timestamp = StringField(root, "timestamp");
    std::string err;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S%z", event.timestamp, &event.time, &err)) {
      event.time = absl::InfinitePast();
    }
    ParseChange(change->struct_value(), &event);
    events.push_back(std::move(event));
  }
  return events;
}

std::optional<int> SambaDc::LdapResultCode(const absl::Status& status) {
  auto payload = status.GetPayload(kLdapCodePayload);
  int code = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

}  // namespace writeback::testing
