#include "common/base/grpc_log.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "grpc/support/log.h"

namespace writeback {
namespace {

void ToLog(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  std::string file = args->file != nullptr ? args->file : "";
  if (size_t slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
  LogLine(level) << "grpc: " << (args->message != nullptr ? args->message : "")
                 << LogField("source", absl::StrCat(file, ":", args->line));
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(&ToLog); }

}  // namespace writeback
