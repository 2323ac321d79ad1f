#include "agent/reconcile/scan_pass.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/apply/observation.h"
#include "common/base/log.h"

namespace writeback::agent {
namespace {

constexpr char kUsersFilter[] = "(&(objectCategory=person)(objectClass=user)";

v1::Outcome OutcomeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return v1::FAILED_RETRYABLE;
    default:
      return v1::FAILED_PERMANENT;
  }
}

// Thrown through the page sink when `send` says the session is gone.
absl::Status Abandoned() { return absl::CancelledError("scan abandoned: the session ended"); }

class Pass {
 public:
  Pass(Directory* directory, const PolicyChecker& checker, const v1::ScanRequest& request,
       const std::function<bool(v1::ScanPage)>& send)
      : directory_(directory), checker_(checker), request_(request), send_(send) {
    page_size_ = request.page_size() == 0 ? kDefaultScanPageSize
                                          : std::min(request.page_size(), kMaxScanPageSize);
    attributes_ = ObservationAttributes(checker);
  }

  ScanSummary Run(const std::vector<std::string>& bases) {
    // 1. Every DC's state before any search.
    std::vector<DcState> states;
    for (const std::string& base : bases) {
      absl::StatusOr<DcState> state = directory_->ReadDcState(base);
      if (!state.ok()) {
        return Fail(state.status(), absl::StrCat("reading the state of the DC for ", base));
      }
      states.push_back(*state);
    }
    // 2. and 3.
    for (size_t i = 0; i < bases.size(); ++i) {
      if (absl::Status s = SearchOne(bases[i], states[i]); !s.ok()) {
        if (summary_.abandoned) return summary_;
        return Fail(s, absl::StrCat("scanning ", bases[i]));
      }
      // The same URL may lead to another DC (DNS rotation, a load
      // balancer): the mark is only the searched DC's if its invocation id
      // is still the one read before the search.
      absl::StatusOr<DcState> after = directory_->ReadDcState(bases[i]);
      if (!after.ok()) {
        return Fail(after.status(), absl::StrCat("reading the state of the DC for ", bases[i]));
      }
      if (after->invocation_id != states[i].invocation_id) {
        return Fail(absl::AbortedError(absl::StrCat(
                        "the DC behind ", states[i].dc, " changed during the pass (invocation id ",
                        states[i].invocation_id, " -> ", after->invocation_id, ")")),
                    absl::StrCat("scanning ", bases[i]));
      }
    }
    // 4. One mark per DC: the lowest usn read from it.
    std::map<std::string, v1::UsnMark> marks;
    for (const DcState& st : states) {
      auto [it, added] = marks.try_emplace(st.invocation_id);
      if (added || st.highest_committed_usn < it->second.usn()) {
        it->second.set_dc(st.dc);
        it->second.set_invocation_id(st.invocation_id);
        it->second.set_usn(st.highest_committed_usn);
      }
    }
    v1::ScanPage last = TakePage();
    last.set_last(true);
    for (auto& [id, mark] : marks) *last.add_marks() = std::move(mark);
    if (!Send(std::move(last))) return summary_;
    summary_.completed = true;
    return summary_;
  }

 private:
  absl::Status SearchOne(const std::string& base, const DcState& state) {
    std::string filter = kUsersFilter;
    const v1::UsnMark* mark = nullptr;
    for (const v1::UsnMark& m : request_.since()) {
      if (m.invocation_id() == state.invocation_id) mark = &m;
    }
    if (mark != nullptr) {
      absl::StrAppend(&filter, "(uSNChanged>=", mark->usn() + 1, ")");
      summary_.incremental_reads++;
    } else {
      summary_.full_reads++;
    }
    filter += ")";
    WB_LOG(DEBUG) << "scan " << request_.scan_id() << ": " << base << " on " << state.dc
                  << " with " << filter;
    return directory_->SearchPaged(
        base, filter, attributes_, static_cast<int>(page_size_), [&](SearchPage page) {
          // The marks are of the DC whose state was read; a search that a
          // failover moved to another DC must not be counted against them.
          if (page.dc != state.dc) {
            return absl::AbortedError(absl::StrCat("the DC changed during the pass (", state.dc,
                                                   " -> ", page.dc, ")"));
          }
          for (const DirectoryEntry& entry : page.entries) {
            if (!checker_.InScope(entry.dn)) continue;
            v1::ObservedObject object;
            FillObservation(checker_, entry, &object);
            if (!object.object_guid().empty() && !seen_.insert(object.object_guid()).second) {
              continue;  // under two overlapping scope OUs
            }
            object.set_source_anchor(SourceAnchorOf(entry));
            object.set_dc(page.dc);
            pending_bytes_ += object.ByteSizeLong();
            *pending_.add_objects() = std::move(object);
            if ((static_cast<uint32_t>(pending_.objects_size()) >= page_size_ ||
                 pending_bytes_ >= kMaxScanPageBytes) &&
                !Send(TakePage())) {
              return Abandoned();
            }
          }
          return absl::OkStatus();
        });
  }

  ScanSummary Fail(const absl::Status& status, const std::string& what) {
    std::string diagnostic = absl::StrCat(what, ": ", status.message());
    WB_LOG(WARNING) << "scan failed" << LogField("scan", request_.scan_id())
                    << LogField("error", diagnostic)
                    << LogHint(
                           "the controller runs the pass again later; see writebackctl log "
                           "--kind=scan");
    Send(FailedScanPage(request_.scan_id(), OutcomeFor(status), diagnostic));
    return summary_;
  }

  v1::ScanPage TakePage() {
    v1::ScanPage page = std::move(pending_);
    pending_ = v1::ScanPage();
    pending_bytes_ = 0;
    page.set_scan_id(request_.scan_id());
    return page;
  }

  bool Send(v1::ScanPage page) {
    const int n = page.objects_size();
    if (summary_.abandoned || !send_(std::move(page))) {
      summary_.abandoned = true;
      return false;
    }
    summary_.pages++;
    summary_.objects += n;
    return true;
  }

  Directory* const directory_;
  const PolicyChecker& checker_;
  const v1::ScanRequest& request_;
  const std::function<bool(v1::ScanPage)>& send_;
  uint32_t page_size_ = kDefaultScanPageSize;
  std::vector<std::string> attributes_;
  v1::ScanPage pending_;
  size_t pending_bytes_ = 0;  // of the objects in pending_
  std::set<std::string> seen_;  // objectGUIDs sent
  ScanSummary summary_;
};

}  // namespace

v1::ScanPage FailedScanPage(const std::string& scan_id, v1::Outcome failure,
                            const std::string& diagnostic) {
  v1::ScanPage page;
  page.set_scan_id(scan_id);
  page.set_last(true);
  page.set_failure(failure);
  page.set_diagnostic(diagnostic);
  return page;
}

ScanSummary RunScanPass(Directory* directory, const PolicyChecker& checker,
                        const std::vector<std::string>& scope_ous,
                        const v1::ScanRequest& request,
                        const std::function<bool(v1::ScanPage)>& send) {
  std::vector<std::string> bases = scope_ous;
  if (bases.empty()) bases.push_back(directory->BaseDn());
  return Pass(directory, checker, request, send).Run(bases);
}

}  // namespace writeback::agent
