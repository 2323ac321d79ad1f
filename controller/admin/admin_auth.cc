#include "controller/admin/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/identity/identity.h"

namespace writeback::controller {
namespace {

constexpr char kLineFormat[] = "expected \"<name> <role> <sha256-hex of the token>\"";

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string HowToAuthenticate(bool certificates) {
  return absl::StrCat(
      "the Admin API needs a bearer token (writebackctl --token_file=FILE or "
      "WRITEBACKCTL_TOKEN_FILE=FILE; the controller's first start writes a local operator's "
      "token to admin.token next to its store)",
      certificates ? " or an admin client certificate with the URI SAN writeback://admin/NAME "
                     "(writebackctl --cert_file, --key_file and --ca_file)"
                   : "");
}

}  // namespace

absl::StatusOr<AdminRole> ParseAdminRole(absl::string_view text) {
  if (text == "read-only") return AdminRole::kReadOnly;
  if (text == "operator") return AdminRole::kOperator;
  return absl::InvalidArgumentError("a role is \"read-only\" or \"operator\"");
}

const char* AdminRoleName(AdminRole role) {
  return role == AdminRole::kOperator ? "operator" : "read-only";
}

AdminRole RoleNeededFor(absl::string_view method) {
  for (absl::string_view prefix : {"Get", "List", "Export"}) {
    if (absl::StartsWith(method, prefix)) return AdminRole::kReadOnly;
  }
  return AdminRole::kOperator;
}

absl::string_view MethodOfPath(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

bool IsValidPrincipalName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

TokenHash HashToken(absl::string_view token) {
  TokenHash hash{};
  unsigned int size = 0;
  // Should EVP_Digest fail (memory exhaustion), the hash stays all zero,
  // which TokenTable::Find never accepts.
  (void)EVP_Digest(token.data(), token.size(), hash.data(), &size, EVP_sha256(), nullptr);
  return hash;
}

std::string TokenHashHex(absl::string_view token) {
  TokenHash hash = HashToken(token);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

bool SameHash(const TokenHash& a, const TokenHash& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("cannot make an Admin API token: OpenSSL's RAND_bytes failed");
  }
  std::string token =
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return token;
}

const TokenPrincipal* TokenTable::Find(absl::string_view token) const {
  if (token.empty()) return nullptr;
  const TokenHash hash = HashToken(token);
  const TokenHash zero{};
  if (SameHash(hash, zero)) return nullptr;
  const TokenPrincipal* found = nullptr;
  for (const TokenPrincipal& p : principals) {
    if (SameHash(hash, p.hash) && found == nullptr) found = &p;
  }
  return found;
}

absl::StatusOr<TokenTable> ParseTokensFile(absl::string_view text, absl::string_view file_name) {
  TokenTable table;
  std::map<std::string, std::pair<AdminRole, int>> roles;  // name -> role, line
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto fail = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": ", what,
                       " (lines are \"<name> <role> <sha256-hex of the token>\"; '#' starts a "
                       "comment)"));
    };
    line = line.substr(0, line.find('#'));
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (fields.size() != 3) {
      return fail(absl::StrCat(kLineFormat, ", found ", fields.size(), " field(s)"));
    }
    TokenPrincipal p;
    if (!IsValidPrincipalName(fields[0])) {
      return fail("the name (first field) must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    p.name = std::string(fields[0]);
    absl::StatusOr<AdminRole> role = ParseAdminRole(fields[1]);
    if (!role.ok()) return fail("unknown role (second field): it must be read-only or operator");
    p.role = *role;
    if (fields[2].size() != 64 || !IsHex(fields[2])) {
      return fail(
          "the third field must be the token's SHA-256 as 64 hex digits (for example the "
          "first word of: tr -d '\\n' < TOKEN_FILE | sha256sum)");
    }
    std::string bytes = absl::HexStringToBytes(fields[2]);
    std::copy(bytes.begin(), bytes.end(), p.hash.begin());
    for (const TokenPrincipal& other : table.principals) {
      if (SameHash(other.hash, p.hash)) return fail("the same token is listed twice");
    }
    auto [it, inserted] = roles.try_emplace(p.name, p.role, line_number);
    if (!inserted && it->second.first != p.role) {
      return fail(absl::StrCat(p.name, " already has role ", AdminRoleName(it->second.first),
                               " on line ", it->second.second,
                               "; give each principal one role"));
    }
    table.principals.push_back(std::move(p));
  }
  return table;
}

std::string TokensFileLine(absl::string_view name, AdminRole role, absl::string_view token) {
  return absl::StrCat(name, " ", AdminRoleName(role), " ", TokenHashHex(token), "\n");
}

std::string Principal::ToString() const {
  return absl::StrCat(kind == Kind::kToken ? "token:" : "cert:", name, " (", AdminRoleName(role),
                      ")");
}

absl::StatusOr<Principal> Authenticate(const PresentedCredentials& presented,
                                       const TokenTable& tokens,
                                       const CertificatePolicy& certificates) {
  std::vector<std::string> admin_names;
  for (const std::string& san : presented.certificate_names) {
    if (!absl::StartsWithIgnoreCase(san, "writeback://")) continue;
    if (ParseAgentIdentity(san).ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "an agent certificate is not an admin identity: ", san,
          " may only open the agent stream; call the Admin API with an admin certificate "
          "(URI SAN writeback://admin/NAME) or a bearer token"));
    }
    absl::StatusOr<std::string> admin = ParseAdminIdentity(san);
    if (admin.ok()) admin_names.push_back(*admin);
  }
  if (!presented.authorization.empty()) {
    if (presented.authorization.size() > 1) {
      return absl::UnauthenticatedError(
          "the call carries more than one authorization metadata entry; send one "
          "\"Bearer <token>\"");
    }
    absl::string_view value = absl::StripAsciiWhitespace(presented.authorization[0]);
    if (!absl::StartsWithIgnoreCase(value, "Bearer ")) {
      return absl::UnauthenticatedError(
          "the authorization metadata must be \"Bearer <token>\" (writebackctl reads the token "
          "from --token_file or WRITEBACKCTL_TOKEN_FILE)");
    }
    absl::string_view token = absl::StripAsciiWhitespace(value.substr(7));
    const TokenPrincipal* p = tokens.Find(token);
    if (p == nullptr) {
      return absl::UnauthenticatedError(
          "token not recognised: it is in no line of the controller's tokens file "
          "(admin_auth.tokens_file); check --token_file or WRITEBACKCTL_TOKEN_FILE, or ask an "
          "operator to add the token's principal");
    }
    return Principal{Principal::Kind::kToken, p->name, p->role};
  }
  if (!admin_names.empty()) {
    const std::string& name = admin_names.front();
    for (const std::string& other : admin_names) {
      if (other != name) {
        return absl::PermissionDeniedError(absl::StrCat(
            "the client certificate names two admins (", name, ", ", other,
            "); an admin certificate carries one writeback://admin/NAME"));
      }
    }
    auto it = certificates.roles.find(name);
    if (it == certificates.roles.end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "admin certificate writeback://admin/", name,
          " has no role on this controller: grant one in the controller's configuration with "
          "admin_auth { principals { name: \"",
          name, "\" role: \"read-only\" } } (or role \"operator\") and restart it"));
    }
    return Principal{Principal::Kind::kCertificate, name, it->second};
  }
  if (!presented.certificate_names.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the client certificate carries no admin identity (URI SAN writeback://admin/NAME); ",
        HowToAuthenticate(certificates.accepted)));
  }
  return absl::UnauthenticatedError(absl::StrCat("no credentials: ",
                                                 HowToAuthenticate(certificates.accepted)));
}

absl::Status Authorize(const Principal& who, absl::string_view method) {
  const AdminRole needed = RoleNeededFor(method);
  if (who.role == AdminRole::kOperator || needed == AdminRole::kReadOnly) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      who.ToString(), " may not call ", method, ": it needs the ", AdminRoleName(needed),
      " role, and ", who.name, " has the ", AdminRoleName(who.role),
      " role (which may call only Get*, List* and Export* methods); use an operator's "
      "credentials, or have an operator change ",
      who.name, "'s role"));
}

}  // namespace writeback::controller
