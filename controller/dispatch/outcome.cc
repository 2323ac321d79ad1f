#include "controller/dispatch/outcome.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "writeback/v1/types.pb.h"

namespace writeback::controller {
namespace {

using writeback::v1::JobResult;
using writeback::v1::Outcome;
using writeback::v1::ProvisioningRecord;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

absl::Duration RetryDelay(const RetryPolicy& policy, uint32_t attempts) {
  double ms = absl::ToDoubleMilliseconds(policy.base) * std::pow(2.0, std::min(attempts, 30u));
  ms = std::min(ms, absl::ToDoubleMilliseconds(policy.max));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::Milliseconds(ms * std::uniform_real_distribution<double>(0.5, 1.0)(rng));
}

void ClearInFlight(MailboxRecord* m) {
  m->inflight_id.clear();
  m->inflight_session.clear();
  m->inflight_gen = 0;
  m->inflight_job.Clear();
}

// Counts a failed attempt; returns true if the mailbox is now quarantined.
bool CountFailure(const RetryPolicy& policy, const std::string& error, MailboxRecord* m) {
  m->attempts++;
  m->last_error = error;
  if (m->attempts >= policy.max_attempts) {
    m->status = writeback::v1::QUARANTINED;
    m->last_error = absl::StrCat("quarantined after ", m->attempts, " attempts: ", error);
    return true;
  }
  return false;
}

// The named state for a permanent failure (DESIGN §5 lifecycle).
writeback::v1::MailboxStatus PermanentStatus(writeback::v1::FailureReason reason) {
  switch (reason) {
    case writeback::v1::REASON_OBJECT_NOT_FOUND:
      return writeback::v1::OBJECT_NOT_FOUND;
    case writeback::v1::REASON_OBJECT_DELETED:
      return writeback::v1::OBJECT_DELETED;
    case writeback::v1::REASON_OUT_OF_SCOPE:
      return writeback::v1::OUT_OF_SCOPE;
    case writeback::v1::REASON_AMBIGUOUS_MATCH:
      return writeback::v1::DUPLICATE_MATCH;
    default:
      return writeback::v1::QUARANTINED;
  }
}

bool SameValues(const std::string& attribute,
                const google::protobuf::RepeatedPtrField<std::string>& a,
                const google::protobuf::RepeatedPtrField<std::string>& b) {
  const AttributeSpec* spec = AttributeCatalog::Default().Find(attribute);
  std::vector<std::string> va(a.begin(), a.end()), vb(b.begin(), b.end());
  if (spec == nullptr) return va == vb;
  return SetsEqual(*spec, va, vb);
}

// True when every attribute of `job` was found holding either the job's
// expected values or the target of one of the `unconfirmed` jobs, and at
// least one holds such a target: the difference is an earlier write of ours
// whose answer was lost. `*gen` = the newest unconfirmed generation whose
// targets are all present.
bool FoundOnlyUnconfirmedWrites(const writeback::v1::Job& job,
                                const writeback::v1::AttributeMap& found,
                                const writeback::v1::JobBatch& unconfirmed, uint64_t* gen) {
  if (unconfirmed.jobs().empty()) return false;
  static const writeback::v1::AttributeValues kNone;
  auto found_of = [&found](const std::string& name) -> const writeback::v1::AttributeValues& {
    auto it = found.attributes().find(name);
    return it == found.attributes().end() ? kNone : it->second;
  };
  bool any_landed = false;
  for (const auto& change : job.changes()) {
    const auto& have = found_of(change.attribute()).values();
    if (SameValues(change.attribute(), have, change.expected())) continue;
    bool explained = false;
    for (const auto& lost : unconfirmed.jobs()) {
      for (const auto& lost_change : lost.changes()) {
        if (lost_change.attribute() == change.attribute() &&
            SameValues(change.attribute(), have, lost_change.desired())) {
          explained = true;
        }
      }
    }
    if (!explained) return false;
    any_landed = true;
  }
  if (!any_landed) return false;
  *gen = 0;
  for (const auto& lost : unconfirmed.jobs()) {
    bool all_present = !lost.changes().empty();
    for (const auto& lost_change : lost.changes()) {
      all_present = all_present && SameValues(lost_change.attribute(),
                                              found_of(lost_change.attribute()).values(),
                                              lost_change.desired());
    }
    if (all_present) *gen = std::max<uint64_t>(*gen, lost.generation());
  }
  return true;
}

void AddStep(ProvisioningRecord* r, const std::string& name, const std::string& status,
             const std::string& detail = "") {
  auto* step = r->add_steps();
  step->set_name(name);
  step->set_status(status);
  step->set_detail(detail);
}

}  // namespace

absl::Status ApplyJobResult(const writeback::v1::Job& job, const JobResult& result, absl::Time now,
                            const RetryPolicy& policy, MailboxRecord* m, ProvisioningRecord* log,
                            std::vector<writeback::v1::DriftRecord>* drift) {
  if (m->status != writeback::v1::IN_FLIGHT || m->inflight_id != job.job_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("mailbox ", m->cloud_id, " is not waiting for job ", job.job_id()));
  }
  ClearInFlight(m);
  m->known_ms = Ms(now);
  if (!result.dn().empty()) m->dn = result.dn();
  if (!m->last_known.has_value()) m->last_known.emplace();
  auto& known = *m->last_known->mutable_attributes();
  switch (result.outcome()) {
    case writeback::v1::APPLIED:
    case writeback::v1::ALREADY_IN_STATE:
      for (const auto& change : job.changes()) {
        auto& values = known[change.attribute()];
        values.clear_values();
        for (const auto& v : change.desired()) values.add_values(v);
      }
      m->applied_gen = std::max(m->applied_gen, job.generation());
      m->attempts = 0;
      m->last_error.clear();
      // After a redelivery the planner still reads the object (verify_read).
      m->status = m->applied_gen >= m->desired_gen && !m->verify_read ? writeback::v1::IN_SYNC
                                                                      : writeback::v1::PENDING;
      return absl::OkStatus();
    case writeback::v1::CONFLICT: {
      for (const auto& [name, values] : result.found().attributes()) known[name] = values;
      m->status = writeback::v1::PENDING;
      uint64_t landed_gen = 0;
      if (FoundOnlyUnconfirmedWrites(job, result.found(), m->unconfirmed, &landed_gen)) {
        // Not a dual writer: the write of a lost session (or of a job out
        // when the controller stopped) did land. Its generation counts as
        // ALREADY_IN_STATE; plan again from what AD holds.
        const std::string note = absl::StrCat(
            "AD held values ",
            landed_gen > 0 ? absl::StrCat("of generation ", landed_gen, " ") : "",
            "written by an earlier attempt whose answer was lost: counted as already in "
            "state, not as a conflict; planning again");
        m->applied_gen = std::max(m->applied_gen, landed_gen);
        m->unconfirmed.Clear();
        m->last_error.clear();
        if (log != nullptr) {
          log->set_diagnostic(log->diagnostic().empty() ? note
                                                        : absl::StrCat(log->diagnostic(), "; ", note));
        }
        return absl::OkStatus();
      }
      // A dual writer (DESIGN §5): one drift record per attribute that held
      // other values than the job expected; the correction counts.
      writeback::v1::AttributeMap expected;
      for (const auto& change : job.changes()) {
        *(*expected.mutable_attributes())[change.attribute()].mutable_values() = change.expected();
      }
      std::vector<AttributeDrift> drifted = DiffAttributes(expected, result.found());
      std::string note;
      if (!drifted.empty()) {
        DriftContext where{"job", job.job_id(), result.dc(), result.dn(), "", 0};
        if (ApplyDrift(drifted, where, now, policy.conflict, m, drift)) {
          m->attempts++;
          return absl::OkStatus();
        }
        note = absl::StrCat("; ", m->last_error);
      }
      CountFailure(policy, absl::StrCat("conflict: AD held other values than expected; ",
                                        result.diagnostic(), note),
                   m);
      return absl::OkStatus();
    }
    case writeback::v1::FAILED_RETRYABLE:
      if (!CountFailure(policy, result.diagnostic(), m)) {
        m->status = writeback::v1::RETRY_WAIT;
        m->next_attempt_ms = Ms(now + RetryDelay(policy, m->attempts - 1));
      }
      return absl::OkStatus();
    default:  // FAILED_PERMANENT, REJECTED_BY_POLICY, unknown
      m->attempts++;
      m->status = PermanentStatus(result.reason());
      m->last_error = absl::StrCat(writeback::v1::MailboxStatus_Name(m->status), ": ",
                                   Outcome_Name(result.outcome()), ": ", result.diagnostic());
      return absl::OkStatus();
  }
}

absl::Status ApplyObservation(const std::string& read_id,
                              const writeback::v1::ObservedObject& observed, absl::Time now,
                              const RetryPolicy& policy, MailboxRecord* m) {
  if (m->status != writeback::v1::IN_FLIGHT || m->inflight_id != read_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("mailbox ", m->cloud_id, " is not waiting for read ", read_id));
  }
  ClearInFlight(m);
  m->known_ms = Ms(now);
  switch (observed.failure()) {
    case writeback::v1::OUTCOME_UNSPECIFIED:
      m->last_known = observed.attributes();
      m->dn = observed.dn();
      if (!m->adopt_on_read.empty()) {
        // A rejected change: what AD holds now is what stands.
        for (const std::string& name : m->adopt_on_read) {
          auto found = m->last_known->attributes().find(name);
          (*m->desired.mutable_attributes())[name] =
              found == m->last_known->attributes().end() ? writeback::v1::AttributeValues()
                                                         : found->second;
        }
        m->adopt_on_read.clear();
        m->desired_gen++;
      }
      // What AD holds is now known: nothing is left to verify.
      m->verify_read = false;
      m->unconfirmed.Clear();
      m->status = writeback::v1::PENDING;
      return absl::OkStatus();
    case writeback::v1::FAILED_RETRYABLE:
      if (!CountFailure(policy, observed.diagnostic(), m)) {
        m->status = writeback::v1::RETRY_WAIT;
        m->next_attempt_ms = Ms(now + RetryDelay(policy, m->attempts - 1));
      }
      return absl::OkStatus();
    default:
      m->attempts++;
      m->status = PermanentStatus(observed.reason());
      m->last_error =
          absl::StrCat(writeback::v1::MailboxStatus_Name(m->status), ": read: ",
                       Outcome_Name(observed.failure()), ": ", observed.diagnostic());
      return absl::OkStatus();
  }
}

absl::Status ReleaseLostWork(const std::string& session_id, absl::Time not_before,
                             MailboxRecord* m) {
  if (m->status != writeback::v1::IN_FLIGHT || m->inflight_session != session_id) {
    return absl::FailedPreconditionError("not that session's work");
  }
  ReleaseInFlight(Ms(not_before),
                  "the agent's session ended before it answered; redelivered after its lease "
                  "and LDAP timeout, then verified by a read",
                  m);
  return absl::OkStatus();
}

absl::StatusOr<bool> RetryNow(MailboxRecord* m) {
  switch (m->status) {
    case writeback::v1::IN_FLIGHT:
      return absl::FailedPreconditionError(
          absl::StrCat("mailbox ", m->cloud_id, " has work out with an agent (",
                       m->inflight_id, "); wait for its answer"));
    case writeback::v1::IN_SYNC:
    case writeback::v1::PENDING:
      return false;
    case writeback::v1::HELD:  // frozen until the hold is decided (DESIGN §3)
      return absl::FailedPreconditionError(absl::StrCat(
          "mailbox ", m->cloud_id, " is held by mass-change hold ", m->hold_id,
          "; a retry would carry its change out around the hold: approve or reject the hold "
          "(writebackctl hold approve|reject ", m->hold_id, ")"));
    case writeback::v1::OBJECT_NOT_FOUND:
    case writeback::v1::OBJECT_DELETED:
    case writeback::v1::OUT_OF_SCOPE:
    case writeback::v1::DUPLICATE_MATCH:
      m->last_known.reset();  // onboarding read again
      break;
    case writeback::v1::RETRY_WAIT:
      if (!m->unconfirmed.jobs().empty()) {
        // Lost work waiting out its session's fence (DESIGN §4): a retry
        // must not send it before an agent that may still hold it has
        // stopped writing. Only the attempts are forgiven.
        m->attempts = 0;
        return true;
      }
      break;
    default:  // QUARANTINED, CONFLICT_HOLD
      break;
  }
  m->status = writeback::v1::PENDING;
  m->attempts = 0;
  m->next_attempt_ms = 0;
  m->last_error.clear();
  m->corrections_ms.clear();  // a released dual-writer hold is corrected again
  return true;
}

ProvisioningRecord MakeLostLogRecord(const std::string& work_id, const MailboxRecord& m,
                                     const std::string& agent_id, const std::string& session_id,
                                     absl::Time now, absl::Time not_before) {
  ProvisioningRecord r;
  r.set_time_ms(Ms(now));
  r.set_kind("lost");
  r.set_job_id(work_id);
  r.set_mailbox_id(m.cloud_id);
  r.set_forest(m.forest);
  r.set_agent_id(agent_id);
  r.set_session_id(session_id);
  r.set_generation(m.inflight_gen);
  r.set_dn(m.dn);
  r.set_diagnostic(absl::StrCat(
      "session ", session_id, " of agent ", agent_id,
      " ended before answering; redelivered to an agent of the forest no earlier than ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", not_before, absl::UTCTimeZone()),
      " (lease + LDAP timeout), then verified by a read"));
  for (const auto& change : m.inflight_job.changes()) {
    auto* p = r.add_modified();
    p->set_name(change.attribute());
    *p->mutable_old_values() = change.expected();
    *p->mutable_new_values() = change.desired();
  }
  return r;
}

ProvisioningRecord MakeJobLogRecord(const writeback::v1::Job& job, const JobResult& result,
                                    const std::string& agent_id, const std::string& forest,
                                    absl::Time now) {
  ProvisioningRecord r;
  r.set_time_ms(Ms(now));
  r.set_kind("job");
  r.set_job_id(job.job_id());
  r.set_mailbox_id(job.mailbox_id());
  r.set_forest(forest);
  r.set_agent_id(agent_id);
  r.set_generation(job.generation());
  r.set_outcome(result.outcome());
  r.set_ldap_code(result.ldap_code());
  r.set_diagnostic(result.diagnostic());
  r.set_duration_ms(result.duration_ms());
  r.set_dn(result.dn());
  for (const auto& change : job.changes()) {
    auto* p = r.add_modified();
    p->set_name(change.attribute());
    *p->mutable_old_values() = change.expected();
    *p->mutable_new_values() = change.desired();
  }
  const Outcome o = result.outcome();
  const bool matched = !result.dn().empty();
  AddStep(&r, "import", "success");
  AddStep(&r, "match", matched ? "success" : (o == writeback::v1::REJECTED_BY_POLICY ? "skipped" : "failure"),
          result.dn());
  AddStep(&r, "scope", !matched ? "skipped" : (o == writeback::v1::REJECTED_BY_POLICY ? "failure" : "success"));
  std::string export_status = o == writeback::v1::APPLIED            ? "success"
                              : o == writeback::v1::ALREADY_IN_STATE ? "skipped"
                                                                     : "failure";
  AddStep(&r, "export", export_status, Outcome_Name(o));
  return r;
}

ProvisioningRecord MakeReadLogRecord(const std::string& read_id,
                                     const writeback::v1::ObservedObject& observed,
                                     const std::string& agent_id, const std::string& forest,
                                     absl::Time now) {
  ProvisioningRecord r;
  r.set_time_ms(Ms(now));
  r.set_kind("read");
  r.set_job_id(read_id);
  r.set_mailbox_id(observed.mailbox_id());
  r.set_forest(forest);
  r.set_agent_id(agent_id);
  r.set_outcome(observed.failure());
  r.set_diagnostic(observed.diagnostic());
  r.set_dn(observed.dn());
  AddStep(&r, "import", "success");
  AddStep(&r, "match", observed.dn().empty() ? "failure" : "success", observed.dn());
  return r;
}

}  // namespace writeback::controller
