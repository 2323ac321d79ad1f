// The parts of JobApplier (job_applier.h) that enforce the local policy on
// the object as it would be after the job: owned address types, mail equal to
// the primary SMTP address, forest-wide address uniqueness, and the write
// caps.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/apply/address_rules.h"
#include "agent/apply/job_applier.h"
#include "agent/directory/ldap_errors.h"
#include "common/attributes/validation.h"

namespace writeback::agent {
namespace {

// Enough room beyond one hit per address before a search counts as
// truncated.
constexpr int kSlack = 10;

std::vector<std::string> ValuesOf(const DirectoryEntry& entry, const std::string& name) {
  auto it = entry.attributes.find(absl::AsciiStrToLower(name));
  return it == entry.attributes.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& v) {
  return std::vector<std::string>(v.begin(), v.end());
}

bool SameDn(const std::string& a, const std::string& b) {
  std::vector<std::string> ra, rb;
  if (!NormalizeDn(a, &ra) || !NormalizeDn(b, &rb)) return a == b;
  return ra == rb;
}

// The job's final answer without a write.
void Refuse(JobApplier::Prepared* p, v1::Outcome outcome, const std::string& diagnostic) {
  p->done = true;
  p->mods.clear();
  p->new_addresses.clear();
  p->result.clear_ldif();
  p->result.clear_found();
  p->result.set_outcome(outcome);
  p->result.set_diagnostic(diagnostic);
}

v1::Outcome OutcomeOf(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
                 status.code() == absl::StatusCode::kDeadlineExceeded
             ? v1::FAILED_RETRYABLE
             : v1::FAILED_PERMANENT;
}

}  // namespace

std::vector<std::string> JobApplier::Owned(const AttributeSpec& spec,
                                           std::vector<std::string> values) const {
  if (spec.name != "proxyAddresses" || checker_.owned_types().empty()) return values;
  return OfTypes(values, checker_.owned_types());
}

bool JobApplier::CheckResult(const v1::Job& job, const DirectoryEntry& entry,
                             Prepared* p) const {
  const v1::AttributeChange* proxy_change = nullptr;
  const v1::AttributeChange* mail_change = nullptr;
  for (const v1::AttributeChange& change : job.changes()) {
    const AttributeSpec* spec = checker_.FindAllowed(change.attribute());
    if (spec == nullptr) continue;
    if (spec->name == "proxyAddresses") proxy_change = &change;
    if (spec->name == "mail") mail_change = &change;
  }
  if (proxy_change == nullptr && mail_change == nullptr) return true;
  const AttributeSpec& mail_spec = *AttributeCatalog::Default().Find("mail");

  const std::vector<std::string> current_proxy = ValuesOf(entry, "proxyAddresses");
  const std::vector<std::string> current_mail = ValuesOf(entry, "mail");
  // The object after the job.
  std::vector<std::string> proxy = current_proxy;
  std::vector<std::string> added_proxy;  // owned desired values
  if (proxy_change != nullptr) {
    const std::vector<std::string>& owned = checker_.owned_types();
    added_proxy = OfTypes(ToVector(proxy_change->desired()), owned);
    proxy = added_proxy;
    for (std::string& kept : NotOfTypes(current_proxy, owned)) proxy.push_back(std::move(kept));
    if (!owned.empty()) {
      if (absl::Status valid = ValidateProxyAddresses(proxy); !valid.ok()) {
        Refuse(p, v1::REJECTED_BY_POLICY,
               absl::StrCat("refused by local policy: proxyAddresses of ", entry.dn,
                            " after the job (owned types merged with the values of other "
                            "types kept) would be invalid: ", valid.message(),
                            "; nothing written"));
        return false;
      }
    }
  }
  const std::vector<std::string> mail =
      mail_change != nullptr ? ToVector(mail_change->desired()) : current_mail;

  if (policy_.mail_must_match_primary) {
    const std::string primary = PrimarySmtpAddress(proxy);
    if (!primary.empty() && !mail.empty() && !ValuesEqual(mail_spec, mail[0], primary)) {
      Refuse(p, v1::REJECTED_BY_POLICY,
             absl::StrCat("refused by local policy: after the job, mail of ", entry.dn,
                          " would be \"", mail[0],
                          "\" but the primary SMTP address in proxyAddresses would be \"",
                          primary, "\"; nothing written; change mail and the SMTP: value "
                          "together, or set mail_must_match_primary: false in the agent's "
                          "configuration if this forest keeps them apart"));
      return false;
    }
  }

  if (policy_.check_address_uniqueness) {
    std::set<std::string> present;  // lower-cased SMTP addresses on the object
    for (const std::string& v : current_proxy) {
      if (std::string a = SmtpAddress(v); !a.empty()) present.insert(absl::AsciiStrToLower(a));
    }
    for (const std::string& m : current_mail) present.insert(absl::AsciiStrToLower(m));
    std::vector<std::string> candidates;
    for (const std::string& v : added_proxy) {
      if (std::string a = SmtpAddress(v); !a.empty()) candidates.push_back(a);
    }
    if (mail_change != nullptr) candidates.insert(candidates.end(), mail.begin(), mail.end());
    for (const std::string& a : candidates) {
      if (present.insert(absl::AsciiStrToLower(a)).second) p->new_addresses.push_back(a);
    }
  }
  return true;
}

void JobApplier::CheckAddresses(
    const std::vector<std::pair<const v1::Job*, Prepared*>>& jobs) {
  if (!policy_.check_address_uniqueness) return;
  // Jobs about to write, and dry runs (which report what a real run would).
  std::vector<std::pair<const v1::Job*, Prepared*>> todo;
  for (const auto& [job, p] : jobs) {
    if (p->new_addresses.empty()) continue;
    if (p->done && p->result.outcome() != v1::APPLIED) continue;
    todo.emplace_back(job, p);
  }
  if (todo.empty()) return;

  // Two jobs of this call adding one address to two objects: the later one
  // is refused (the search cannot see the earlier one's write yet).
  std::map<std::string, std::pair<std::string, std::string>> claimed;  // addr -> dn, job
  std::set<std::string> queried;
  std::string terms;
  for (auto it = todo.begin(); it != todo.end();) {
    const auto& [job, p] = *it;
    std::string clash;
    for (const std::string& a : p->new_addresses) {
      const std::string key = absl::AsciiStrToLower(a);
      auto [c, inserted] = claimed.try_emplace(key, p->result.dn(), job->job_id());
      if (!inserted && !SameDn(c->second.first, p->result.dn())) {
        clash = absl::StrCat("address ", a, " is also being added to ", c->second.first,
                             " by job ", c->second.second);
        break;
      }
    }
    if (!clash.empty()) {
      Refuse(p, v1::REJECTED_BY_POLICY,
             absl::StrCat("refused by local policy: ", clash, "; nothing written to ",
                          p->result.dn(), "; an address belongs to one object"));
      it = todo.erase(it);
      continue;
    }
    for (const std::string& a : p->new_addresses) {
      const std::string key = absl::AsciiStrToLower(a);
      if (!queried.insert(key).second) continue;
      const std::string escaped = EscapeFilterValue(a);
      absl::StrAppend(&terms, "(proxyAddresses=smtp:", escaped, ")(mail=", escaped, ")");
    }
    ++it;
  }
  if (todo.empty()) return;

  const int limit = static_cast<int>(queried.size()) * 2 + kSlack;
  absl::StatusOr<std::vector<DirectoryEntry>> hits = directory_->Search(
      directory_->BaseDn(), absl::StrCat("(|", terms, ")"), {"mail", "proxyAddresses"}, limit);
  if (hits.ok() && static_cast<int>(hits->size()) >= limit && todo.size() > 1) {
    // Truncated: some address is held by many objects. Check one by one so
    // that no holder is missed for want of room.
    for (const auto& one : todo) CheckAddresses({one});
    return;
  }
  if (!hits.ok()) {
    for (const auto& [job, p] : todo) {
      Refuse(p, OutcomeOf(hits.status()),
             absl::StrCat("search for other holders of the addresses added to ",
                          p->result.dn(), " failed: ", hits.status().message(),
                          "; nothing written"));
      p->result.set_ldap_code(LdapCodeOf(hits.status()).value_or(0));
    }
    return;
  }
  std::map<std::string, std::vector<std::string>> holders;  // lower addr -> DNs
  for (const DirectoryEntry& e : *hits) {
    std::set<std::string> held;
    for (const std::string& m : ValuesOf(e, "mail")) held.insert(absl::AsciiStrToLower(m));
    for (const std::string& v : ValuesOf(e, "proxyAddresses")) {
      if (std::string a = SmtpAddress(v); !a.empty()) held.insert(absl::AsciiStrToLower(a));
    }
    for (const std::string& a : held) {
      if (queried.count(a) > 0) holders[a].push_back(e.dn);
    }
  }
  for (const auto& [job, p] : todo) {
    for (const std::string& a : p->new_addresses) {
      auto h = holders.find(absl::AsciiStrToLower(a));
      if (h == holders.end()) continue;
      const std::string* other = nullptr;
      for (const std::string& dn : h->second) {
        if (!SameDn(dn, p->result.dn())) other = &dn;
      }
      if (other == nullptr) continue;
      Refuse(p, v1::REJECTED_BY_POLICY,
             absl::StrCat("refused by local policy: address ", a,
                          " is already used by another object, ", *other,
                          " (in proxyAddresses or mail); nothing written to ", p->result.dn(),
                          "; remove the address from one of the two"));
      break;
    }
  }
}

absl::Duration JobApplier::WriteDelay() const {
  return limiter_.Delay(directory_->CurrentDc());
}

void JobApplier::Sleep(absl::Duration d) const {
  if (d > absl::ZeroDuration()) sleep_(d);
}

bool JobApplier::AdmitWrite(Prepared* prepared) {
  if (absl::Status s = limiter_.CheckVolume(); !s.ok()) {
    Refuse(prepared, v1::REJECTED_BY_POLICY,
           absl::StrCat("refused by local policy: ", s.message(), " (object ",
                        prepared->dn, ")"));
    return false;
  }
  limiter_.Record(directory_->CurrentDc());
  return true;
}

}  // namespace writeback::agent
