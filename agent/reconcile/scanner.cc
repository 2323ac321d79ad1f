#include "agent/reconcile/scanner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace writeback::agent {

Scanner::Scanner(Options options) : options_(std::move(options)), checker_(options_.policy) {}

Scanner::~Scanner() { Stop(); }

bool Scanner::running() const {
  absl::MutexLock lock(&mu_);
  for (const auto& run : runs_) {
    if (!run->done && !run->cancelled && !run->over) return true;
  }
  return false;
}

void Scanner::Start(const v1::ScanRequest& request, Session session) {
  std::vector<std::unique_ptr<Run>> finished;
  bool busy = false;
  {
    absl::MutexLock lock(&mu_);
    // Threads that marked themselves done only have to return: joining
    // them is immediate.
    for (auto it = runs_.begin(); it != runs_.end();) {
      if ((*it)->done) {
        finished.push_back(std::move(*it));
        it = runs_.erase(it);
      } else {
        busy = busy || (!(*it)->cancelled && !(*it)->over);
        ++it;
      }
    }
    if (!busy) {
      runs_.push_back(std::make_unique<Run>());
      Run* run = runs_.back().get();
      run->thread = std::thread(&Scanner::Scan, this, run, request, std::move(session));
    }
  }
  for (auto& run : finished) run->thread.join();
  if (busy) {
    WB_LOG(WARNING) << "scan refused: a scan is already running"
                    << LogField("scan", request.scan_id())
                    << LogHint("nothing to do: the controller asks again later");
    session.stream->Send([&] {
      v1::AgentMessage m;
      *m.mutable_scan_page() = FailedScanPage(request.scan_id(), v1::FAILED_RETRYABLE,
                                              "a scan is already running");
      return m;
    }());
  }
}

void Scanner::Abandon() {
  absl::MutexLock lock(&mu_);
  for (auto& run : runs_) {
    if (run->done || run->cancelled) continue;
    run->cancelled = true;
    // Cuts a search in progress; the scan then sees it was cancelled.
    if (run->directory != nullptr) run->directory->Close();
  }
}

void Scanner::Stop() {
  Abandon();
  std::vector<std::unique_ptr<Run>> runs;
  {
    absl::MutexLock lock(&mu_);
    runs.swap(runs_);
  }
  for (auto& run : runs) {
    if (run->thread.joinable()) run->thread.join();
  }
}

bool Scanner::Cancelled(Run* run) const {
  absl::MutexLock lock(&mu_);
  return run->cancelled;
}

bool Scanner::SendPage(Run* run, const Session& session, v1::ScanPage page) {
  // Wait for room in short steps, so that an abandoned scan stops promptly.
  while (!session.stream->WaitForRoom(options_.max_queued, absl::Milliseconds(200))) {
    if (Cancelled(run) || !session.current()) return false;
  }
  if (Cancelled(run) || !session.current()) return false;
  if (page.last()) {
    // The controller may ask for the next scan as soon as it has this page.
    absl::MutexLock lock(&mu_);
    run->over = true;
  }
  v1::AgentMessage message;
  *message.mutable_scan_page() = std::move(page);
  session.stream->Send(std::move(message));
  return true;
}

void Scanner::Scan(Run* run, v1::ScanRequest request, Session session) {
  const absl::Time start = absl::Now();
  auto send = [&](v1::ScanPage page) { return SendPage(run, session, std::move(page)); };
  ScanSummary summary;
  absl::StatusOr<std::unique_ptr<DirectorySet>> set = options_.open_directory();
  if (!set.ok()) {
    std::string why = absl::StrCat("opening a directory connection for the scan: ",
                                   set.status().message());
    WB_LOG(WARNING) << "scan failed" << LogField("scan", request.scan_id())
                    << LogField("error", why)
                    << LogHint("check the DCs in ldap.urls and the agent's bind account");
    const bool retryable = set.status().code() == absl::StatusCode::kUnavailable ||
                           set.status().code() == absl::StatusCode::kDeadlineExceeded;
    summary.abandoned =
        !send(FailedScanPage(request.scan_id(),
                             retryable ? v1::FAILED_RETRYABLE : v1::FAILED_PERMANENT, why));
  } else {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = run->cancelled;
      if (!cancelled) run->directory = (*set)->directory();
    }
    if (cancelled) {
      summary.abandoned = true;
    } else {
      WB_LOG(INFO) << "scan " << request.scan_id() << " started on "
                   << (*set)->directory()->CurrentDc() << " (" << request.since_size()
                   << " marks)";
      summary = RunScanPass((*set)->directory(), checker_, options_.policy.scope_ous, request,
                            send);
      absl::MutexLock lock(&mu_);
      run->directory = nullptr;
    }
    set->reset();  // closes the scan's connections
  }
  if (summary.abandoned) {
    WB_LOG(WARNING) << "scan abandoned: the session ended" << LogField("scan", request.scan_id())
                    << LogField("pages", summary.pages)
                    << LogHint("nothing to do: the controller runs the pass again");
  } else if (summary.completed) {
    WB_LOG(INFO) << "scan " << request.scan_id() << " done: " << summary.objects
                 << " objects in " << summary.pages << " pages (" << summary.full_reads
                 << " full, " << summary.incremental_reads << " incremental) in "
                 << absl::FormatDuration(absl::Now() - start);
  }
  if (options_.on_finished) options_.on_finished(summary);
  absl::MutexLock lock(&mu_);
  run->done = true;
}

}  // namespace writeback::agent
