#include "agent/directory/ldap_errors.h"

#include "agent/directory/ldap_observer.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace writeback::agent {
namespace {

constexpr char kCodePayloadUrl[] = "type.writeback/ldap_code";

const char* KnownName(int code) {
  switch (code) {
    case 0: return "success";
    case 1: return "operationsError";
    case 2: return "protocolError";
    case 3: return "timeLimitExceeded";
    case 4: return "sizeLimitExceeded";
    case 5: return "compareFalse";
    case 6: return "compareTrue";
    case 7: return "authMethodNotSupported";
    case 8: return "strongerAuthRequired";
    case 10: return "referral";
    case 11: return "adminLimitExceeded";
    case 12: return "unavailableCriticalExtension";
    case 13: return "confidentialityRequired";
    case 14: return "saslBindInProgress";
    case 16: return "noSuchAttribute";
    case 17: return "undefinedAttributeType";
    case 18: return "inappropriateMatching";
    case 19: return "constraintViolation";
    case 20: return "attributeOrValueExists";
    case 21: return "invalidAttributeSyntax";
    case 32: return "noSuchObject";
    case 33: return "aliasProblem";
    case 34: return "invalidDNSyntax";
    case 36: return "aliasDereferencingProblem";
    case 48: return "inappropriateAuthentication";
    case 49: return "invalidCredentials";
    case 50: return "insufficientAccessRights";
    case 51: return "busy";
    case 52: return "unavailable";
    case 53: return "unwillingToPerform";
    case 54: return "loopDetect";
    case 64: return "namingViolation";
    case 65: return "objectClassViolation";
    case 66: return "notAllowedOnNonLeaf";
    case 67: return "notAllowedOnRDN";
    case 68: return "entryAlreadyExists";
    case 69: return "objectClassModsProhibited";
    case 71: return "affectsMultipleDSAs";
    case 80: return "other";
    case 81: return "serverDown";
    case 82: return "localError";
    case 85: return "timeout";
    case 91: return "connectError";
    case 118: return "canceled";
    case 119: return "noSuchOperation";
    case 122: return "assertionFailed";
    case 123: return "authorizationDenied";
    // Client-side codes of OpenLDAP's libldap.
    case -1: return "serverDown";
    case -2: return "localError";
    case -3: return "encodingError";
    case -4: return "decodingError";
    case -5: return "timeout";
    case -6: return "authUnknown";
    case -7: return "filterError";
    case -8: return "userCancelled";
    case -9: return "paramError";
    case -10: return "noMemory";
    case -11: return "connectError";
    case -12: return "notSupported";
    case -13: return "controlNotFound";
    case -14: return "noResultsReturned";
    case -16: return "clientLoop";
    case -17: return "referralLimitExceeded";
    case -85: return "timeout";
    default: return nullptr;
  }
}

bool IsTimeout(int code) {
  return code == -5 || code == -85 || code == 85 || code == 3;
}

absl::StatusCode StatusCodeFor(int code) {
  if (IsTimeout(code)) return absl::StatusCode::kDeadlineExceeded;
  switch (code) {
    case 16: case 20:
      return absl::StatusCode::kAborted;
    case 32:
      return absl::StatusCode::kNotFound;
    case 7: case 8: case 13: case 48: case 49: case -6:
      return absl::StatusCode::kUnauthenticated;
    case 50: case 123:
      return absl::StatusCode::kPermissionDenied;
    case 17: case 18: case 19: case 21: case 34: case 64: case 65: case 66:
    case 67: case 68: case 69: case -3: case -7: case -9:
      return absl::StatusCode::kInvalidArgument;
    case 4: case 11: case -10:
      return absl::StatusCode::kResourceExhausted;
    case 12: case -12:
      return absl::StatusCode::kUnimplemented;
    default:
      break;
  }
  if (ClassifyLdapCode(code) == LdapErrorClass::kRetryable) {
    return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kFailedPrecondition;
}

}  // namespace

LdapErrorClass ClassifyLdapCode(int code) {
  switch (code) {
    case 0:
      return LdapErrorClass::kSuccess;
    case 16:  // noSuchAttribute: an expected value was gone (delete).
    case 20:  // attributeOrValueExists: a desired value was there (add).
      return LdapErrorClass::kConflict;
    case -1:   // serverDown
    case -4:   // decodingError: the stream broke mid-message
    case -5:   // timeout
    case -11:  // connectError
    case -85:  // timeout, as some callers spell it
    case 3:    // timeLimitExceeded
    case 51:   // busy
    case 52:   // unavailable
    case 80:   // other: internal failures (locked database, ...)
    case 81:   // serverDown (old C API)
    case 85:   // timeout (old C API)
    case 91:   // connectError (old C API)
      return LdapErrorClass::kRetryable;
    default:
      return LdapErrorClass::kPermanent;
  }
}

std::string LdapCodeShortName(int code) {
  const char* name = KnownName(code);
  return name == nullptr ? "unknown" : name;
}

std::string LdapCodeName(int code) {
  const char* name = KnownName(code);
  if (name == nullptr) return absl::StrCat("LDAP code ", code);
  return absl::StrCat(name, " (", code, ")");
}

absl::Status LdapStatus(int code, std::string_view what,
                        std::string_view diagnostic) {
  if (code == 0) return absl::OkStatus();
  // Debian's Abseil has its own string_view: convert explicitly.
  std::string message = absl::StrCat(
      absl::string_view(what.data(), what.size()), ": ", LdapCodeName(code));
  if (!diagnostic.empty()) {
    absl::StrAppend(&message, ": ",
                    absl::string_view(diagnostic.data(), diagnostic.size()));
  }
  absl::Status status(StatusCodeFor(code), message);
  status.SetPayload(kCodePayloadUrl, absl::Cord(absl::StrCat(code)));
  return status;
}

int StatusLdapCode(const absl::Status& status) {
  if (status.ok()) return 0;
  if (std::optional<int> code = LdapCodeOf(status)) return *code;
  return status.code() == absl::StatusCode::kDeadlineExceeded ? -5 : -1;
}

std::optional<int> LdapCodeOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kCodePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  int code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

}  // namespace writeback::agent
