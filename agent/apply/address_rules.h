// Small pure helpers for the address rules of the local policy (DESIGN §5,
// ../shared/ATTRIBUTES.md "proxyAddresses rules"): address types, SMTP
// addresses and their domains, and RFC 4515 filter escaping.
//
//   AddressType("smtp:ann@corp.example.test");        // "SMTP"
//   SmtpAddress("SMTP:ann@corp.example.test");        // "ann@corp.example.test"
//   SmtpAddress("X500:/o=corp/cn=ann");               // "" (not SMTP)
//   DomainOf("ann@Corp.Example.Test");                // "Corp.Example.Test"
//   EscapeFilterValue("a*(b)");                       // "a\2a\28b\29"
//
// All functions are pure and thread-safe.
#ifndef WRITEBACK_AGENT_APPLY_ADDRESS_RULES_H_
#define WRITEBACK_AGENT_APPLY_ADDRESS_RULES_H_

#include <string>
#include <string_view>
#include <vector>

namespace writeback::agent {

// The TYPE of a "TYPE:address" proxyAddresses value, upper-cased (ASCII);
// "" when the value has no ':'.
std::string AddressType(std::string_view proxy_address);

// The address of an SMTP proxyAddresses value ("SMTP:" or "smtp:"), or "".
std::string SmtpAddress(std::string_view proxy_address);

// The domain of an addr-spec: what follows the last '@' ("" when none).
std::string DomainOf(std::string_view address);

// Escapes an assertion value for an LDAP search filter (RFC 4515 §3):
// '*', '(', ')', '\' and NUL become \2a, \28, \29, \5c and \00. UTF-8 passes
// through unchanged.
std::string EscapeFilterValue(std::string_view value);

// The values of `values` whose type is in `types` (upper-case TYPE names).
// An empty `types` keeps every value.
std::vector<std::string> OfTypes(const std::vector<std::string>& values,
                                 const std::vector<std::string>& types);
// The values whose type is NOT in `types` (none when `types` is empty).
std::vector<std::string> NotOfTypes(const std::vector<std::string>& values,
                                    const std::vector<std::string>& types);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_ADDRESS_RULES_H_
