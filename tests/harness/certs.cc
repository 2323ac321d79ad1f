#include "tests/harness/certs.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/base/status_macros.h"
#include "tests/harness/process.h"

#ifndef WB_SOURCE_DIR
#error "WB_SOURCE_DIR must be defined (the project's source directory)"
#endif

namespace writeback::testing {

std::string FixtureScript(const std::string& name) {
  return absl::StrCat(WB_SOURCE_DIR, "/tests/fixtures/", name);
}

absl::StatusOr<std::string> MakeTestCerts(const std::string& dir,
                                          const std::string& forest, int agents) {
  WB_RETURN_IF_ERROR(RunCommand({FixtureScript("make_certs.sh"), dir, forest,
                                 absl::StrCat(agents)},
                                absl::Seconds(60))
                         .status());
  return dir;
}

}  // namespace writeback::testing
