#include "controller/dispatch/outcome.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
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

void AddStep(ProvisioningRecord* r, const std::string& name, const std::string& status,
             const std::string& detail = "") {
  auto* step = r->add_steps();
  step->set_name(name);
  step->set_status(status);
  step->set_detail(detail);
}

}  // namespace

absl::Status ApplyJobResult(const writeback::v1::Job& job, const JobResult& result, absl::Time now,
                            const RetryPolicy& policy, MailboxRecord* m) {
  if (m->status != writeback::v1::IN_FLIGHT || m->inflight_id != job.job_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("mailbox ", m->cloud_id, " is not waiting for job ", job.job_id()));
  }
  ClearInFlight(m);
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
      m->status = m->applied_gen >= m->desired_gen ? writeback::v1::IN_SYNC : writeback::v1::PENDING;
      return absl::OkStatus();
    case writeback::v1::CONFLICT:
      for (const auto& [name, values] : result.found().attributes()) known[name] = values;
      m->status = writeback::v1::PENDING;
      CountFailure(policy, absl::StrCat("conflict: AD held other values than expected; ",
                                        result.diagnostic()),
                   m);
      return absl::OkStatus();
    case writeback::v1::FAILED_RETRYABLE:
      if (!CountFailure(policy, result.diagnostic(), m)) {
        m->status = writeback::v1::RETRY_WAIT;
        m->next_attempt_ms = Ms(now + RetryDelay(policy, m->attempts - 1));
      }
      return absl::OkStatus();
    default:  // FAILED_PERMANENT, REJECTED_BY_POLICY, unknown
      m->attempts++;
      m->status = writeback::v1::QUARANTINED;
      m->last_error = absl::StrCat(Outcome_Name(result.outcome()), ": ", result.diagnostic());
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
  switch (observed.failure()) {
    case writeback::v1::OUTCOME_UNSPECIFIED:
      m->last_known = observed.attributes();
      m->dn = observed.dn();
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
      m->status = writeback::v1::QUARANTINED;
      m->last_error =
          absl::StrCat("onboarding read: ", Outcome_Name(observed.failure()), ": ",
                       observed.diagnostic());
      return absl::OkStatus();
  }
}

absl::Status ReleaseLostWork(const std::string& session_id, absl::Time not_before,
                             MailboxRecord* m) {
  if (m->status != writeback::v1::IN_FLIGHT || m->inflight_session != session_id) {
    return absl::FailedPreconditionError("not that session's work");
  }
  ClearInFlight(m);
  m->status = writeback::v1::RETRY_WAIT;
  m->next_attempt_ms = Ms(not_before);
  m->last_error = "the agent's session ended before it answered; redelivered after its lease";
  return absl::OkStatus();
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
