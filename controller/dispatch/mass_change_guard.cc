#include "controller/dispatch/mass_change_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"

namespace writeback::controller {

GuardPolicy EffectivePolicy(const GuardPolicy& defaults, const ForestRecord& forest) {
  GuardPolicy policy = defaults;
  if (forest.mass_change_threshold.has_value()) policy.threshold = *forest.mass_change_threshold;
  if (forest.mass_change_window_s.has_value()) {
    policy.window = absl::Seconds(*forest.mass_change_window_s);
  }
  return policy;
}

bool IsNewWrite(const MailboxRecord& m) {
  if (m.guard_approved) return false;               // an operator approved it
  if (m.desired_gen > m.guard_gen) return true;     // never let through
  return m.applied_gen >= m.desired_gen;            // a correction of drift
}

MassChangeRound::MassChangeRound(GuardPolicy policy, GuardWindowState window, absl::Time now)
    : policy_(policy),
      window_(window),
      hold_was_open_(window.open_hold_id != 0),
      now_ms_(absl::ToUnixMillis(now)) {}

absl::StatusOr<MassChangeRound> MassChangeRound::Start(Store* store, const ForestRecord& forest,
                                                       const GuardPolicy& defaults,
                                                       absl::Time now) {
  GuardPolicy policy = EffectivePolicy(defaults, forest);
  GuardWindowState window;
  if (policy.threshold > 0) {
    WB_ASSIGN_OR_RETURN(window, store->GuardWindow(forest.name,
                                                   absl::ToUnixMillis(now - policy.window)));
  }
  return MassChangeRound(policy, window, now);
}

bool MassChangeRound::Counts(const MailboxRecord& m) const {
  if (!IsNewWrite(m)) return false;
  const int64_t window_start = now_ms_ - absl::ToInt64Milliseconds(policy_.window);
  return m.guard_counted_ms == 0 || m.guard_counted_ms <= window_start;
}

MassChangeRound::Verdict MassChangeRound::Judge(const MailboxRecord& m) const {
  if (!enabled() || !Counts(m)) return kPlace;
  if (hold_was_open_) return kHold;  // an open hold captures every new change
  return window_.counted + 1 > static_cast<int64_t>(policy_.threshold) ? kHold : kPlace;
}

void MassChangeRound::Admit(MailboxRecord* m) {
  const bool counts = Counts(*m);
  m->guard_gen = std::max(m->guard_gen, m->desired_gen);  // let through from now on
  if (counts) {
    m->guard_counted_ms = now_ms_;
    window_.counted++;
  }
  m->guard_approved = false;
}

void AdmitOperatorWrite(absl::Time now, MailboxRecord* m) {
  if (IsNewWrite(*m)) m->guard_counted_ms = absl::ToUnixMillis(now);
  m->guard_gen = std::max(m->guard_gen, m->desired_gen);
  m->guard_approved = false;
}

void MassChangeRound::Hold(MailboxRecord* m, const writeback::v1::Job& job,
                           writeback::v1::ProvisioningRecord* log) const {
  m->status = writeback::v1::HELD;
  m->hold_id = window_.open_hold_id;
  m->updated_ms = now_ms_;
  if (log == nullptr) return;
  log->set_kind("held");
  log->set_time_ms(now_ms_);
  log->set_mailbox_id(m->cloud_id);
  log->set_forest(m->forest);
  log->set_generation(m->desired_gen);
  log->set_dn(m->dn);
  log->set_diagnostic(absl::StrCat(
      "held by mass-change hold ", window_.open_hold_id, " (threshold ", policy_.threshold,
      " mailboxes per ", absl::FormatDuration(policy_.window),
      "); nothing is written until an operator decides: writebackctl hold approve|reject ",
      window_.open_hold_id));
  for (const auto& change : job.changes()) {
    writeback::v1::ModifiedProperty* p = log->add_modified();
    p->set_name(change.attribute());
    *p->mutable_old_values() = change.expected();
    *p->mutable_new_values() = change.desired();
  }
}

absl::Status MassChangeRound::Decide(Verdict predicted, const PlanDecision& d, MailboxRecord* m,
                                     writeback::v1::ProvisioningRecord* log, bool* held) {
  *held = false;
  Verdict actual = d.kind == PlanDecision::kJob ? Judge(*m) : kPlace;
  if (actual != predicted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mailbox ", m->cloud_id, " changed since it was judged by the mass-change guard; "
        "judged again in the next round"));
  }
  if (d.kind != PlanDecision::kJob) return absl::OkStatus();
  if (actual == kHold) {
    if (hold_id() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("mailbox ", m->cloud_id, ": no mass-change hold is open to hold it in"));
    }
    Hold(m, d.job, log);
    *held = true;
  } else {
    Admit(m);
  }
  return absl::OkStatus();
}

std::string MassChangeRound::HoldReason() const {
  return absl::StrCat("mass-change guard: ", window_.counted,
                      " mailboxes of the forest were changed within ",
                      absl::FormatDuration(policy_.window), ", its threshold of ",
                      policy_.threshold, "; further changes wait for an operator's approval");
}

absl::StatusOr<std::vector<MassChangeRound::Verdict>> MassChangeRound::Prepare(
    Store* store, const std::string& forest, const std::vector<const MailboxRecord*>& candidates) {
  std::vector<Verdict> verdicts;
  verdicts.reserve(candidates.size());
  MassChangeRound trial = *this;
  bool hold = false;
  for (const MailboxRecord* m : candidates) {
    if (!enabled() || PlanMailbox(*m, "trial").kind != PlanDecision::kJob) {
      verdicts.push_back(kPlace);
      continue;
    }
    Verdict v = trial.Judge(*m);
    if (v == kPlace) {
      MailboxRecord copy = *m;
      trial.Admit(&copy);
    }
    hold = hold || v == kHold;
    verdicts.push_back(v);
  }
  if (hold && hold_id() == 0) {
    WB_ASSIGN_OR_RETURN(HoldRecord opened,
                        store->OpenHold(forest, trial.HoldReason(), now_ms_));
    window_.open_hold_id = opened.id;
    WB_LOG(WARNING) << "mass-change hold opened" << LogField("forest", forest)
                    << LogField("hold", opened.id) << LogField("reason", opened.reason)
                    << LogHint(absl::StrCat("review the burst (writebackctl hold list), then "
                                            "writebackctl hold approve ",
                                            opened.id, " or hold reject ", opened.id));
  }
  return verdicts;
}

absl::Status ApproveHeld(absl::Time now, MailboxRecord* m) {
  m->status = writeback::v1::PENDING;
  m->hold_id = 0;
  m->guard_approved = true;
  m->attempts = 0;
  m->next_attempt_ms = 0;
  m->last_error.clear();
  m->updated_ms = absl::ToUnixMillis(now);
  return absl::OkStatus();
}

absl::Status RejectHeld(int64_t hold_id, absl::Time now, MailboxRecord* m,
                        writeback::v1::ProvisioningRecord* log) {
  const uint64_t rejected_gen = m->desired_gen;
  log->set_kind("rejected");
  log->set_time_ms(absl::ToUnixMillis(now));
  log->set_mailbox_id(m->cloud_id);
  log->set_forest(m->forest);
  log->set_dn(m->dn);
  if (m->last_known.has_value()) {
    std::vector<std::string> names;  // sorted: a stable record
    for (const auto& [name, values] : m->desired.attributes()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      writeback::v1::AttributeValues& values = (*m->desired.mutable_attributes())[name];
      const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
      if (spec == nullptr) continue;  // never planned, so never held
      std::vector<std::string> have = ValuesOf(*m->last_known, name);
      std::vector<std::string> want(values.values().begin(), values.values().end());
      if (SetsEqual(*spec, have, want)) continue;
      writeback::v1::ModifiedProperty* p = log->add_modified();
      p->set_name(name);
      for (const auto& v : have) p->add_old_values(v);
      for (const auto& v : want) p->add_new_values(v);
      values.clear_values();
      for (const auto& v : have) values.add_values(v);
    }
  }
  for (const auto& p : log->modified()) m->adopt_on_read.push_back(p.name());
  m->desired_gen++;
  m->guard_gen = m->desired_gen;
  m->guard_approved = false;
  m->hold_id = 0;
  m->attempts = 0;
  m->next_attempt_ms = 0;
  m->last_error.clear();
  m->updated_ms = absl::ToUnixMillis(now);
  if (!m->adopt_on_read.empty()) {
    // last_known may be older than AD (a dual writer, an unconfirmed write):
    // read the object again and take the reverted attributes' desired values
    // from that read (ApplyObservation), so that nothing is ever written for
    // the rejected change.
    m->last_known.reset();
    m->status = writeback::v1::PENDING;
  } else if (m->last_known.has_value() && !m->verify_read) {
    m->applied_gen = m->desired_gen;
    m->status = writeback::v1::IN_SYNC;
  } else {
    m->status = writeback::v1::PENDING;
  }
  log->set_generation(m->desired_gen);
  log->set_diagnostic(absl::StrCat(
      "mass-change hold ", hold_id, " rejected: the held changes up to generation ",
      rejected_gen, " were dropped and the desired values revert to what AD holds (read again "
      "first); nothing was written to AD"));
  return absl::OkStatus();
}

}  // namespace writeback::controller
