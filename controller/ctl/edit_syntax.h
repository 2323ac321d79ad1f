// The command-line syntax of attribute edits in `writebackctl mailbox set`:
//
//   mail=alice@contoso.com            set a single-valued attribute
//   extensionAttribute1=              clear (also: extensionAttribute1!)
//   proxyAddresses+=smtp:al@contoso.com   add a value to a multi-valued one
//   proxyAddresses-=smtp:old@contoso.com  remove a value
//   proxyAddresses:=SMTP:a@x  proxyAddresses:=smtp:b@x   replace the whole set
//                                     (every := of one attribute forms the set)
#ifndef WRITEBACK_CONTROLLER_CTL_EDIT_SYNTAX_H_
#define WRITEBACK_CONTROLLER_CTL_EDIT_SYNTAX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::ctl {

// Parses edit arguments in order. kInvalidArgument names the argument.
absl::StatusOr<std::vector<writeback::v1::AttributeEdit>> ParseEdits(
    const std::vector<std::string>& args);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_EDIT_SYNTAX_H_
