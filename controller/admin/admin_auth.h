// Admin API authentication and roles (DESIGN §7) as pure functions: the
// tokens file's format, token hashing and comparison, who a call's
// credentials name, and which role a method needs. The gRPC glue is
// admin_server.h; the tokens file on disk (first start, reloads) is
// admin_tokens.h.
//
//   WB_ASSIGN_OR_RETURN(TokenTable tokens, ParseTokensFile(text, "admin-tokens"));
//   PresentedCredentials presented;
//   presented.authorization = {"Bearer q5Xy..."};
//   WB_ASSIGN_OR_RETURN(Principal who, Authenticate(presented, tokens, {}));
//   who.ToString();                                // "token:alice (read-only)"
//   WB_RETURN_IF_ERROR(Authorize(who, "UpdateMailbox"));  // PERMISSION_DENIED
//
// Roles: "read-only" may call the methods whose names start with Get, List or
// Export (by prefix, so later methods are covered); "operator" may call
// every method. Tokens are never kept in clear: a table holds SHA-256 hashes,
// compared in constant time. No error message quotes a token or a line of
// the tokens file. Thread-safe, no state.
#ifndef WRITEBACK_CONTROLLER_ADMIN_ADMIN_AUTH_H_
#define WRITEBACK_CONTROLLER_ADMIN_ADMIN_AUTH_H_

#include <array>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace writeback::controller {

enum class AdminRole { kReadOnly, kOperator };

// "read-only" or "operator" (exactly); kInvalidArgument otherwise.
absl::StatusOr<AdminRole> ParseAdminRole(absl::string_view text);
const char* AdminRoleName(AdminRole role);

// The role a method needs: kReadOnly for names starting with Get, List or
// Export, kOperator for every other.
AdminRole RoleNeededFor(absl::string_view method);

// "/writeback.v1.AdminService/GetMailbox" -> "GetMailbox" (the text after the
// last '/'; the whole text when there is none).
absl::string_view MethodOfPath(absl::string_view path);

// True when `name` may name a principal: 1-64 characters of [A-Za-z0-9._-],
// as an admin certificate identity (common/identity/identity.h).
bool IsValidPrincipalName(absl::string_view name);

using TokenHash = std::array<unsigned char, 32>;  // SHA-256

TokenHash HashToken(absl::string_view token);
// Lower-case hex of HashToken: the third field of a tokens file line.
std::string TokenHashHex(absl::string_view token);
// Constant time (CRYPTO_memcmp).
bool SameHash(const TokenHash& a, const TokenHash& b);
// A new token: 32 bytes from OpenSSL's CSPRNG (RAND_bytes), base64url
// without padding (43 characters). kInternal when the CSPRNG fails.
absl::StatusOr<std::string> NewToken();

// One line of a tokens file.
struct TokenPrincipal {
  std::string name;
  AdminRole role = AdminRole::kReadOnly;
  TokenHash hash{};
};

struct TokenTable {
  std::vector<TokenPrincipal> principals;

  // The principal whose hash is the token's, or nullptr. Compares with every
  // entry (constant time each, no early exit).
  const TokenPrincipal* Find(absl::string_view token) const;
};

// Parses a tokens file: one "<name> <role> <sha256-hex>" per line, fields
// separated by spaces or tabs; '#' starts a comment (whole line or after
// the fields); blank lines are ignored. kInvalidArgument naming
// `file_name`, the line number and what is wrong (never the line itself):
// wrong field count, invalid name, unknown role, a hash that is not 64 hex
// digits, the same token twice, or one name with two roles.
absl::StatusOr<TokenTable> ParseTokensFile(absl::string_view text, absl::string_view file_name);

// "<name> <role> <TokenHashHex(token)>\n".
std::string TokensFileLine(absl::string_view name, AdminRole role, absl::string_view token);

// An authenticated caller.
struct Principal {
  enum class Kind { kToken, kCertificate };
  Kind kind = Kind::kToken;
  std::string name;
  AdminRole role = AdminRole::kReadOnly;

  // "token:alice (operator)" or "cert:bob (read-only)": the caller recorded
  // in the audit trail.
  std::string ToString() const;
};

// What a call presented.
struct PresentedCredentials {
  // Every value of the "authorization" metadata key.
  std::vector<std::string> authorization;
  // The subject alternative names of the client certificate, when the call
  // came over TLS with a certificate the client CA verified; empty otherwise.
  std::vector<std::string> certificate_names;
};

// Admin certificates: whether the server accepts them at all (TLS with a
// client CA), and the role of each admin name (writeback://admin/<name>).
struct CertificatePolicy {
  bool accepted = false;
  std::map<std::string, AdminRole> roles;
};

// Who is calling. In order:
//   - a certificate carrying an agent identity: kPermissionDenied ("an agent
//     certificate is not an admin identity");
//   - a bearer token when the call sent one: kUnauthenticated unless it is
//     "Bearer <token>" with a token of `tokens` ("token not recognised");
//   - an admin certificate: kPermissionDenied when its name has no role in
//     `certificates` (the message says how to grant one);
//   - nothing usable: kUnauthenticated saying how to authenticate.
absl::StatusOr<Principal> Authenticate(const PresentedCredentials& presented,
                                       const TokenTable& tokens,
                                       const CertificatePolicy& certificates);

// OK when `who` may call `method` (a method name, e.g. "UpdateMailbox");
// kPermissionDenied naming the principal, its role, the method and the role
// it needs otherwise.
absl::Status Authorize(const Principal& who, absl::string_view method);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_ADMIN_AUTH_H_
