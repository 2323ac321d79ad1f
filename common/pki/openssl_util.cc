#include "common/pki/openssl_util.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <ctime>

#include "absl/strings/str_cat.h"

namespace writeback::pki::internal {
namespace {

// Refuses to prompt for a pass phrase: an encrypted key fails to parse.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

}  // namespace

absl::Status OpenSslError(std::string_view what) {
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  std::string reason = "no error queued";
  if (err != 0) {
    const char* text = ERR_reason_error_string(err);
    reason = text != nullptr ? text : absl::StrCat("error ", err);
  }
  return absl::InternalError(absl::StrCat("OpenSSL failed ", Av(what), ": ", reason));
}

absl::Status InvalidInput(std::string_view message) {
  ERR_clear_error();
  return absl::InvalidArgumentError(Av(message));
}

BioPtr ReadBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

absl::StatusOr<X509Ptr> ParseCertificate(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (bio == nullptr) return OpenSslError("allocating a BIO");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (cert == nullptr) return InvalidInput("not a certificate (PEM \"CERTIFICATE\" expected)");
  return cert;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (bio == nullptr) return OpenSslError("allocating a BIO");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) {
    return InvalidInput("not a private key (unencrypted PEM private key expected)");
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> ParsePublicKey(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (bio == nullptr) return OpenSslError("allocating a BIO");
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) return InvalidInput("not a public key (PEM \"PUBLIC KEY\" expected)");
  return key;
}

absl::StatusOr<X509ReqPtr> ParseCsr(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (bio == nullptr) return OpenSslError("allocating a BIO");
  X509ReqPtr csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, NoPassword, nullptr));
  if (csr == nullptr) {
    return InvalidInput("not a certificate signing request (PEM \"CERTIFICATE REQUEST\" expected)");
  }
  return csr;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("writing a certificate as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PublicKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return OpenSslError("writing a public key as PEM");
  }
  return BioContents(bio.get());
}

absl::Status AddCommonName(X509_NAME* name, std::string_view common_name) {
  if (common_name.empty() || common_name.size() > 64) {
    return InvalidInput(
        absl::StrCat("common name must be 1 to 64 characters, not ", common_name.size()));
  }
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return InvalidInput(absl::StrCat("common name \"", Av(common_name), "\" is not valid UTF-8"));
  }
  return absl::OkStatus();
}

const EVP_MD* DigestFor(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) return nullptr;
  return EVP_sha256();
}

absl::Status CheckAcceptableKey(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char name[80] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) {
      return InvalidInput("EC key without a named curve is not accepted (P-256 or P-384)");
    }
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef) nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1) return absl::OkStatus();
    return InvalidInput(
        absl::StrCat("EC key on curve ", name, " is not accepted (P-256 or P-384)"));
  }
  if (id == EVP_PKEY_RSA) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits >= 2048) return absl::OkStatus();
    return InvalidInput(
        absl::StrCat("RSA key of ", bits, " bits is too short (at least 2048 bits)"));
  }
  const char* type = OBJ_nid2sn(id);
  return InvalidInput(absl::StrCat("key type ", type != nullptr ? type : "unknown",
                                   " is not accepted (EC P-256 or P-384, or RSA of at least "
                                   "2048 bits)"));
}

std::string LowerHex(const unsigned char* bytes, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return InvalidInput("certificate has an invalid validity time");
  }
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                           tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

}  // namespace writeback::pki::internal
