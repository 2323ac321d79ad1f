// Join tokens (DESIGN §7): what `writebackctl token create` prints and
// `writeback-agent enroll --token` takes. One string carries a public id, a
// secret (the controller keeps only its SHA-256) and the controller CA's pin
// (lower-case hex SHA-256 of its certificate), so the agent can authenticate
// the controller before it sends the token anywhere:
//
//   wbt1.<id: 16 hex>.<secret: 43 base64url>.<pin: 64 hex>
//
//   WB_ASSIGN_OR_RETURN(NewJoinToken t, MakeJoinToken(ca_pin));
//   store t.id and t.secret_sha256, print t.token once;
//   ...
//   WB_ASSIGN_OR_RETURN(JoinTokenParts p, ParseJoinToken(token));
//   if (!SecretMatches(p.secret, stored_sha256)) refuse;
//
// Errors are kInvalidArgument with a message that never quotes the secret.
#ifndef WRITEBACK_COMMON_IDENTITY_JOIN_TOKEN_H_
#define WRITEBACK_COMMON_IDENTITY_JOIN_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace writeback {

struct JoinTokenParts {
  std::string id;
  std::string secret;
  std::string pin;
};

struct NewJoinToken {
  std::string token;          // the whole string, shown once
  std::string id;
  std::string secret_sha256;  // lower-case hex, what the controller stores
};

// A fresh token: 8 random id bytes, 32 random secret bytes (OpenSSL's
// CSPRNG). kInvalidArgument for a pin that is not 64 lower-case hex digits.
absl::StatusOr<NewJoinToken> MakeJoinToken(std::string_view ca_pin);

// Splits and checks the form (not the secret). Surrounding white space is
// ignored (tokens are pasted).
absl::StatusOr<JoinTokenParts> ParseJoinToken(std::string_view token);

// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);

// Constant-time comparison of SHA-256(secret) with `secret_sha256`.
bool SecretMatches(std::string_view secret, std::string_view secret_sha256);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_IDENTITY_JOIN_TOKEN_H_
