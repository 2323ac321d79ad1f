// Source anchors: the 16 raw bytes that tie a cloud mailbox to its AD user
// (objectGUID or ms-DS-ConsistencyGuid), and the ways people write them.
//
//   WB_ASSIGN_OR_RETURN(std::string anchor, ParseAnchor("{01234567-89ab-cdef-0123-456789abcdef}"));
//   std::string filter = absl::StrCat("(objectGUID=", EscapeLdapFilterBytes(anchor), ")");
//   // (objectGUID=\67\45\23\01\ab\89\ef\cd\01\23\45\67\89\ab\cd\ef)
//
// Byte layout: AD stores a GUID as Windows' GUID struct in memory, so the
// first three fields of the string form are little-endian and the last eight
// bytes are in string order. "01234567-89ab-cdef-0123-456789abcdef" is stored
// as 67 45 23 01 | ab 89 | ef cd | 01 23 45 67 89 ab cd ef, which ldapsearch
// prints as "objectGUID:: Z0UjAauJ780BI0VniavN7w==".
//
// Thread-safe, no state.
#ifndef WRITEBACK_COMMON_IDENTITY_ANCHOR_H_
#define WRITEBACK_COMMON_IDENTITY_ANCHOR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace writeback {

inline constexpr size_t kAnchorSize = 16;

// Accepts, after trimming surrounding ASCII whitespace:
// - a GUID string "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in any case,
//   optionally in braces, converted to AD's binary layout (above);
// - standard base64 of exactly 16 bytes, as ldapsearch prints objectGUID:: and
//   Entra ID shows an ImmutableId.
// Returns the 16 raw bytes; kInvalidArgument for anything else.
absl::StatusOr<std::string> ParseAnchor(std::string_view text);

// Whether `text` is a GUID string "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex
// digits in any case, no braces): the form of a cloud object id.
bool IsGuidString(std::string_view text);

// The lower-case GUID string of 16 raw bytes (inverse of the GUID form of
// ParseAnchor); "" if `bytes` is not 16 bytes long.
std::string AnchorToGuidString(std::string_view bytes);

// Standard base64 with padding of `bytes` ("Z0UjAauJ780BI0VniavN7w==").
std::string AnchorToBase64(std::string_view bytes);

// RFC 4515 escaping of arbitrary bytes for an LDAP filter assertion value:
// every byte as a backslash and two lower-case hex digits, so binary values
// and filter metacharacters ( ) * \ NUL are all safe.
std::string EscapeLdapFilterBytes(std::string_view bytes);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_IDENTITY_ANCHOR_H_
