// The controller's durable trust state (DESIGN §7; schema version 4): join
// tokens (hashes only), the certificates the controller CA issued, and agent
// revocations. A separate interface from Store so that the enrollment code
// sees only this; SqliteStore implements both (sqlite_trust.cc).
//
//   WB_RETURN_IF_ERROR(trust->AddJoinToken(token));
//   ...
//   absl::StatusOr<JoinTokenRecord> t = trust->RedeemJoinToken(id, cert, now_ms);
#ifndef WRITEBACK_CONTROLLER_STORE_TRUST_STORE_H_
#define WRITEBACK_CONTROLLER_STORE_TRUST_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace writeback::controller {

struct JoinTokenRecord {
  std::string token_id;
  std::string forest;
  std::string secret_sha256;  // lower-case hex
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  std::string created_by;
  int64_t used_ms = 0;  // 0 while unused
  std::string used_by;  // the agent that redeemed it
  int64_t revoked_ms = 0;
};

struct CertificateRecord {
  std::string serial;  // lower-case hex
  std::string agent_id;
  std::string forest;
  std::string issuer;  // fingerprint of the issuing CA
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
  int64_t issued_ms = 0;
  std::string via;  // "enroll <token id>" or "renew <previous serial>"
};

struct RevocationRecord {
  std::string agent_id;
  int64_t revoked_ms = 0;
  std::string revoked_by;
  std::string reason;
};

class TrustStore {
 public:
  virtual ~TrustStore() = default;

  // kAlreadyExists for a taken id.
  virtual absl::Status AddJoinToken(const JoinTokenRecord& token) = 0;
  virtual absl::StatusOr<std::optional<JoinTokenRecord>> GetJoinToken(std::string_view id) = 0;
  // Newest first; `forest` empty for all.
  virtual absl::StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(std::string_view forest) = 0;
  // Sets revoked_ms unless already revoked; kNotFound for an unknown id.
  virtual absl::StatusOr<JoinTokenRecord> RevokeJoinToken(std::string_view id, int64_t at_ms) = 0;
  // In one transaction: marks token `id` used by cert.agent_id at `at_ms`
  // only if it is still unused, unrevoked and unexpired, and records `cert`.
  // kFailedPrecondition (nothing written) when the token was used, revoked
  // or expired meanwhile; kNotFound for an unknown id.
  virtual absl::StatusOr<JoinTokenRecord> RedeemJoinToken(std::string_view id,
                                                          const CertificateRecord& cert,
                                                          int64_t at_ms) = 0;

  virtual absl::Status AddCertificate(const CertificateRecord& cert) = 0;
  virtual absl::StatusOr<std::optional<CertificateRecord>> GetCertificate(
      std::string_view serial) = 0;
  // The newest certificate (by issued_ms) of each agent that has one.
  virtual absl::StatusOr<std::vector<CertificateRecord>> LatestCertificates() = 0;

  // Records (or moves forward) the agent's revocation.
  virtual absl::Status RevokeAgent(const RevocationRecord& revocation) = 0;
  virtual absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      std::string_view agent_id) = 0;
  virtual absl::StatusOr<std::vector<RevocationRecord>> ListRevocations() = 0;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_STORE_TRUST_STORE_H_
