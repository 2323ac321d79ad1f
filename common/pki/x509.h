// X.509 building blocks over OpenSSL 3 for both binaries: private keys,
// certificate signing requests, certificate issue and inspection, SHA-256
// fingerprints (the "CA pin" of join tokens). Read this header first in
// common/pki.
//
//   WB_ASSIGN_OR_RETURN(std::string key, pki::NewPrivateKeyPem());
//   WB_ASSIGN_OR_RETURN(std::string csr, pki::NewCsrPem(key, "dc1-agent"));
//   ... controller side:
//   pki::Profile p;
//   p.common_name = "dc1-agent";
//   p.uri_sans = {"writeback://forest/corp.example.com/agent/dc1-agent"};
//   p.client_auth = true;
//   p.not_before = now - absl::Seconds(30);
//   p.not_after = now + absl::Hours(24 * 7);
//   WB_ASSIGN_OR_RETURN(std::string cert, pki::IssueFromCsr(authority, csr, p));
//   WB_ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::InspectCertificate(cert));
//
// Keys are EC P-256 (PKCS#8 PEM). Signatures are ECDSA with SHA-256.
// Fingerprints are the lower-case hex SHA-256 of the certificate's DER (64
// characters), as `openssl x509 -noout -fingerprint -sha256` prints them
// without colons. Serials are random 128-bit positive numbers, printed as
// lower-case hex without leading zeros.
//
// Errors: kInvalidArgument for input that does not parse or fails a check
// (the message says what: "CSR signature does not verify", "not a
// certificate", ...); kInternal when OpenSSL fails unexpectedly. Messages
// never contain key material. Thread-safe, no state.
#ifndef WRITEBACK_COMMON_PKI_X509_H_
#define WRITEBACK_COMMON_PKI_X509_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace writeback::pki {

// A new EC P-256 private key, PKCS#8 PEM.
absl::StatusOr<std::string> NewPrivateKeyPem();

// A PKCS#10 request signed by `key_pem`, subject CN=`common_name`, no
// extensions (the issuer decides every extension).
absl::StatusOr<std::string> NewCsrPem(std::string_view key_pem, std::string_view common_name);

// The public key of a private key or of a CSR, as SubjectPublicKeyInfo PEM.
absl::StatusOr<std::string> PublicKeyPemOfPrivateKey(std::string_view key_pem);

struct CertificateInfo {
  std::string serial;       // lower-case hex, no leading zeros
  std::string subject_cn;   // empty when none
  std::string issuer_cn;
  absl::Time not_before;
  absl::Time not_after;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;  // textual: "127.0.0.1", "::1"
  bool is_ca = false;                // basicConstraints CA:TRUE
  std::string fingerprint;           // lower-case hex SHA-256 of the DER
};

// The first certificate of a PEM string.
absl::StatusOr<CertificateInfo> InspectCertificate(std::string_view pem);

// Every certificate of a PEM bundle, each as its own PEM block, in order;
// kInvalidArgument when there is none or one does not parse.
absl::StatusOr<std::vector<std::string>> SplitCertificates(std::string_view pem_bundle);

// The lower-case hex SHA-256 of the first certificate's DER.
absl::StatusOr<std::string> Fingerprint(std::string_view cert_pem);

// kOk when `key_pem` is the private key of `cert_pem`'s public key;
// kInvalidArgument otherwise ("key does not match certificate").
absl::Status CheckKeyMatchesCertificate(std::string_view key_pem, std::string_view cert_pem);

// kOk when `cert_pem` is signed by `issuer_pem`'s key (signature only; no
// time or extension checks).
absl::Status CheckSignedBy(std::string_view cert_pem, std::string_view issuer_pem);

// A certificate authority: its certificate and private key (PEM).
struct Authority {
  std::string cert_pem;
  std::string key_pem;
};

// A new self-signed CA: EC P-256 key, subject CN=`common_name`,
// basicConstraints critical CA:TRUE pathlen:0, keyUsage critical
// keyCertSign+cRLSign, subject key identifier.
absl::StatusOr<Authority> NewAuthority(std::string_view common_name, absl::Time not_before,
                                       absl::Time not_after);

// What an issued end-entity certificate says. Only these fields are used;
// nothing is taken from a CSR but its public key.
struct Profile {
  std::string common_name;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;  // IPv4 or IPv6 literals
  bool client_auth = false;          // extendedKeyUsage clientAuth
  bool server_auth = false;          // extendedKeyUsage serverAuth
  absl::Time not_before;
  absl::Time not_after;
};

// Issues a certificate for the public key of `csr_pem` after verifying the
// CSR's own signature (kInvalidArgument otherwise). Accepts EC keys on
// P-256 or P-384 and RSA keys of at least 2048 bits; refuses others.
// basicConstraints critical CA:FALSE, keyUsage critical digitalSignature
// (+keyEncipherment for RSA), the EKUs of the profile, subject and
// authority key identifiers, random serial. Refuses a profile whose
// not_after is not after not_before or lies beyond the authority's own
// not_after.
absl::StatusOr<std::string> IssueFromCsr(const Authority& authority, std::string_view csr_pem,
                                         const Profile& profile);

// The same for a public key (SubjectPublicKeyInfo PEM) the caller holds,
// e.g. the controller's own server key.
absl::StatusOr<std::string> IssueForPublicKey(const Authority& authority,
                                              std::string_view public_key_pem,
                                              const Profile& profile);

}  // namespace writeback::pki

#endif  // WRITEBACK_COMMON_PKI_X509_H_
