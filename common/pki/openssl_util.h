// Internal to common/pki: owning handles for OpenSSL objects, PEM parsing
// and serialization, and the translation of OpenSSL failures into
// absl::Status. Not for use outside x509*.cc.
//
//   WB_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(pem));
//   WB_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKey(key_pem));
//   if (X509_sign(cert.get(), key.get(), DigestFor(key.get())) <= 0) {
//     return OpenSslError("signing the certificate");
//   }
//
// Every function that fails clears OpenSSL's thread-local error queue, so
// no stale error leaks into an unrelated caller (gRPC shares the library).
#ifndef WRITEBACK_COMMON_PKI_OPENSSL_UTIL_H_
#define WRITEBACK_COMMON_PKI_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace writeback::pki::internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;

// Debian's Abseil has its own absl::string_view, distinct from std::string_view.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// kInternal "OpenSSL failed <what>: <reason of the oldest queued error>";
// clears the queue. Reasons are library texts, never key material.
absl::Status OpenSslError(std::string_view what);

// kInvalidArgument `message`; clears OpenSSL's error queue.
absl::Status InvalidInput(std::string_view message);

// A read-only memory BIO over `data` (which must outlive it).
BioPtr ReadBio(std::string_view data);
// What a memory BIO holds.
std::string BioContents(BIO* bio);

// The first PEM certificate / private key / PEM public key / PEM CSR of
// `pem`; kInvalidArgument naming what was expected when there is none.
absl::StatusOr<X509Ptr> ParseCertificate(std::string_view pem);
absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(std::string_view pem);
absl::StatusOr<EvpPkeyPtr> ParsePublicKey(std::string_view pem);
absl::StatusOr<X509ReqPtr> ParseCsr(std::string_view pem);

absl::StatusOr<std::string> CertificateToPem(X509* cert);
absl::StatusOr<std::string> PublicKeyToPem(EVP_PKEY* key);

// Appends CN=`common_name` (UTF-8, 1 to 64 characters) to `name`.
absl::Status AddCommonName(X509_NAME* name, std::string_view common_name);

// SHA-256 for RSA and EC keys; none (the algorithm's own) for EdDSA.
const EVP_MD* DigestFor(EVP_PKEY* key);

// kInvalidArgument unless `key` is EC P-256/P-384 or RSA >= 2048 bits.
absl::Status CheckAcceptableKey(EVP_PKEY* key);

// Lower-case hex of `bytes`.
std::string LowerHex(const unsigned char* bytes, size_t len);

// An ASN1_TIME as absl::Time (second precision).
absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* t);

}  // namespace writeback::pki::internal

#endif  // WRITEBACK_COMMON_PKI_OPENSSL_UTIL_H_
