// SqliteStore's part for trust (trust_store.h; schema version 4): join
// tokens, issued certificates and agent revocations.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "controller/store/sqlite_store.h"

namespace writeback::controller {
namespace {

constexpr char kTokenColumns[] =
    "token_id, forest, secret_sha256, created_ms, expires_ms, created_by, used_ms, used_by, "
    "revoked_ms";
constexpr char kCertColumns[] =
    "serial, agent_id, forest, issuer, not_before_ms, not_after_ms, issued_ms, via";
constexpr char kRevocationColumns[] = "agent_id, revoked_ms, revoked_by, reason";

JoinTokenRecord TokenRow(const Statement& st) {
  JoinTokenRecord t;
  t.token_id = st.Text(0);
  t.forest = st.Text(1);
  t.secret_sha256 = st.Text(2);
  t.created_ms = st.Int(3);
  t.expires_ms = st.Int(4);
  t.created_by = st.Text(5);
  t.used_ms = st.Int(6);
  t.used_by = st.Text(7);
  t.revoked_ms = st.Int(8);
  return t;
}

CertificateRecord CertRow(const Statement& st) {
  CertificateRecord c;
  c.serial = st.Text(0);
  c.agent_id = st.Text(1);
  c.forest = st.Text(2);
  c.issuer = st.Text(3);
  c.not_before_ms = st.Int(4);
  c.not_after_ms = st.Int(5);
  c.issued_ms = st.Int(6);
  c.via = st.Text(7);
  return c;
}

RevocationRecord RevocationRow(const Statement& st) {
  return {st.Text(0), st.Int(1), st.Text(2), st.Text(3)};
}

absl::StatusOr<std::optional<JoinTokenRecord>> ReadToken(SqliteDb& db, std::string_view id) {
  WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(absl::StrCat("SELECT ", kTokenColumns,
                                                            " FROM join_tokens WHERE token_id = ?1")));
  st.BindText(1, id);
  WB_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<JoinTokenRecord>();
  return std::optional<JoinTokenRecord>(TokenRow(st));
}

absl::Status InsertCertificate(SqliteDb& db, const CertificateRecord& c) {
  WB_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare(absl::StrCat("INSERT INTO certificates (", kCertColumns,
                                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")));
  st.BindText(1, c.serial);
  st.BindText(2, c.agent_id);
  st.BindText(3, c.forest);
  st.BindText(4, c.issuer);
  st.BindInt(5, c.not_before_ms);
  st.BindInt(6, c.not_after_ms);
  st.BindInt(7, c.issued_ms);
  st.BindText(8, c.via);
  return st.Run();
}

absl::Status TokenNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("no join token ", std::string(id), " (writebackctl token list)"));
}

}  // namespace

absl::Status SqliteStore::AddJoinToken(const JoinTokenRecord& t) {
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat("INSERT INTO join_tokens (", kTokenColumns,
                                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")));
    st.BindText(1, t.token_id);
    st.BindText(2, t.forest);
    st.BindText(3, t.secret_sha256);
    st.BindInt(4, t.created_ms);
    st.BindInt(5, t.expires_ms);
    st.BindText(6, t.created_by);
    st.BindInt(7, t.used_ms);
    st.BindText(8, t.used_by);
    st.BindInt(9, t.revoked_ms);
    return st.Run();
  });
}

absl::StatusOr<std::optional<JoinTokenRecord>> SqliteStore::GetJoinToken(std::string_view id) {
  std::optional<JoinTokenRecord> token;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(token, ReadToken(db, id));
    return absl::OkStatus();
  }));
  return token;
}

absl::StatusOr<std::vector<JoinTokenRecord>> SqliteStore::ListJoinTokens(std::string_view forest) {
  std::vector<JoinTokenRecord> tokens;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(absl::StrCat("SELECT ", kTokenColumns,
                                " FROM join_tokens WHERE ?1 = '' OR forest = ?1 "
                                "ORDER BY created_ms DESC, token_id")));
    st.BindText(1, forest);
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      tokens.push_back(TokenRow(st));
    }
  }));
  return tokens;
}

absl::StatusOr<JoinTokenRecord> SqliteStore::RevokeJoinToken(std::string_view id, int64_t at_ms) {
  JoinTokenRecord token;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("UPDATE join_tokens SET revoked_ms = ?2 WHERE token_id = ?1 AND revoked_ms = 0"));
    st.BindText(1, id);
    st.BindInt(2, at_ms);
    WB_RETURN_IF_ERROR(st.Run());
    WB_ASSIGN_OR_RETURN(std::optional<JoinTokenRecord> read, ReadToken(db, id));
    if (!read) return TokenNotFound(id);
    token = *read;
    return absl::OkStatus();
  }));
  return token;
}

absl::StatusOr<JoinTokenRecord> SqliteStore::RedeemJoinToken(std::string_view id,
                                                             const CertificateRecord& cert,
                                                             int64_t at_ms) {
  JoinTokenRecord token;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("UPDATE join_tokens SET used_ms = ?2, used_by = ?3 WHERE token_id = ?1 AND "
                   "used_ms = 0 AND revoked_ms = 0 AND expires_ms > ?2"));
    st.BindText(1, id);
    st.BindInt(2, at_ms);
    st.BindText(3, cert.agent_id);
    WB_RETURN_IF_ERROR(st.Run());
    bool redeemed = db.changes() == 1;
    WB_ASSIGN_OR_RETURN(std::optional<JoinTokenRecord> read, ReadToken(db, id));
    if (!read) return TokenNotFound(id);
    if (!redeemed) {
      return absl::FailedPreconditionError(
          absl::StrCat("join token ", std::string(id), " was used, revoked or expired meanwhile"));
    }
    token = *read;
    return InsertCertificate(db, cert);
  }));
  return token;
}

absl::Status SqliteStore::AddCertificate(const CertificateRecord& cert) {
  return Transact(SqliteDb::kImmediate,
                  [&](SqliteDb& db) -> absl::Status { return InsertCertificate(db, cert); });
}

absl::StatusOr<std::optional<CertificateRecord>> SqliteStore::GetCertificate(
    std::string_view serial) {
  std::optional<CertificateRecord> cert;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st, db.Prepare(absl::StrCat("SELECT ", kCertColumns,
                                                              " FROM certificates WHERE serial = ?1")));
    st.BindText(1, serial);
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) cert = CertRow(st);
    return absl::OkStatus();
  }));
  return cert;
}

absl::StatusOr<std::vector<CertificateRecord>> SqliteStore::LatestCertificates() {
  std::vector<CertificateRecord> certs;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    // SQLite takes the bare columns of a MAX() aggregate from its row.
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT serial, agent_id, forest, issuer, not_before_ms, not_after_ms, "
                   "MAX(issued_ms), via FROM certificates GROUP BY agent_id ORDER BY agent_id"));
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      certs.push_back(CertRow(st));
    }
  }));
  return certs;
}

absl::Status SqliteStore::RevokeAgent(const RevocationRecord& r) {
  return Transact(SqliteDb::kImmediate, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(absl::StrCat(
            "INSERT INTO agent_revocations (", kRevocationColumns,
            ") VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id) DO UPDATE SET "
            "revoked_ms = MAX(revoked_ms, excluded.revoked_ms), revoked_by = excluded.revoked_by, "
            "reason = excluded.reason")));
    st.BindText(1, r.agent_id);
    st.BindInt(2, r.revoked_ms);
    st.BindText(3, r.revoked_by);
    st.BindText(4, r.reason);
    return st.Run();
  });
}

absl::StatusOr<std::optional<RevocationRecord>> SqliteStore::GetRevocation(
    std::string_view agent_id) {
  std::optional<RevocationRecord> revocation;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat("SELECT ", kRevocationColumns,
                                                " FROM agent_revocations WHERE agent_id = ?1")));
    st.BindText(1, agent_id);
    WB_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) revocation = RevocationRow(st);
    return absl::OkStatus();
  }));
  return revocation;
}

absl::StatusOr<std::vector<RevocationRecord>> SqliteStore::ListRevocations() {
  std::vector<RevocationRecord> revocations;
  WB_RETURN_IF_ERROR(Transact(SqliteDb::kDeferred, [&](SqliteDb& db) -> absl::Status {
    WB_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(absl::StrCat("SELECT ", kRevocationColumns,
                                                " FROM agent_revocations ORDER BY agent_id")));
    while (true) {
      WB_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      revocations.push_back(RevocationRow(st));
    }
  }));
  return revocations;
}

}  // namespace writeback::controller
