// Keys, CSRs, inspection and checks. Issuing is in x509_issue.cc.
#include "common/pki/x509.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/pki/openssl_util.h"

namespace writeback::pki {
namespace {

using internal::BignumPtr;
using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::InvalidInput;
using internal::OpenSslError;
using internal::X509Ptr;
using internal::X509ReqPtr;

std::string CommonNameOf(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string AsString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string IpToText(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {0};
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4 && inet_ntop(AF_INET, bytes, text, sizeof(text)) != nullptr) return text;
  if (len == 16 && inet_ntop(AF_INET6, bytes, text, sizeof(text)) != nullptr) return text;
  return absl::StrCat("<", len, "-byte address>");
}

void ReadSubjectAltNames(X509* cert, CertificateInfo* info) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_URI:
        info->uri_sans.push_back(AsString(name->d.uniformResourceIdentifier));
        break;
      case GEN_DNS:
        info->dns_sans.push_back(AsString(name->d.dNSName));
        break;
      case GEN_IPADD:
        info->ip_sans.push_back(IpToText(name->d.iPAddress));
        break;
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
}

absl::StatusOr<std::string> SerialOf(X509* cert) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial == nullptr) return OpenSslError("reading a serial number");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) return OpenSslError("printing a serial number");
  std::string text = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  std::string sign;
  if (!text.empty() && text[0] == '-') {
    sign = "-";
    text.erase(0, 1);
  }
  size_t first = text.find_first_not_of('0');
  return sign + (first == std::string::npos ? "0" : text.substr(first));
}

absl::StatusOr<std::string> FingerprintOf(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &len) != 1) {
    return OpenSslError("hashing a certificate");
  }
  return internal::LowerHex(digest, len);
}

}  // namespace

absl::StatusOr<std::string> NewPrivateKeyPem() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("generating an EC P-256 key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                                                      nullptr, nullptr) != 1) {
    return OpenSslError("writing a private key as PKCS#8 PEM");
  }
  return internal::BioContents(bio.get());
}

absl::StatusOr<std::string> NewCsrPem(std::string_view key_pem, std::string_view common_name) {
  WB_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::ParsePrivateKey(key_pem));
  X509ReqPtr csr(X509_REQ_new());
  if (csr == nullptr || X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) != 1) {
    return OpenSslError("creating a CSR");
  }
  WB_RETURN_IF_ERROR(internal::AddCommonName(X509_REQ_get_subject_name(csr.get()), common_name));
  if (X509_REQ_set_pubkey(csr.get(), key.get()) != 1) return OpenSslError("setting a CSR's key");
  if (X509_REQ_sign(csr.get(), key.get(), internal::DigestFor(key.get())) <= 0) {
    return OpenSslError("signing a CSR");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), csr.get()) != 1) {
    return OpenSslError("writing a CSR as PEM");
  }
  return internal::BioContents(bio.get());
}

absl::StatusOr<std::string> PublicKeyPemOfPrivateKey(std::string_view key_pem) {
  if (auto key = internal::ParsePrivateKey(key_pem); key.ok()) {
    return internal::PublicKeyToPem(key->get());
  }
  if (auto csr = internal::ParseCsr(key_pem); csr.ok()) {
    EVP_PKEY* key = X509_REQ_get0_pubkey(csr->get());
    if (key == nullptr) return InvalidInput("the CSR's public key is not supported");
    return internal::PublicKeyToPem(key);
  }
  return InvalidInput("neither a private key nor a certificate signing request (PEM expected)");
}

absl::StatusOr<CertificateInfo> InspectCertificate(std::string_view pem) {
  WB_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificate(pem));
  CertificateInfo info;
  WB_ASSIGN_OR_RETURN(info.serial, SerialOf(cert.get()));
  info.subject_cn = CommonNameOf(X509_get_subject_name(cert.get()));
  info.issuer_cn = CommonNameOf(X509_get_issuer_name(cert.get()));
  WB_ASSIGN_OR_RETURN(info.not_before, internal::ToAbslTime(X509_get0_notBefore(cert.get())));
  WB_ASSIGN_OR_RETURN(info.not_after, internal::ToAbslTime(X509_get0_notAfter(cert.get())));
  ReadSubjectAltNames(cert.get(), &info);
  auto* constraints = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr));
  if (constraints != nullptr) {
    info.is_ca = constraints->ca != 0;
    BASIC_CONSTRAINTS_free(constraints);
  }
  WB_ASSIGN_OR_RETURN(info.fingerprint, FingerprintOf(cert.get()));
  return info;
}

absl::StatusOr<std::vector<std::string>> SplitCertificates(std::string_view pem_bundle) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = pem_bundle.find(kBegin, pos)) != std::string_view::npos) {
    size_t end = pem_bundle.find(kEnd, pos);
    if (end == std::string_view::npos) {
      return InvalidInput(absl::StrCat("certificate ", out.size() + 1,
                                       " of the bundle has no END CERTIFICATE line"));
    }
    end += kEnd.size();
    auto cert = internal::ParseCertificate(pem_bundle.substr(pos, end - pos));
    if (!cert.ok()) {
      return InvalidInput(
          absl::StrCat("certificate ", out.size() + 1, " of the bundle does not parse"));
    }
    WB_ASSIGN_OR_RETURN(std::string pem, internal::CertificateToPem(cert->get()));
    out.push_back(std::move(pem));
    pos = end;
  }
  if (out.empty()) return InvalidInput("no certificate in the bundle (PEM CERTIFICATE expected)");
  return out;
}

absl::StatusOr<std::string> Fingerprint(std::string_view cert_pem) {
  WB_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificate(cert_pem));
  return FingerprintOf(cert.get());
}

absl::Status CheckKeyMatchesCertificate(std::string_view key_pem, std::string_view cert_pem) {
  WB_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::ParsePrivateKey(key_pem));
  WB_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificate(cert_pem));
  EVP_PKEY* cert_key = X509_get0_pubkey(cert.get());
  if (cert_key == nullptr || EVP_PKEY_eq(cert_key, key.get()) != 1) {
    return InvalidInput("key does not match certificate");
  }
  return absl::OkStatus();
}

absl::Status CheckSignedBy(std::string_view cert_pem, std::string_view issuer_pem) {
  WB_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificate(cert_pem));
  auto issuer = internal::ParseCertificate(issuer_pem);
  if (!issuer.ok()) return InvalidInput("issuer is not a certificate");
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer->get());
  if (issuer_key == nullptr || X509_verify(cert.get(), issuer_key) != 1) {
    return InvalidInput(absl::StrCat("certificate \"",
                                     CommonNameOf(X509_get_subject_name(cert.get())),
                                     "\" is not signed by the key of \"",
                                     CommonNameOf(X509_get_subject_name(issuer->get())), "\""));
  }
  return absl::OkStatus();
}

}  // namespace writeback::pki
