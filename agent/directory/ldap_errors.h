// LDAP result codes, classified in one place: what the applier reports for a
// failed modify (ClassifyLdapCode), how a code reads in a diagnostic
// (LdapCodeName) and which absl::Status a failed operation becomes
// (LdapStatus).
//
//   LdapResult r = ...;
//   switch (ClassifyLdapCode(r.code)) {
//     case LdapErrorClass::kConflict:  // the compare-and-swap failed
//     ...
//   }
//   // "LDAP modify of CN=x failed: noSuchAttribute (16): ..."
//   absl::StrCat("failed: ", LdapCodeName(r.code));
#ifndef WRITEBACK_AGENT_DIRECTORY_LDAP_ERRORS_H_
#define WRITEBACK_AGENT_DIRECTORY_LDAP_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace writeback::agent {

enum class LdapErrorClass {
  // 0.
  kSuccess,
  // The compare-and-swap of a modify failed: 16 noSuchAttribute (an expected
  // value was no longer there to delete) or 20 attributeOrValueExists (a value
  // to add was already there, or a single-valued attribute believed absent
  // had a value). Nothing was written; re-read the object.
  kConflict,
  // Transient: the same request may succeed later or on another DC.
  // Client side: -1 server down, -5 timeout, -11 connect error, -4 decoding
  // error (a broken stream), and 81/85/91, the server-down / timeout /
  // connect-error codes of the old C API. Server side: 3 timeLimitExceeded,
  // 51 busy, 52 unavailable, and 80 other (AD and Samba answer 80 for
  // internal failures such as a locked or full database; a real permanent
  // cause keeps failing and the controller's retry policy quarantines it).
  kRetryable,
  // Everything else: retrying the same request will not help. Notably
  // 11 adminLimitExceeded (AD answers it for requests over a configured
  // limit, such as too many values in one modify: the identical request
  // would hit the same limit again), 17 undefinedAttributeType,
  // 19 constraintViolation, 21 invalidAttributeSyntax, 32 noSuchObject,
  // 49 invalidCredentials, 50 insufficientAccessRights, 53 unwillingToPerform,
  // 65 objectClassViolation, 10 referral (the object lives in another
  // domain), 12 unavailableCriticalExtension, 1 operationsError, and client
  // errors such as -7 filter error or -9 parameter error (bugs).
  kPermanent,
};

// Classification of `code` (see LdapErrorClass for each choice).
LdapErrorClass ClassifyLdapCode(int code);

// "noSuchAttribute (16)"; "LDAP code 1234" for codes without a name.
std::string LdapCodeName(int code);
// The code's name alone ("insufficientAccessRights"), "unknown" when it has none.
std::string LdapCodeShortName(int code);

// The absl::Status for an operation that ended with `code`; OK for 0.
// The message is "<what>: <code name>", plus `diagnostic` when not empty.
// Codes are chosen for the caller's retry decision:
//   kUnavailable        server down, connect error, busy, unavailable, other
//   kDeadlineExceeded   client timeout, timeLimitExceeded
//   kAborted            noSuchAttribute / attributeOrValueExists (the CAS)
//   kNotFound           noSuchObject
//   kUnauthenticated    invalidCredentials, inappropriateAuthentication,
//                       strongerAuthRequired, confidentialityRequired
//   kPermissionDenied   insufficientAccessRights
//   kInvalidArgument    schema, syntax and constraint errors, filter errors
//   kResourceExhausted  sizeLimitExceeded, adminLimitExceeded, no memory
//   kUnimplemented      unavailableCriticalExtension, not supported
//   kFailedPrecondition unwillingToPerform, referral and other refusals
// The code is attached as a payload: read it back with LdapCodeOf().
absl::Status LdapStatus(int code, std::string_view what,
                        std::string_view diagnostic = {});

// The LDAP code attached by LdapStatus(), if any.
std::optional<int> LdapCodeOf(const absl::Status& status);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_LDAP_ERRORS_H_
