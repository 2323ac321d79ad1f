// Validation, comparison and normalization of attribute values, in their LDAP
// string form (UTF-8), before writeback writes them to Active Directory.
//
//   const AttributeSpec& spec = *AttributeCatalog::Default().Find("proxyAddresses");
//   WB_RETURN_IF_ERROR(ValidateValues(spec, wanted));  // never trust the directory
//   if (SetsEqual(spec, stored, wanted)) return absl::OkStatus();  // nothing to do
//   std::string mail = PrimarySmtpAddress(wanted);
//
// Every error is kInvalidArgument (fix the data, do not retry) and its message
// names the attribute, quotes the offending value (at most about 80
// characters, control and non-UTF-8 bytes shown as \xNN) and says what is
// wrong and what to do, e.g.
//   msExchRecipientTypeDetails: "abc" is not a number (Large Integer: a
//   decimal 64-bit integer such as 2147483648 for RemoteUserMailbox)
//
// Rules by syntax:
// - Unicode String: non-empty, valid UTF-8 (no overlong forms or surrogates),
//   no control characters (U+0000-U+001F, U+007F-U+009F, so no tab or line
//   break), at most rangeUpper characters counted as code points.
//   `mail` must also be an SMTP address (see proxyAddresses).
// - Integer: decimal 32-bit signed; Large Integer: decimal 64-bit signed. An
//   optional leading '+' or '-' and leading zeros are accepted; no spaces.
//   CanonicalValue() turns "+007" into "7" before anything is sent.
// - Boolean: TRUE or FALSE in any case; CanonicalValue() gives "TRUE"/"FALSE".
// - proxyAddresses, each value: TYPE:address, TYPE 1-9 ASCII letters or digits
//   (SMTP, X500, X400, SIP, EUM, SPO, ...), address non-empty, at most 1123
//   characters in all. "SMTP" must be written "SMTP" (primary) or "smtp"
//   (secondary); "Smtp:" is rejected as ambiguous. An SMTP address must be an
//   addr-spec: local@domain, the local part a dot-atom or a quoted string (at
//   most 64 bytes), the domain two or more DNS labels (letters, digits,
//   hyphens; at most 63 bytes each, 255 in all). Non-ASCII UTF-8 is allowed in
//   both parts (RFC 6531); address literals ("[192.0.2.1]") are not. Other
//   types are accepted as they are and never rewritten.
// - proxyAddresses, the set: no two values equal ignoring case (the prefix
//   included, so "SMTP:a@x" and "smtp:A@X" clash), and a non-empty set has
//   exactly one primary "SMTP:" value. A set of only secondary or only
//   non-SMTP values is rejected: a mailbox without a primary SMTP address
//   cannot receive mail, which is never what an operator meant. The empty set
//   (clearing the attribute) is valid. When a forest policy narrows the types
//   writeback owns, validate the merged set that will be stored.
//
// Comparison follows the directory's matching rules, with one deliberate
// exception:
// - Unicode String: equal ignoring case. Folding covers ASCII, Latin-1,
//   Latin Extended-A, basic Greek and basic Cyrillic (simple one-to-one
//   lowercase mappings; no full Unicode folding or normalization: "ß" != "ss",
//   composed != decomposed). Invalid UTF-8 compares byte for byte.
// - proxyAddresses (the exception): the TYPE prefix compares exactly and the
//   address ignoring case, because the prefix's case carries meaning: turning
//   "smtp:a@x" into "SMTP:a@x" makes a@x the primary address and must be
//   written, though AD's own matching rule calls the two equal.
// - Integer / Large Integer: numerically ("007" == "7"); Boolean: ignoring case.
//
// All functions are pure and thread-safe.
#ifndef WRITEBACK_COMMON_ATTRIBUTES_VALIDATION_H_
#define WRITEBACK_COMMON_ATTRIBUTES_VALIDATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/attributes/catalog.h"

namespace writeback {

// Validates one value of `spec` (for proxyAddresses: one TYPE:address value).
absl::Status ValidateValue(const AttributeSpec& spec, std::string_view value);

// Validates a whole value set: every value, the count (a single-valued
// attribute takes at most one; none clears it), no two values equal under
// ValuesEqual, and for proxyAddresses the set rules above.
absl::Status ValidateValues(const AttributeSpec& spec, const std::vector<std::string>& values);

// Validates a proxyAddresses set: every value and the set rules above.
absl::Status ValidateProxyAddresses(const std::vector<std::string>& values);

// True if the directory holds `a` and `b` as the same value (rules above).
bool ValuesEqual(const AttributeSpec& spec, std::string_view a, std::string_view b);

// `text` in double quotes as the errors above quote values: at most about 80
// characters ("..." after), '"' and '\' escaped, control characters and bytes
// that are not UTF-8 as \xNN. For any error that echoes what a caller sent.
std::string QuoteForError(std::string_view text);

// True if `a` and `b` hold the same values under ValuesEqual, as unordered
// sets (order and repeats do not matter).
bool SetsEqual(const AttributeSpec& spec, const std::vector<std::string>& a,
               const std::vector<std::string>& b);

// The form to store and send: integers as canonical decimal ("+007" -> "7",
// "-0" -> "0"), Booleans as "TRUE"/"FALSE", strings (and so proxy addresses)
// unchanged. A value that does not parse is returned unchanged; validate first.
std::string CanonicalValue(const AttributeSpec& spec, std::string_view value);

// The primary SMTP address of a proxyAddresses set without its "SMTP:" prefix
// ("SMTP:John@contoso.com" -> "John@contoso.com"), or "" if there is none. With
// several primaries (an invalid set) the first is returned.
std::string PrimarySmtpAddress(const std::vector<std::string>& proxy_addresses);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_ATTRIBUTES_VALIDATION_H_
