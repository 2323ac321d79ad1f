// The rules of trust (DESIGN §7), pure: whether a join token may be redeemed,
// whether an agent certificate is revoked or expired, and the bounds of
// token lifetimes. Every refusal is kPermissionDenied with a message that
// says what to do and never quotes a secret.
//
//   WB_RETURN_IF_ERROR(CheckRedeemable(stored, parts, request.forest(), now));
//   WB_RETURN_IF_ERROR(CheckAgentCertificate(identity, cert, issued, revocation, now));
#ifndef WRITEBACK_CONTROLLER_ENROLL_TRUST_RULES_H_
#define WRITEBACK_CONTROLLER_ENROLL_TRUST_RULES_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/identity.h"
#include "common/identity/join_token.h"
#include "common/pki/x509.h"
#include "controller/store/trust_store.h"

namespace writeback::controller {

// Default and longest lifetime of a join token.
inline constexpr absl::Duration kDefaultTokenTtl = absl::Hours(1);
inline constexpr absl::Duration kMaxTokenTtl = absl::Hours(24 * 7);

// ttl_s 0 → kDefaultTokenTtl; kInvalidArgument beyond kMaxTokenTtl.
absl::StatusOr<absl::Duration> TokenTtl(uint32_t ttl_s);

// "valid", "used", "expired" or "revoked" at `now`.
std::string_view TokenState(const JoinTokenRecord& token, absl::Time now);

// May `parts` (a parsed token) be redeemed by an agent of `forest` (empty:
// the token's own) at `now`? `stored` is the record of parts.id, if any.
// Unknown ids and wrong secrets get the same answer, so a caller learns
// nothing about tokens it does not hold; the other refusals (used, expired,
// revoked, another forest) name the token id and what to do.
absl::Status CheckRedeemable(const std::optional<JoinTokenRecord>& stored,
                             const JoinTokenParts& parts, std::string_view forest,
                             absl::Time now);

// Is an agent certificate still good at `now`: not expired, and issued
// after the agent's revocation if it has one. `issued` is the controller's
// record of the serial (nullopt for an operator-issued certificate, whose
// notBefore then counts as its issue time).
absl::Status CheckAgentCertificate(const AgentIdentity& identity, const pki::CertificateInfo& cert,
                                   const std::optional<CertificateRecord>& issued,
                                   const std::optional<RevocationRecord>& revocation,
                                   absl::Time now);

// What an agent whose certificate can no longer be used must do.
inline constexpr char kReEnrollHint[] =
    "enroll the agent again: writebackctl token create --forest <forest>, then "
    "writeback-agent enroll --token_file <file>";

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ENROLL_TRUST_RULES_H_
