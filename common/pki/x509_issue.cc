// Issuing: NewAuthority, IssueFromCsr, IssueForPublicKey. Every extension
// is built from our own structures (never from a CSR, never from text that
// OpenSSL's configuration parser would interpret).
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/pki/openssl_util.h"
#include "common/pki/x509.h"

namespace writeback::pki {
namespace {

using internal::BignumPtr;
using internal::Deleter;
using internal::EvpPkeyPtr;
using internal::InvalidInput;
using internal::OpenSslError;
using internal::X509Ptr;
using internal::X509ReqPtr;

using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;
using BitStringPtr =
    std::unique_ptr<ASN1_BIT_STRING, Deleter<ASN1_BIT_STRING, ASN1_BIT_STRING_free>>;
using OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using EkuPtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using AuthorityKeyIdPtr =
    std::unique_ptr<AUTHORITY_KEYID, Deleter<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;

// keyUsage bit numbers (RFC 5280 4.2.1.3).
constexpr int kDigitalSignature = 0;
constexpr int kKeyEncipherment = 2;
constexpr int kKeyCertSign = 5;
constexpr int kCrlSign = 6;

absl::Status AddExtension(X509* cert, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1) {
    return OpenSslError(absl::StrCat("adding the ", OBJ_nid2ln(nid), " extension"));
  }
  return absl::OkStatus();
}

absl::Status AddBasicConstraints(X509* cert, bool ca) {
  BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
  if (constraints == nullptr) return OpenSslError("allocating basicConstraints");
  constraints->ca = ca ? 0xFF : 0;
  if (ca) {  // pathlen:0, the CA issues end-entity certificates only
    constraints->pathlen = ASN1_INTEGER_new();
    if (constraints->pathlen == nullptr || ASN1_INTEGER_set(constraints->pathlen, 0) != 1) {
      return OpenSslError("allocating a path length");
    }
  }
  return AddExtension(cert, NID_basic_constraints, constraints.get(), /*critical=*/true);
}

absl::Status AddKeyUsage(X509* cert, std::initializer_list<int> bits) {
  BitStringPtr usage(ASN1_BIT_STRING_new());
  if (usage == nullptr) return OpenSslError("allocating keyUsage");
  for (int bit : bits) {
    if (ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) return OpenSslError("setting keyUsage");
  }
  return AddExtension(cert, NID_key_usage, usage.get(), /*critical=*/true);
}

absl::Status AddExtendedKeyUsage(X509* cert, const Profile& profile) {
  if (!profile.client_auth && !profile.server_auth) return absl::OkStatus();
  EkuPtr usage(sk_ASN1_OBJECT_new_null());
  if (usage == nullptr) return OpenSslError("allocating extendedKeyUsage");
  if (profile.server_auth) sk_ASN1_OBJECT_push(usage.get(), OBJ_nid2obj(NID_server_auth));
  if (profile.client_auth) sk_ASN1_OBJECT_push(usage.get(), OBJ_nid2obj(NID_client_auth));
  return AddExtension(cert, NID_ext_key_usage, usage.get(), /*critical=*/false);
}

// Appends one IA5String name (URI or DNS) after checking it is printable ASCII.
absl::Status AddIa5Name(GENERAL_NAMES* names, int type, const std::string& value,
                        std::string_view what) {
  bool printable = !value.empty();
  for (unsigned char c : value) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    return InvalidInput(absl::StrCat(internal::Av(what), " SAN \"", value,
                                     "\" must be non-empty printable ASCII without spaces"));
  }
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  if (name == nullptr || text == nullptr ||
      ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(text);
    return OpenSslError("allocating a subject alternative name");
  }
  GENERAL_NAME_set0_value(name, type, text);
  if (sk_GENERAL_NAME_push(names, name) <= 0) {
    GENERAL_NAME_free(name);
    return OpenSslError("adding a subject alternative name");
  }
  return absl::OkStatus();
}

absl::Status AddSubjectAltNames(X509* cert, const Profile& profile) {
  if (profile.uri_sans.empty() && profile.dns_sans.empty() && profile.ip_sans.empty()) {
    return absl::OkStatus();
  }
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return OpenSslError("allocating subjectAltName");
  for (const std::string& uri : profile.uri_sans) {
    WB_RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_URI, uri, "URI"));
  }
  for (const std::string& dns : profile.dns_sans) {
    WB_RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_DNS, dns, "DNS"));
  }
  for (const std::string& ip : profile.ip_sans) {
    ASN1_OCTET_STRING* address = a2i_IPADDRESS(ip.c_str());
    if (address == nullptr) {
      return InvalidInput(absl::StrCat("IP SAN \"", ip, "\" is not an IPv4 or IPv6 literal"));
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      ASN1_OCTET_STRING_free(address);
      return OpenSslError("allocating a subject alternative name");
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, address);
    if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
      GENERAL_NAME_free(name);
      return OpenSslError("adding a subject alternative name");
    }
  }
  return AddExtension(cert, NID_subject_alt_name, names.get(), /*critical=*/false);
}

// The SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1).
absl::StatusOr<OctetStringPtr> KeyIdOf(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (id == nullptr || X509_pubkey_digest(cert, EVP_sha1(), digest, &len) != 1 ||
      ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(len)) != 1) {
    return OpenSslError("computing a key identifier");
  }
  return id;
}

absl::Status AddSubjectKeyId(X509* cert) {
  WB_ASSIGN_OR_RETURN(OctetStringPtr id, KeyIdOf(cert));
  return AddExtension(cert, NID_subject_key_identifier, id.get(), /*critical=*/false);
}

// The issuer's own subject key identifier, or one computed from its key
// when its certificate has none (an operator's CA).
absl::Status AddAuthorityKeyId(X509* cert, X509* issuer) {
  AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
  if (aki == nullptr) return OpenSslError("allocating authorityKeyIdentifier");
  const ASN1_OCTET_STRING* issuer_id = X509_get0_subject_key_id(issuer);
  if (issuer_id != nullptr) {
    aki->keyid = ASN1_OCTET_STRING_dup(issuer_id);
    if (aki->keyid == nullptr) return OpenSslError("copying a key identifier");
  } else {
    WB_ASSIGN_OR_RETURN(OctetStringPtr id, KeyIdOf(issuer));
    aki->keyid = id.release();
  }
  return AddExtension(cert, NID_authority_key_identifier, aki.get(), /*critical=*/false);
}

// Version 3, a random positive 128-bit serial, validity, subject CN, key.
absl::StatusOr<X509Ptr> NewCertificate(std::string_view common_name, absl::Time not_before,
                                       absl::Time not_after, EVP_PKEY* key) {
  if (not_after <= not_before) {
    return InvalidInput(absl::StrCat("not_after (", absl::FormatTime(not_after),
                                     ") must be after not_before (", absl::FormatTime(not_before),
                                     ")"));
  }
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("creating a certificate");
  }
  BignumPtr serial(BN_new());
  if (serial == nullptr) return OpenSslError("allocating a serial number");
  do {
    if (BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return OpenSslError("drawing a random serial number");
    }
  } while (BN_is_zero(serial.get()));
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("setting a serial number");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after)) == nullptr) {
    return OpenSslError("setting the validity");
  }
  WB_RETURN_IF_ERROR(internal::AddCommonName(X509_get_subject_name(cert.get()), common_name));
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("setting the public key");
  return cert;
}

absl::StatusOr<std::string> SignToPem(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, internal::DigestFor(issuer_key)) <= 0) {
    return OpenSslError("signing a certificate");
  }
  return internal::CertificateToPem(cert);
}

absl::StatusOr<std::string> Issue(const Authority& authority, EVP_PKEY* subject_key,
                                  const Profile& profile) {
  WB_RETURN_IF_ERROR(internal::CheckAcceptableKey(subject_key));
  auto ca_cert = internal::ParseCertificate(authority.cert_pem);
  if (!ca_cert.ok()) return InvalidInput("the authority's certificate does not parse");
  auto ca_key = internal::ParsePrivateKey(authority.key_pem);
  if (!ca_key.ok()) return InvalidInput("the authority's key does not parse");
  EVP_PKEY* ca_public = X509_get0_pubkey(ca_cert->get());
  if (ca_public == nullptr || EVP_PKEY_eq(ca_public, ca_key->get()) != 1) {
    return InvalidInput("the authority's key does not match its certificate");
  }
  WB_ASSIGN_OR_RETURN(absl::Time ca_not_after,
                      internal::ToAbslTime(X509_get0_notAfter(ca_cert->get())));
  if (profile.not_after > ca_not_after) {
    return InvalidInput(absl::StrCat("not_after (", absl::FormatTime(profile.not_after),
                                     ") lies beyond the authority's not_after (",
                                     absl::FormatTime(ca_not_after), ")"));
  }
  WB_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(profile.common_name, profile.not_before,
                                                   profile.not_after, subject_key));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert->get())) != 1) {
    return OpenSslError("setting the issuer name");
  }
  WB_RETURN_IF_ERROR(AddBasicConstraints(cert.get(), /*ca=*/false));
  if (EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA) {
    WB_RETURN_IF_ERROR(AddKeyUsage(cert.get(), {kDigitalSignature, kKeyEncipherment}));
  } else {
    WB_RETURN_IF_ERROR(AddKeyUsage(cert.get(), {kDigitalSignature}));
  }
  WB_RETURN_IF_ERROR(AddExtendedKeyUsage(cert.get(), profile));
  WB_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), profile));
  WB_RETURN_IF_ERROR(AddSubjectKeyId(cert.get()));
  WB_RETURN_IF_ERROR(AddAuthorityKeyId(cert.get(), ca_cert->get()));
  return SignToPem(cert.get(), ca_key->get());
}

}  // namespace

absl::StatusOr<Authority> NewAuthority(std::string_view common_name, absl::Time not_before,
                                       absl::Time not_after) {
  Authority authority;
  WB_ASSIGN_OR_RETURN(authority.key_pem, NewPrivateKeyPem());
  WB_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::ParsePrivateKey(authority.key_pem));
  WB_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(common_name, not_before, not_after, key.get()));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return OpenSslError("setting the issuer name");
  }
  WB_RETURN_IF_ERROR(AddBasicConstraints(cert.get(), /*ca=*/true));
  WB_RETURN_IF_ERROR(AddKeyUsage(cert.get(), {kKeyCertSign, kCrlSign}));
  WB_RETURN_IF_ERROR(AddSubjectKeyId(cert.get()));
  WB_ASSIGN_OR_RETURN(authority.cert_pem, SignToPem(cert.get(), key.get()));
  return authority;
}

absl::StatusOr<std::string> IssueFromCsr(const Authority& authority, std::string_view csr_pem,
                                         const Profile& profile) {
  WB_ASSIGN_OR_RETURN(X509ReqPtr csr, internal::ParseCsr(csr_pem));
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
  if (key == nullptr) return InvalidInput("the CSR's public key is not supported");
  if (X509_REQ_verify(csr.get(), key) != 1) return InvalidInput("CSR signature does not verify");
  return Issue(authority, key, profile);
}

absl::StatusOr<std::string> IssueForPublicKey(const Authority& authority,
                                              std::string_view public_key_pem,
                                              const Profile& profile) {
  WB_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::ParsePublicKey(public_key_pem));
  return Issue(authority, key.get(), profile);
}

}  // namespace writeback::pki
