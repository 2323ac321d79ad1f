// Status propagation helpers missing from Abseil 20220623.
//
//   WB_RETURN_IF_ERROR(store.Commit());
//   WB_ASSIGN_OR_RETURN(Mailbox m, store.GetMailbox(id));
#ifndef WRITEBACK_COMMON_BASE_STATUS_MACROS_H_
#define WRITEBACK_COMMON_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WB_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status wb_status_ = (expr);          \
    if (!wb_status_.ok()) return wb_status_;     \
  } while (0)

#define WB_STATUS_CONCAT_INNER_(a, b) a##b
#define WB_STATUS_CONCAT_(a, b) WB_STATUS_CONCAT_INNER_(a, b)

#define WB_ASSIGN_OR_RETURN(lhs, expr) \
  WB_ASSIGN_OR_RETURN_IMPL_(WB_STATUS_CONCAT_(wb_statusor_, __LINE__), lhs, expr)

#define WB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // WRITEBACK_COMMON_BASE_STATUS_MACROS_H_
