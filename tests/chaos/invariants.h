// The invariant every fault-injection (chaos) scenario ends with (DESIGN §9:
// "nothing lost, no stale overwrite, AD ends equal to the desired state"),
// in one place. The directory's own record is the oracle: AD is read with an
// LDAP search and the DC's audit log, never taken from an agent's answer.
//
//   std::vector<ExpectedMailbox> expected = workload.Expected();
//   InvariantOptions options;
//   options.audit_from = workload.audit_mark();
//   EXPECT_OK(CheckInvariants(env, expected, options));
//
// Each check returns OK or kFailedPrecondition naming the first mailbox (cloud
// id and DN) and attribute that differs (CheckNoStaleWrite: every one).
#ifndef WRITEBACK_TESTS_CHAOS_INVARIANTS_H_
#define WRITEBACK_TESTS_CHAOS_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/system/writeback_env.h"

namespace writeback::testing {

// What the test made the cloud want of one mailbox.
struct ExpectedMailbox {
  std::string cloud_id;
  std::string dn;
  // The values of the last accepted change of each attribute the test set.
  std::map<std::string, std::vector<std::string>> desired;
  // attribute -> written value (as WrittenValue spells it) -> the test's
  // generations that carried it: what WritesMoveForward judges writes by.
  std::map<std::string, std::map<std::string, std::set<uint64_t>>> history;
};

struct InvariantOptions {
  // Index in the DC's audit log from which writes are judged (taken after the
  // mailboxes were onboarded, before the first change).
  size_t audit_from = 0;
  // The SIDs of on-premises writers the test played (SambaDc::AddAdminAccount):
  // their writes are not judged, and a correction may re-write a generation
  // after one (WritesMoveForward).
  std::set<std::string> dual_writer_sids;
};

// (c) Nothing lost: the controller holds exactly `expected` (no other
// mailbox, every expected attribute desired with the expected values, no
// attribute the test never set), and every mailbox is IN_SYNC with
// applied_gen == desired_gen.
absl::Status CheckNothingLost(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected);

// (a) AD equals the desired state: every desired attribute of every mailbox
// the controller holds, read from the controller, compared with one LDAP
// search of the scope OU the way the directory compares values
// (SetsEqual). DNs come from `expected`.
absl::Status CheckAdEqualsDesired(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected);

// (b) No stale write: per mailbox and attribute, the successful modifies the
// DC's audit log shows from options.audit_from on only move to newer
// generations (WritesMoveForward over `history`). The error names every
// mailbox and attribute with a stale write (up to ten), not only the first.
absl::Status CheckNoStaleWrite(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected,
                               const InvariantOptions& options);

// (c), (a) and (b) in that order; the first error.
absl::Status CheckInvariants(WritebackEnv& env, const std::vector<ExpectedMailbox>& expected,
                             const InvariantOptions& options);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_CHAOS_INVARIANTS_H_
