#include "common/identity/join_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace writeback {
namespace {

constexpr char kPrefix[] = "wbt1";

bool IsLowerHex(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsBase64Url(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("the system's random number generator failed");
  }
  return out;
}

absl::Status FormError() {
  return absl::InvalidArgumentError(
      "not a writeback join token: expected wbt1.<id>.<secret>.<pin> as printed by "
      "`writebackctl token create` (copy it whole)");
}

}  // namespace

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

bool SecretMatches(std::string_view secret, std::string_view secret_sha256) {
  std::string actual = Sha256Hex(secret);
  if (secret_sha256.size() != actual.size()) return false;
  return CRYPTO_memcmp(actual.data(), secret_sha256.data(), actual.size()) == 0;
}

absl::StatusOr<NewJoinToken> MakeJoinToken(std::string_view ca_pin) {
  const absl::string_view pin(ca_pin.data(), ca_pin.size());
  if (!IsLowerHex(pin, 64)) {
    return absl::InvalidArgumentError("CA pin must be 64 lower-case hex digits (SHA-256)");
  }
  absl::StatusOr<std::string> id = RandomBytes(8);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> secret = RandomBytes(32);
  if (!secret.ok()) return secret.status();
  NewJoinToken t;
  t.id = absl::BytesToHexString(*id);
  std::string encoded;
  absl::WebSafeBase64Escape(*secret, &encoded);  // 43 characters, no padding
  t.secret_sha256 = Sha256Hex(encoded);
  t.token = absl::StrCat(kPrefix, ".", t.id, ".", encoded, ".", pin);
  return t;
}

absl::StatusOr<JoinTokenParts> ParseJoinToken(std::string_view token) {
  absl::string_view t = absl::StripAsciiWhitespace(absl::string_view(token.data(), token.size()));
  std::vector<absl::string_view> parts = absl::StrSplit(t, '.');
  if (parts.size() != 4 || parts[0] != kPrefix) return FormError();
  if (!IsLowerHex(parts[1], 16) || !IsBase64Url(parts[2], 43) || !IsLowerHex(parts[3], 64)) {
    return FormError();
  }
  return JoinTokenParts{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

}  // namespace writeback
