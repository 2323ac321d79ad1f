// One reconciliation pass (DESIGN §6): reads every user object in the scope
// OUs with paged searches and hands them out as ScanPages. Synchronous and
// transport-free; Scanner (scanner.h) runs it on a thread of its own.
//
//   PolicyChecker checker(policy);
//   RunScanPass(directory, checker, policy.scope_ous, request,
//               [&](v1::ScanPage page) { stream->Send(...); return true; });
//
// In order:
//  1. For each scope OU (empty: the directory's base DN), the state of the
//     DC that serves it (Directory::ReadDcState): invocationId and
//     highestCommittedUSN, all read BEFORE any search, so that a change
//     made during the pass is above the marks and read again next time.
//  2. For each scope OU, one paged subtree search of
//     (&(objectCategory=person)(objectClass=user)), narrowed by
//     (uSNChanged>=N+1) when the request has a mark with that DC's
//     invocation id (N its usn). Another invocation id (a restored DC, or a
//     different DC after a failover) or no mark: the OU is read in full.
//     Requested: the allowlisted attributes, objectGUID,
//     mS-DS-ConsistencyGuid, uSNChanged, whenChanged.
//  3. Each object becomes an ObservedObject (FillObservation, as reads do;
//     source_anchor = mS-DS-ConsistencyGuid else objectGUID; dc = the DC
//     that answered); an object seen under two overlapping scope OUs is sent
//     once. A page goes out per `page_size` objects (request.page_size, 0:
//     500, at most 5,000) or per 2 MiB of objects, whichever comes
//     first; the rest goes with the last page.
//  4. The last page has last=true and one mark per DC read (the lowest usn
//     read from it), or, when the pass failed (DC state unreadable, search
//     error, the DC changed between reading its state and the search),
//     failure FAILED_RETRYABLE (DC unavailable, timeout, DC changed) or
//     FAILED_PERMANENT with a diagnostic, and no marks.
// `send` returns false when the pages can no longer go anywhere (the
// session ended): the pass then stops at once and sends nothing more.
#ifndef WRITEBACK_AGENT_RECONCILE_SCAN_PASS_H_
#define WRITEBACK_AGENT_RECONCILE_SCAN_PASS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/apply/local_policy.h"
#include "agent/directory/directory.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

inline constexpr uint32_t kDefaultScanPageSize = 500;
inline constexpr uint32_t kMaxScanPageSize = 5000;
// A page is also cut once its objects reach this many bytes, well below
// gRPC's default 4 MiB message limit, whatever the page size.
inline constexpr size_t kMaxScanPageBytes = 2 << 20;

// Statistics of a pass, for logs and tests.
struct ScanSummary {
  bool completed = false;   // the last page carried marks
  bool abandoned = false;   // `send` returned false
  int64_t objects = 0;
  int pages = 0;
  int full_reads = 0;       // scope OUs read in full
  int incremental_reads = 0;  // scope OUs read above a mark
};

ScanSummary RunScanPass(Directory* directory, const PolicyChecker& checker,
                        const std::vector<std::string>& scope_ous,
                        const v1::ScanRequest& request,
                        const std::function<bool(v1::ScanPage)>& send);

// A last page saying the pass failed.
v1::ScanPage FailedScanPage(const std::string& scan_id, v1::Outcome failure,
                            const std::string& diagnostic);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_RECONCILE_SCAN_PASS_H_
