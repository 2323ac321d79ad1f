// The agent's own local policy (DESIGN §5, defense in depth): whatever the
// controller asks, the agent writes only allowlisted, valid attribute values,
// and only on objects inside its scope OUs.
//
//   LocalPolicy policy;
//   policy.scope_ous = {"OU=Mailboxes,DC=corp,DC=example,DC=test"};
//   PolicyChecker checker(policy);
//   if (absl::Status s = checker.CheckJob(job); !s.ok()) {
//     // REJECTED_BY_POLICY, s.message() names the attribute and value
//   }
//   checker.InScope("CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test");  // true
//   checker.InScope("CN=Bob,OU=NotMailboxes,DC=corp,DC=example,DC=test"); // false
#ifndef WRITEBACK_AGENT_APPLY_LOCAL_POLICY_H_
#define WRITEBACK_AGENT_APPLY_LOCAL_POLICY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/attributes/catalog.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

struct LocalPolicy {
  // LDAP display names, any case. Empty: the catalog's default set (24).
  std::vector<std::string> allowed_attributes;
  // DNs of the subtrees the agent may write in. Empty: the whole base DN
  // (JobApplier substitutes the directory's base DN).
  std::vector<std::string> scope_ous;
  // How anchors are matched. false (default): by objectGUID first (indexed,
  // in the Global Catalog), accepting an object whose ms-DS-ConsistencyGuid
  // is empty or equal to the anchor, and by ms-DS-ConsistencyGuid only for
  // anchors left unmatched; ms-DS-ConsistencyGuid is not indexed in AD, so
  // that search scans the domain. true: every anchor is also searched by
  // ms-DS-ConsistencyGuid, which also catches a second object claiming the
  // same anchor through it, at the price of a scan per batch.
  bool full_consistency_guid_scan = false;

  // SMTP domains the agent may write in proxyAddresses SMTP/smtp values and
  // in mail (exact domain, ignoring ASCII case; no subdomains). Empty: any.
  std::vector<std::string> accepted_domains;
  // Most values one attribute may be given by a job; 0: no limit beyond the
  // catalog's own rules.
  uint32_t max_values_per_attribute = kDefaultMaxValuesPerAttribute;
  // After the job, mail must equal the primary SMTP address of
  // proxyAddresses (ignoring case) when the job changes either and both are
  // present.
  bool mail_must_match_primary = true;
  // proxyAddresses types writeback owns, e.g. {"SMTP", "SIP"} (any case).
  // Values of other types are never added or deleted. Empty: all types.
  std::vector<std::string> owned_address_types;
  // Every SMTP address a job adds (to proxyAddresses or mail) must not be
  // held by another object under the base DN (checked by search).
  bool check_address_uniqueness = true;
  // Modifies a second per DC; the applier waits for its turn. 0: unlimited.
  uint32_t max_writes_per_second = 0;
  // Modifies per `write_window`, agent-wide; beyond it jobs are refused
  // (REJECTED_BY_POLICY). 0: no cap.
  uint32_t max_writes_per_window = 0;
  absl::Duration write_window = absl::Hours(1);
  // Agent-wide dry run: every job behaves as if job.dry_run were set.
  bool dry_run = false;

  static constexpr uint32_t kDefaultMaxValuesPerAttribute = 1000;
};

// Reports what is wrong with a policy (an attribute unknown to the catalog, a
// scope OU that is not a DN, an accepted domain that is not a domain name,
// an address type that is not 1-9 letters or digits, a volume cap without a
// window) so that main() can refuse to start with it.
// PolicyChecker itself never widens a policy it cannot read: an unknown
// attribute allows nothing, and an unreadable scope OU contains nothing.
absl::Status ValidateLocalPolicy(const LocalPolicy& policy);

// Immutable after construction; thread-safe. Copyable.
class PolicyChecker {
 public:
  explicit PolicyChecker(const LocalPolicy& policy,
                         const AttributeCatalog& catalog = AttributeCatalog::Default());

  // OK when every change names an attribute that the catalog knows and the
  // allowlist holds (else kPermissionDenied naming it), no attribute appears
  // twice, and every desired value set passes ValidateValues() (else
  // kInvalidArgument naming the attribute and quoting the value), holds at
  // most max_values_per_attribute values (else kResourceExhausted), and
  // every desired SMTP address of an owned type in proxyAddresses and every
  // desired mail is in an accepted domain (else kPermissionDenied naming the
  // value and the domain). Needs no directory.
  // With `attribute`, sets it to the attribute a refusal concerns (as the
  // job names it), or clears it when the job passes.
  absl::Status CheckJob(const v1::Job& job, std::string* attribute = nullptr) const;

  // True when writeback owns the type of this proxyAddresses value.
  bool OwnsAddress(std::string_view proxy_address) const;
  // The owned address types, upper-cased; empty: all.
  const std::vector<std::string>& owned_types() const { return owned_types_; }

  // True when `dn` is one of the scope OUs or below one, comparing RDN by RDN
  // (attribute types and values ignoring ASCII case, DN escapes decoded, so
  // "OU=A\,B" and "ou=a\2cb" are equal), never as a plain substring:
  // "CN=x,OU=NotMailboxes,..." is not inside "OU=Mailboxes,...". Always true
  // when the policy has no scope OUs; false for a DN that does not parse.
  bool InScope(std::string_view dn) const;

  // Why an object of these objectClass values is no mailbox user that
  // writeback may write (a group, a contact, a computer), or empty when it
  // is one. Empty for an empty list (the attribute was not returned).
  static std::string NotAUserAccount(const std::vector<std::string>& object_classes);

  // The allowlisted attributes, in catalog order.
  const std::vector<const AttributeSpec*>& allowed() const { return allowed_; }
  // The allowlisted spec for `name` (any case), or nullptr.
  const AttributeSpec* FindAllowed(std::string_view name) const;

 private:
  absl::Status CheckDomains(const AttributeSpec& spec,
                            const std::vector<std::string>& desired) const;

  const AttributeCatalog* catalog_;
  std::vector<const AttributeSpec*> allowed_;
  bool scoped_ = false;
  std::vector<std::string> owned_types_;       // upper-cased
  std::vector<std::string> accepted_domains_;  // lower-cased
  uint32_t max_values_ = 0;
  // Each scope OU as normalized RDNs, leaf first.
  std::vector<std::vector<std::string>> scopes_;
};

// Splits `dn` into normalized RDNs, leaf first: types and values lower-cased
// (ASCII), escapes decoded, insignificant spaces dropped, the parts of a
// multi-valued RDN sorted and joined by '+' (a '+' or '\' inside a value is
// kept as "\2b" or "\5c"). Returns false for a malformed DN. Exposed for
// tests.
bool NormalizeDn(std::string_view dn, std::vector<std::string>* rdns);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_LOCAL_POLICY_H_
