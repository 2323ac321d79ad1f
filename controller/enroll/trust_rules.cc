#include "controller/enroll/trust_rules.h"

#include "absl/strings/str_cat.h"

namespace writeback::controller {
namespace {

std::string Format(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Iso(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<absl::Duration> TokenTtl(uint32_t ttl_s) {
  if (ttl_s == 0) return kDefaultTokenTtl;
  absl::Duration ttl = absl::Seconds(ttl_s);
  if (ttl > kMaxTokenTtl) {
    return absl::InvalidArgumentError(
        absl::StrCat("a join token lives at most 7 days (", absl::ToInt64Seconds(kMaxTokenTtl),
                     " s); asked for ", ttl_s, " s"));
  }
  return ttl;
}

std::string_view TokenState(const JoinTokenRecord& token, absl::Time now) {
  if (token.revoked_ms != 0) return "revoked";
  if (token.used_ms != 0) return "used";
  if (absl::ToUnixMillis(now) >= token.expires_ms) return "expired";
  return "valid";
}

absl::Status CheckRedeemable(const std::optional<JoinTokenRecord>& stored,
                             const JoinTokenParts& parts, std::string_view forest,
                             absl::Time now) {
  if (!stored || !SecretMatches(parts.secret, stored->secret_sha256)) {
    return absl::PermissionDeniedError(
        "join token not recognised (unknown, or altered since it was created); create a new "
        "one with writebackctl token create --forest <forest>");
  }
  const JoinTokenRecord& t = *stored;
  if (t.revoked_ms != 0) {
    return absl::PermissionDeniedError(absl::StrCat("join token ", t.token_id, " was revoked at ",
                                                    Format(t.revoked_ms),
                                                    "; create a new one with writebackctl token "
                                                    "create --forest ",
                                                    t.forest));
  }
  if (t.used_ms != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "join token ", t.token_id, " was already used at ", Format(t.used_ms), " by agent ",
        t.used_by, "; tokens are single-use: create a new one with writebackctl token create "
        "--forest ", t.forest));
  }
  if (absl::ToUnixMillis(now) >= t.expires_ms) {
    return absl::PermissionDeniedError(absl::StrCat("join token ", t.token_id, " expired at ",
                                                    Format(t.expires_ms),
                                                    "; create a new one with writebackctl token "
                                                    "create --forest ",
                                                    t.forest));
  }
  if (!forest.empty() && forest != t.forest) {
    return absl::PermissionDeniedError(absl::StrCat("join token ", t.token_id, " is for forest ",
                                                    t.forest, ", not ", std::string(forest),
                                                    "; create one with writebackctl token "
                                                    "create --forest ",
                                                    std::string(forest)));
  }
  return absl::OkStatus();
}

absl::Status CheckAgentCertificate(const AgentIdentity& identity, const pki::CertificateInfo& cert,
                                   const std::optional<CertificateRecord>& issued,
                                   const std::optional<RevocationRecord>& revocation,
                                   absl::Time now) {
  if (now >= cert.not_after) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate ", cert.serial, " of agent ", identity.agent_id, " expired at ",
                     Iso(cert.not_after), "; ", kReEnrollHint));
  }
  if (revocation) {
    int64_t issued_ms = issued ? issued->issued_ms : absl::ToUnixMillis(cert.not_before);
    if (issued_ms <= revocation->revoked_ms) {
      return absl::PermissionDeniedError(absl::StrCat(
          "agent ", identity.agent_id, " was revoked at ", Format(revocation->revoked_ms), " by ",
          revocation->revoked_by, revocation->reason.empty() ? "" : " (",
          revocation->reason, revocation->reason.empty() ? "" : ")", "; certificate ",
          cert.serial, " is no longer accepted; ", kReEnrollHint));
    }
  }
  return absl::OkStatus();
}

}  // namespace writeback::controller
