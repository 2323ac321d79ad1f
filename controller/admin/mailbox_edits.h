// Partial-update semantics of the Admin API's UpdateMailbox: applies a list of
// AttributeEdits to a desired attribute map, all or nothing, validating every
// attribute name and resulting value set against the common catalog.
//
//   absl::Status s = ApplyEdits(request.edits(), &record.desired);
//   // s names the attribute and the reason, e.g.
//   //   proxyAddresses: "smtp:a@x" is already present (values are compared ignoring case)
#ifndef WRITEBACK_CONTROLLER_ADMIN_MAILBOX_EDITS_H_
#define WRITEBACK_CONTROLLER_ADMIN_MAILBOX_EDITS_H_

#include "absl/status/status.h"
#include "google/protobuf/repeated_field.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::controller {

// Applies `edits` in order to a copy of `*desired` and stores the copy only if
// every edit and the final value sets are valid. Errors are kInvalidArgument
// and start with the attribute name. Only attributes of the default set are
// accepted (opt-in attributes need forest policy, which does not exist yet).
// An attribute cleared stays in the map with no values: writeback then
// removes it from AD.
absl::Status ApplyEdits(
    const google::protobuf::RepeatedPtrField<writeback::v1::AttributeEdit>& edits,
    writeback::v1::AttributeMap* desired);

// True if the two maps hold equal value sets for every attribute (as the
// directory compares values), i.e. applying the edits changed nothing.
bool SameDesiredState(const writeback::v1::AttributeMap& a, const writeback::v1::AttributeMap& b);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_MAILBOX_EDITS_H_
