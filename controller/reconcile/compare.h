// Compares what a reconciliation pass read from AD with a mailbox's state
// (DESIGN §6). Pure logic: no I/O, no clock; the reconciler acts on the
// decision inside the store transaction that holds the mailbox.
//
//   Comparison c = CompareObservation(mailbox, observed, scan_started);
//   switch (c.kind) {
//     case Comparison::kIgnore: ...   // c.reason says why (stale, in flight, ...)
//     case Comparison::kInSync: ...   // AD holds the desired values
//     case Comparison::kDrift: ...    // c.drift: one entry per differing attribute
//   }
//
// An observation never overrides newer knowledge: a mailbox with work out
// with an agent, or whose state was learned (an answer to a job or read,
// known_ms) or changed by the cloud (updated_ms) at or after the moment the
// pass began, is ignored as stale. Only IN_SYNC mailboxes are compared:
// work that is due anyway (PENDING, RETRY_WAIT) compares-and-swaps from
// last_known, so a dual writer there shows as a job CONFLICT; held,
// quarantined and lifecycle states wait for an operator.
#ifndef WRITEBACK_CONTROLLER_RECONCILE_COMPARE_H_
#define WRITEBACK_CONTROLLER_RECONCILE_COMPARE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/store/store.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

// One attribute whose values in AD differ from the desired ones.
struct AttributeDrift {
  std::string attribute;
  std::vector<std::string> expected;  // desired
  std::vector<std::string> found;     // in AD
};

struct Comparison {
  enum Kind { kIgnore, kInSync, kDrift };
  // Why an observation is ignored.
  enum Reason {
    kNone,
    kInFlight,      // a job or read is out with an agent
    kStale,         // known or changed at or after the pass began
    kNotOnboarded,  // never read: the onboarding read comes first
    kNotCorrectable,  // PENDING, RETRY_WAIT, held, quarantined, lifecycle
    kReadFailed,    // the observation carries a failure
  };
  Kind kind = kIgnore;
  Reason reason = kNone;
  // For kDrift, in attribute name order.
  std::vector<AttributeDrift> drift;
};

// Decides what `observed` (read by a pass that began at `scan_started`)
// means for `mailbox`. Attributes outside the desired map are not managed
// and never drift; values compare as the directory compares them
// (common/attributes/validation.h SetsEqual, as the planner does).
Comparison CompareObservation(const MailboxRecord& mailbox,
                              const writeback::v1::ObservedObject& observed,
                              absl::Time scan_started);

// The attributes of `desired` whose values differ in `found` (an attribute
// absent from `found` holds no values), as the directory compares.
std::vector<AttributeDrift> DiffAttributes(const writeback::v1::AttributeMap& desired,
                                           const writeback::v1::AttributeMap& found);

// "in flight", "stale", ... for logs and counts.
const char* ReasonName(Comparison::Reason reason);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_RECONCILE_COMPARE_H_
