// The chaos suite's end-of-scenario invariant: see invariants.h.
#include "tests/chaos/invariants.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "tests/system/audit_checks.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::testing {
namespace {

std::string Show(const std::vector<std::string>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

std::string Name(const ExpectedMailbox& m) { return absl::StrCat(m.cloud_id, " (", m.dn, ")"); }

// Directory-style equality of two value sets of `attribute`.
bool Same(const std::string& attribute, const std::vector<std::string>& a,
          const std::vector<std::string>& b) {
  const AttributeSpec* spec = AttributeCatalog::Default().Find(attribute);
  if (spec == nullptr) return a == b;  // not a catalog attribute: exact
  return SetsEqual(*spec, a, b);
}

std::vector<std::string> DesiredValues(const v1::Mailbox& m, const std::string& attribute) {
  auto it = m.desired().attributes().find(attribute);
  if (it == m.desired().attributes().end()) return {};
  return {it->second.values().begin(), it->second.values().end()};
}

absl::Status Differs(std::string what) { return absl::FailedPreconditionError(std::move(what)); }

}  // namespace

absl::Status CheckNothingLost(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected) {
  auto mailboxes = env.Admin().ListMailboxes();
  if (!mailboxes.ok()) return mailboxes.status();
  std::map<std::string, const v1::Mailbox*> by_id;
  for (const auto& m : *mailboxes) by_id[m.cloud_id()] = &m;
  if (by_id.size() != expected.size()) {
    return Differs(absl::StrCat("the controller holds ", by_id.size(), " mailboxes, expected ",
                                expected.size()));
  }
  for (const ExpectedMailbox& e : expected) {
    auto found = by_id.find(e.cloud_id);
    if (found == by_id.end()) return Differs("mailbox " + Name(e) + " is missing");
    const v1::Mailbox& m = *found->second;
    for (const auto& [attribute, values] : e.desired) {
      std::vector<std::string> desired = DesiredValues(m, attribute);
      if (!Same(attribute, desired, values)) {
        return Differs(absl::StrCat("mailbox ", Name(e), " ", attribute, ": the controller wants ",
                                    Show(desired), ", the last accepted change was ", Show(values),
                                    " (a change was lost)"));
      }
    }
    for (const auto& [attribute, values] : m.desired().attributes()) {
      if (e.desired.count(attribute) == 0) {
        return Differs(absl::StrCat("mailbox ", Name(e), " ", attribute,
                                    ": desired by the controller but never set by the test"));
      }
    }
    if (m.status() != v1::IN_SYNC || m.applied_gen() != m.desired_gen()) {
      return Differs(absl::StrCat("mailbox ", Name(e), " is ", v1::MailboxStatus_Name(m.status()),
                                  " at generation ", m.applied_gen(), "/", m.desired_gen(),
                                  " (last error \"", m.last_error(), "\")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAdEqualsDesired(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected) {
  auto mailboxes = env.Admin().ListMailboxes();
  if (!mailboxes.ok()) return mailboxes.status();
  std::set<std::string> names;
  for (const auto& m : *mailboxes) {
    for (const auto& [attribute, values] : m.desired().attributes()) names.insert(attribute);
  }
  auto found = env.dc().Search(env.ScopeOu(), "(objectClass=user)",
                               std::vector<std::string>(names.begin(), names.end()));
  if (!found.ok()) return found.status();
  std::map<std::string, const std::map<std::string, std::vector<std::string>>*> ad;
  for (const auto& [dn, attrs] : *found) ad[absl::AsciiStrToLower(dn)] = &attrs;
  std::map<std::string, const ExpectedMailbox*> by_id;
  for (const ExpectedMailbox& e : expected) by_id[e.cloud_id] = &e;
  for (const auto& m : *mailboxes) {
    auto e = by_id.find(m.cloud_id());
    if (e == by_id.end()) return Differs("mailbox " + m.cloud_id() + " has no known DN");
    auto object = ad.find(absl::AsciiStrToLower(e->second->dn));
    if (object == ad.end()) return Differs("mailbox " + Name(*e->second) + ": no object in AD");
    for (const auto& [attribute, desired] : m.desired().attributes()) {
      std::vector<std::string> in_ad;
      auto held = object->second->find(attribute);
      if (held != object->second->end()) in_ad = held->second;
      std::vector<std::string> want(desired.values().begin(), desired.values().end());
      if (!Same(attribute, in_ad, want)) {
        return Differs(absl::StrCat("mailbox ", Name(*e->second), " ", attribute, ": AD holds ",
                                    Show(in_ad), ", desired ", Show(want), " (generation ",
                                    m.desired_gen(), ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNoStaleWrite(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected,
                               const InvariantOptions& options) {
  auto events = env.dc().AuditEvents();
  if (!events.ok()) return events.status();
  auto by_dn = ModifiesByDn(*events, options.audit_from);
  std::vector<std::string> stale;
  for (const ExpectedMailbox& e : expected) {
    const auto& modifies = by_dn[absl::AsciiStrToLower(e.dn)];
    for (const auto& [attribute, generations] : e.history) {
      absl::Status s =
          WritesMoveForward(modifies, attribute, generations, options.dual_writer_sids);
      if (!s.ok()) {
        stale.push_back(absl::StrCat("mailbox ", e.cloud_id, " ", attribute, ": ", s.message()));
      }
    }
  }
  if (stale.empty()) return absl::OkStatus();
  // Every one (the first ten): a stale write is rare, each is worth reading.
  const size_t count = stale.size();
  if (stale.size() > 10) stale.resize(10);
  return Differs(
      absl::StrCat(count, " attribute(s) with a stale write:\n", absl::StrJoin(stale, "\n")));
}

absl::Status CheckInvariants(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected,
                             const InvariantOptions& options) {
  absl::Status s = CheckNothingLost(env, expected);
  if (s.ok()) s = CheckAdEqualsDesired(env, expected);
  if (s.ok()) s = CheckNoStaleWrite(env, expected, options);
  return s;
}

}  // namespace writeback::testing
