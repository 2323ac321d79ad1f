#include "agent/apply/job_applier.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/apply/job_log.h"
#include "agent/apply/modify_ldif.h"
#include "agent/apply/observation.h"
#include "agent/directory/ldap_errors.h"
#include "common/attributes/validation.h"
#include "common/base/log.h"
#include "common/identity/anchor.h"

namespace writeback::agent {
namespace {

// Enough to name the DNs of an ambiguous match.
constexpr int kMatchSizeLimit = 10;

// Debian's Abseil has its own string_view type: convert explicitly.
std::string S(std::string_view s) { return std::string(s); }

const std::vector<std::string>& Values(const DirectoryEntry& entry,
                                       std::string_view name) {
  static const std::vector<std::string>* const kEmpty =
      new std::vector<std::string>();
  auto it = entry.attributes.find(absl::AsciiStrToLower(S(name)));
  return it == entry.attributes.end() ? *kEmpty : it->second;
}

bool Holds(const DirectoryEntry& entry, std::string_view name,
           const std::string& value) {
  for (const std::string& v : Values(entry, name)) {
    if (v == value) return true;
  }
  return false;
}

// Outcome for a client-side failure (the Directory returned a Status).
v1::Outcome OutcomeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return v1::FAILED_RETRYABLE;
    default:
      return v1::FAILED_PERMANENT;
  }
}

v1::Outcome OutcomeFor(LdapErrorClass c) {
  return c == LdapErrorClass::kRetryable ? v1::FAILED_RETRYABLE
                                         : v1::FAILED_PERMANENT;
}

std::vector<std::string> ToVector(
    const google::protobuf::RepeatedPtrField<std::string>& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

void SetValues(const std::string& name, const std::vector<std::string>& values,
               v1::AttributeMap* map) {
  v1::AttributeValues& out = (*map->mutable_attributes())[name];
  out.clear_values();
  for (const std::string& v : values) out.add_values(v);
}

std::string Describe(const v1::Job& job) {
  std::vector<std::string> names;
  for (const v1::AttributeChange& c : job.changes()) names.push_back(c.attribute());
  return absl::StrJoin(names, ",");
}

}  // namespace

JobApplier::JobApplier(Directory* directory, LocalPolicy policy)
    : JobApplier(directory, std::move(policy), Clock::Real()) {}

JobApplier::JobApplier(Directory* directory, LocalPolicy policy, Clock* clock,
                       std::function<void(absl::Duration)> sleep)
    : directory_(directory),
      policy_([&] {
        if (policy.scope_ous.empty()) policy.scope_ous = {directory->BaseDn()};
        return std::move(policy);
      }()),
      checker_(policy_),
      sleep_(sleep ? std::move(sleep) : [](absl::Duration d) { absl::SleepFor(d); }),
      limiter_({policy_.max_writes_per_second, policy_.max_writes_per_window,
                policy_.write_window},
               clock) {
  for (const AttributeSpec* spec : checker_.allowed()) {
    match_attributes_.push_back(S(spec->name));
  }
  for (const char* extra : {"objectGUID", "mS-DS-ConsistencyGuid", "adminCount",
                            "uSNChanged", "whenChanged", "objectClass"}) {
    match_attributes_.push_back(extra);
  }
}

namespace {

std::string AnchorTerms(const std::string& anchor) {
  const std::string escaped = EscapeLdapFilterBytes(anchor);
  return absl::StrCat("(mS-DS-ConsistencyGuid=", escaped, ")(objectGUID=", escaped, ")");
}

}  // namespace

JobApplier::Match JobApplier::ChooseMatch(const std::string& anchor,
                                          std::vector<DirectoryEntry>& hits) const {
  Match match;
  match.failure = v1::FAILED_PERMANENT;
  const std::string guid = AnchorToGuidString(anchor);
  // ms-DS-ConsistencyGuid is the anchor of record: it wins over objectGUID.
  std::vector<DirectoryEntry*> chosen;
  for (DirectoryEntry& e : hits) {
    if (Holds(e, "mS-DS-ConsistencyGuid", anchor)) chosen.push_back(&e);
  }
  if (chosen.empty()) {
    for (DirectoryEntry& e : hits) {
      if (Holds(e, "objectGUID", anchor)) chosen.push_back(&e);
    }
  }
  if (chosen.empty()) {
    match.diagnostic = absl::StrCat(
        "not found: no object under ", directory_->BaseDn(), " has ms-DS-ConsistencyGuid or "
        "objectGUID ", guid, " (in another domain, or never synced?)");
    match.not_found = true;
    match.reason = v1::REASON_OBJECT_NOT_FOUND;
    return match;
  }
  if (chosen.size() > 1) {
    std::vector<std::string> dns;
    for (const DirectoryEntry* e : chosen) dns.push_back(e->dn);
    match.diagnostic = absl::StrCat(
        "ambiguous: source anchor ", guid, " matches ", chosen.size(),
        " objects: ", absl::StrJoin(dns, "; "),
        "; fix the duplicate ms-DS-ConsistencyGuid in AD");
    match.reason = v1::REASON_AMBIGUOUS_MATCH;
    return match;
  }
  match.failure = v1::OUTCOME_UNSPECIFIED;
  match.entry = *chosen[0];
  return match;
}

JobApplier::Match JobApplier::MatchAnchor(const std::string& anchor) {
  return MatchAnchors({anchor})[0];
}

std::vector<JobApplier::Match> JobApplier::MatchAnchors(
    const std::vector<std::string>& anchors) {
  std::vector<Match> matches(anchors.size());
  std::vector<size_t> open;  // indexes of anchors still to match
  for (size_t i = 0; i < anchors.size(); ++i) {
    if (anchors[i].size() != kAnchorSize) {
      matches[i].failure = v1::FAILED_PERMANENT;
      matches[i].diagnostic = absl::StrCat("source anchor must be ", kAnchorSize,
                                           " bytes, got ", anchors[i].size());
      continue;
    }
    open.push_back(i);
  }
  if (open.empty()) return matches;
  if (!policy_.full_consistency_guid_scan) {
    // Phase 1: objectGUID, indexed. An object re-anchored elsewhere (its
    // ms-DS-ConsistencyGuid set to something else) is not this anchor's.
    std::string terms;
    for (size_t i : open) {
      absl::StrAppend(&terms, "(objectGUID=", EscapeLdapFilterBytes(anchors[i]), ")");
    }
    absl::StatusOr<std::vector<DirectoryEntry>> hits = directory_->Search(
        directory_->BaseDn(), absl::StrCat("(|", terms, ")"), match_attributes_,
        static_cast<int>(open.size() + kMatchSizeLimit));
    if (!hits.ok()) {
      for (size_t i : open) SetSearchFailure(anchors[i], hits.status(), &matches[i]);
      return matches;
    }
    std::vector<size_t> left;
    for (size_t i : open) {
      const DirectoryEntry* found = nullptr;
      for (const DirectoryEntry& e : *hits) {
        const std::vector<std::string>& cg = Values(e, "mS-DS-ConsistencyGuid");
        if (Holds(e, "objectGUID", anchors[i]) && (cg.empty() || cg[0] == anchors[i])) {
          found = &e;
        }
      }
      if (found != nullptr) {
        matches[i].entry = *found;
      } else {
        left.push_back(i);
      }
    }
    open = std::move(left);
  }
  // Phase 2 (or the only phase with a full scan): ms-DS-ConsistencyGuid and
  // objectGUID together, with ms-DS-ConsistencyGuid taking precedence.
  if (!open.empty()) {
    std::string terms;
    for (size_t i : open) absl::StrAppend(&terms, AnchorTerms(anchors[i]));
    const int limit = static_cast<int>(open.size() * 2 + kMatchSizeLimit);
    absl::StatusOr<std::vector<DirectoryEntry>> hits = directory_->Search(
        directory_->BaseDn(), absl::StrCat("(|", terms, ")"), match_attributes_, limit);
    const bool truncated = hits.ok() && static_cast<int>(hits->size()) >= limit;
    for (size_t i : open) {
      if (!hits.ok()) {
        SetSearchFailure(anchors[i], hits.status(), &matches[i]);
      } else if (truncated && open.size() > 1) {
        // Some anchor matched many objects: match one by one so that no
        // anchor is reported missing for want of room.
        matches[i] = MatchAnchors({anchors[i]})[0];
      } else {
        matches[i] = ChooseMatch(anchors[i], *hits);
      }
    }
  }
  FindDeleted(anchors, &matches);
  return matches;
}

void JobApplier::SetSearchFailure(const std::string& anchor, const absl::Status& status,
                                  Match* match) const {
  match->failure = OutcomeFor(status);
  match->ldap_code = LdapCodeOf(status).value_or(0);
  match->diagnostic = absl::StrCat("search for source anchor ", AnchorToGuidString(anchor),
                                   " failed: ", status.message());
}

void JobApplier::FindDeleted(const std::vector<std::string>& anchors,
                             std::vector<Match>* matches) {
  std::string terms;
  size_t missing = 0;
  for (size_t i = 0; i < anchors.size(); ++i) {
    if (!(*matches)[i].not_found) continue;
    absl::StrAppend(&terms, AnchorTerms(anchors[i]));
    ++missing;
  }
  if (missing == 0) return;
  absl::StatusOr<std::vector<DirectoryEntry>> hits = directory_->SearchDeleted(
      directory_->BaseDn(), absl::StrCat("(|", terms, ")"),
      {"objectGUID", "mS-DS-ConsistencyGuid", "isDeleted"},
      static_cast<int>(missing * 2 + kMatchSizeLimit));
  if (!hits.ok()) {
    // "not found" stands; the DC may not support the Show Deleted control.
    WB_LOG(WARNING) << "search for deleted objects failed"
                    << LogField("dc", directory_->CurrentDc()) << LogError(hits.status())
                    << LogHint(
                           "the unmatched objects stay OBJECT_NOT_FOUND; check that the DC "
                           "allows the Show Deleted control to the agent's account");
    return;
  }
  for (size_t i = 0; i < anchors.size(); ++i) {
    Match& m = (*matches)[i];
    if (!m.not_found) continue;
    for (const DirectoryEntry& e : *hits) {
      const std::vector<std::string>& deleted = Values(e, "isDeleted");
      if (deleted.empty() || !absl::EqualsIgnoreCase(deleted[0], "TRUE")) continue;
      if (!Holds(e, "mS-DS-ConsistencyGuid", anchors[i]) && !Holds(e, "objectGUID", anchors[i])) {
        continue;
      }
      m.diagnostic = absl::StrCat(
          "deleted: the object with anchor ", AnchorToGuidString(anchors[i]),
          " was deleted (now ", e.dn, "); restore it from the AD Recycle Bin, or stop "
          "writing back this mailbox");
      m.reason = v1::REASON_OBJECT_DELETED;
      break;
    }
  }
}

std::optional<v1::JobResult> JobApplier::CheckPolicy(const v1::Job& job) const {
  absl::Status s = checker_.CheckJob(job);
  if (s.ok()) return std::nullopt;
  v1::JobResult result;
  result.set_outcome(v1::REJECTED_BY_POLICY);
  result.set_diagnostic(absl::StrCat("refused by local policy: ", s.message()));
  return result;
}

v1::JobResult JobApplier::Apply(const v1::Job& job) {
  const absl::Time start = absl::Now();
  Prepared prepared;
  if (std::optional<v1::JobResult> refused = CheckPolicy(job)) {
    prepared.result = std::move(*refused);
  } else {
    prepared = Prepare(job, MatchAnchor(job.source_anchor()));
    if (!prepared.new_addresses.empty()) CheckAddresses({{&job, &prepared}});
    if (!prepared.done) {
      for (absl::Duration d = WriteDelay(); d > absl::ZeroDuration(); d = WriteDelay()) {
        Sleep(d);
      }
      if (!WriteAllowed()) {
        Fence(&prepared);
      } else if (AdmitWrite(&prepared)) {
        Finish(job, directory_->Modify(prepared.dn, prepared.mods), &prepared);
      }
    }
  }
  Stamp(job, absl::Now() - start, &prepared.result);
  return std::move(prepared.result);
}

void JobApplier::Stamp(const v1::Job& job, absl::Duration took, v1::JobResult* result) const {
  result->set_job_id(job.job_id());
  result->set_dc(directory_->CurrentDc());
  result->set_duration_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(took)));
  if (IsJobFailure(result->outcome())) {
    std::string attribute;
    if (result->outcome() == v1::REJECTED_BY_POLICY) (void)checker_.CheckJob(job, &attribute);
    LogJobFailure(job, *result, attribute);
    return;
  }
  WB_LOG(INFO) << "job " << job.job_id() << " mailbox=" << job.mailbox_id()
               << " gen=" << job.generation() << " attrs=" << Describe(job)
               << " outcome=" << v1::Outcome_Name(result->outcome())
               << " dn=" << result->dn() << " ldap_code=" << result->ldap_code()
               << " dc=" << result->dc() << " ms=" << result->duration_ms()
               << (result->diagnostic().empty() ? "" : " diagnostic=")
               << result->diagnostic();
}

void JobApplier::Fence(Prepared* prepared) const {
  prepared->done = true;
  prepared->result.clear_found();
  prepared->result.set_outcome(v1::FAILED_RETRYABLE);
  prepared->result.set_diagnostic(absl::StrCat(
      "the agent's session ended before the modify of ", prepared->dn, "; nothing written"));
}

JobApplier::Prepared JobApplier::Prepare(const v1::Job& job, const Match& match) {
  Prepared p;
  v1::JobResult& result = p.result;
  if (match.failure != v1::OUTCOME_UNSPECIFIED) {
    result.set_outcome(match.failure);
    result.set_reason(match.reason);
    result.set_ldap_code(match.ldap_code);
    result.set_diagnostic(match.diagnostic);
    return p;
  }
  const DirectoryEntry& entry = match.entry;
  result.set_dn(entry.dn);
  if (!checker_.InScope(entry.dn)) {
    result.set_outcome(v1::REJECTED_BY_POLICY);
    result.set_reason(v1::REASON_OUT_OF_SCOPE);
    result.set_diagnostic(absl::StrCat(
        "object ", entry.dn, " is outside scope (",
        absl::StrJoin(policy_.scope_ous, "; "), "); nothing written"));
    return p;
  }
  if (std::string why = PolicyChecker::NotAUserAccount(Values(entry, "objectClass"));
      !why.empty()) {
    result.set_outcome(v1::REJECTED_BY_POLICY);
    result.set_reason(v1::REASON_OUT_OF_SCOPE);
    result.set_diagnostic(absl::StrCat("object ", entry.dn, " is ", why,
                                       ": writeback writes mailbox users only; nothing written"));
    return p;
  }
  const std::vector<std::string>& admin_count = Values(entry, "adminCount");
  if (!admin_count.empty() && admin_count[0] == "1") {
    result.set_outcome(v1::REJECTED_BY_POLICY);
    result.set_diagnostic(absl::StrCat(
        "protected object ", entry.dn,
        " (adminCount=1): writeback never modifies privileged accounts"));
    return p;
  }

  std::vector<Modification>& mods = p.mods;
  std::vector<std::string> stale;
  for (const v1::AttributeChange& change : job.changes()) {
    const AttributeSpec& spec = *checker_.FindAllowed(change.attribute());
    const std::string name = S(spec.name);
    SetValues(name, Values(entry, name), result.mutable_found());
    const std::vector<std::string> current = Owned(spec, Values(entry, name));
    const std::vector<std::string> desired = Owned(spec, ToVector(change.desired()));
    if (SetsEqual(spec, current, desired)) continue;
    const std::vector<std::string> expected = Owned(spec, ToVector(change.expected()));
    if (!SetsEqual(spec, current, expected)) stale.push_back(name);
    if (!expected.empty()) mods.push_back({ModOp::kDelete, name, expected});
    if (!desired.empty()) {
      Modification add{ModOp::kAdd, name, {}};
      for (const std::string& v : desired) add.values.push_back(CanonicalValue(spec, v));
      mods.push_back(std::move(add));
    }
  }
  if (mods.empty()) {
    result.set_outcome(v1::ALREADY_IN_STATE);
    result.set_diagnostic("the directory already holds the desired values");
    return p;
  }
  if (!CheckResult(job, entry, &p)) return p;
  const std::string stale_note =
      stale.empty() ? ""
                    : absl::StrCat("the directory holds values other than "
                                   "expected for ",
                                   absl::StrJoin(stale, ", "));
  if (job.dry_run() || policy_.dry_run) {
    result.set_outcome(v1::APPLIED);
    result.set_ldif(ModifyToLdif(entry.dn, mods));
    result.set_diagnostic(stale.empty() ? "dry run"
                                        : absl::StrCat("dry run; ", stale_note,
                                                       ": a real run would "
                                                       "report CONFLICT"));
    return p;
  }
  if (!stale.empty()) {
    p.new_addresses.clear();
    result.set_outcome(v1::CONFLICT);
    result.set_diagnostic(absl::StrCat("conflict on ", entry.dn, ": ",
                                       stale_note, "; nothing written"));
    return p;
  }
  result.clear_found();
  p.done = false;
  p.dn = entry.dn;
  return p;
}

void JobApplier::Finish(const v1::Job& job, const absl::StatusOr<LdapResult>& ldap,
                        Prepared* prepared) {
  prepared->done = true;
  v1::JobResult& result = prepared->result;
  if (!ldap.ok()) {
    result.set_outcome(OutcomeFor(ldap.status()));
    result.set_ldap_code(LdapCodeOf(ldap.status()).value_or(0));
    result.set_diagnostic(std::string(ldap.status().message()));
    return;
  }
  const LdapErrorClass error_class = ClassifyLdapCode(ldap->code);
  if (error_class == LdapErrorClass::kSuccess) {
    result.set_outcome(v1::APPLIED);
    return;
  }
  result.set_ldap_code(ldap->code);
  result.set_diagnostic(absl::StrCat("LDAP modify of ", prepared->dn, " failed: ",
                                     LdapCodeName(ldap->code), ": ", ldap->diagnostic));
  if (error_class == LdapErrorClass::kConflict) {
    ResolveConflict(job, &result);
  } else {
    result.set_outcome(OutcomeFor(error_class));
  }
}

void JobApplier::ResolveConflict(const v1::Job& job, v1::JobResult* result) {
  Match again = MatchAnchor(job.source_anchor());
  if (again.failure != v1::OUTCOME_UNSPECIFIED) {
    // The object changed under us and cannot be read back: retrying the job
    // re-reads it from scratch.
    result->set_outcome(v1::FAILED_RETRYABLE);
    result->set_diagnostic(absl::StrCat(result->diagnostic(),
                                        "; re-read after the conflict failed: ",
                                        again.diagnostic));
    return;
  }
  bool all_desired = true;
  for (const v1::AttributeChange& change : job.changes()) {
    const AttributeSpec& spec = *checker_.FindAllowed(change.attribute());
    const std::vector<std::string>& found = Values(again.entry, spec.name);
    SetValues(S(spec.name), found, result->mutable_found());
    all_desired = all_desired && SetsEqual(spec, Owned(spec, found),
                                           Owned(spec, ToVector(change.desired())));
  }
  result->set_outcome(all_desired ? v1::ALREADY_IN_STATE : v1::CONFLICT);
}

v1::ObservedObject JobApplier::Read(const v1::ReadTarget& target) {
  return ReadMany({target})[0];
}

std::vector<v1::ObservedObject> JobApplier::ReadMany(const std::vector<v1::ReadTarget>& targets) {
  std::vector<v1::ObservedObject> out(targets.size());
  if (targets.empty()) return out;
  std::vector<std::string> anchors;
  anchors.reserve(targets.size());
  for (const v1::ReadTarget& t : targets) anchors.push_back(t.source_anchor());
  const std::vector<Match> matches = MatchAnchors(anchors);
  const std::string dc = directory_->CurrentDc();  // after the search: it may have failed over
  for (size_t i = 0; i < targets.size(); ++i) {
    v1::ObservedObject& observed = out[i];
    observed.set_mailbox_id(targets[i].mailbox_id());
    observed.set_source_anchor(targets[i].source_anchor());
    observed.set_dc(dc);
    const Match& match = matches[i];
    if (match.failure != v1::OUTCOME_UNSPECIFIED) {
      observed.set_failure(match.failure);
      observed.set_reason(match.reason);
      observed.set_diagnostic(match.diagnostic);
      continue;
    }
    observed.set_dn(match.entry.dn);
    if (!checker_.InScope(match.entry.dn)) {
      observed.set_failure(v1::FAILED_PERMANENT);
      observed.set_reason(v1::REASON_OUT_OF_SCOPE);
      observed.set_diagnostic(absl::StrCat("object ", match.entry.dn, " is outside scope (",
                                           absl::StrJoin(policy_.scope_ous, "; "), ")"));
      continue;
    }
    FillObservation(checker_, match.entry, &observed);
  }
  return out;
}

}  // namespace writeback::agent
