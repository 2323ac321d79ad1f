// Test PKI for mTLS tests (wraps tests/fixtures/make_certs.sh).
#ifndef WRITEBACK_TESTS_HARNESS_CERTS_H_
#define WRITEBACK_TESTS_HARNESS_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace writeback::testing {

// Path of a script in tests/fixtures of the source tree (WB_SOURCE_DIR).
std::string FixtureScript(const std::string& name);

// Creates (once: a no-op when dir/ca.pem exists) a throwaway PKI in `dir`:
// ca, controller, agent-1..agents (URI SAN
// writeback://forest/<forest>/agent/agent-N), admin, rogue-ca, rogue-agent,
// dc.  File names are listed in make_certs.sh.  Returns `dir`.
absl::StatusOr<std::string> MakeTestCerts(const std::string& dir,
                                          const std::string& forest = "corp.example.test",
                                          int agents = 3);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_CERTS_H_
