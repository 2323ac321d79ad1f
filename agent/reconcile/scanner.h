// Runs reconciliation scans (DESIGN §6) for the Agent: one ScanRequest at a
// time, each on a thread and a directory connection of its own, so that the
// worker keeps applying jobs meanwhile. What a pass reads and sends:
// scan_pass.h.
//
//   Scanner scanner({policy, [&] { return OpenDirectory(config); }});
//   // on a ScanRequest of the current session (never blocks):
//   scanner.Start(request, {stream, [&] { return session_still_current; }});
//   // when the session ends or its lease is lost (never blocks):
//   scanner.Abandon();
//   // before whatever `current` refers to goes away:
//   scanner.Stop();
//
// One at a time: a ScanRequest while a scan runs is answered at once with a
// last page FAILED_RETRYABLE "a scan is already running". An abandoned scan
// stops: its directory connection is closed under it, it sends nothing
// more, and a new scan may start while it winds down.
//
// Sessions: a page goes out only after Session::current() said the session
// that asked is still the agent's current one, and only on that session's
// own stream, so no page of an old session reaches a new one.
// Flow control: before each page the scan waits until at most
// Options::max_queued messages wait in the stream (Outbound::WaitForRoom),
// so a scan of 100,000 objects holds a few pages in memory, not all of them.
//
// Thread-safe.
#ifndef WRITEBACK_AGENT_RECONCILE_SCANNER_H_
#define WRITEBACK_AGENT_RECONCILE_SCANNER_H_

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/apply/local_policy.h"
#include "agent/core/outbound.h"
#include "agent/directory/directory_set.h"
#include "agent/reconcile/scan_pass.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

class Scanner {
 public:
  struct Options {
    // scope_ous and allowed_attributes are used (as the applier's).
    LocalPolicy policy;
    // Opens a new directory connection for one scan; called on the scan's
    // thread.
    std::function<absl::StatusOr<std::unique_ptr<DirectorySet>>()> open_directory;
    // Flow control: messages allowed to wait in the stream before a page.
    size_t max_queued = 4;
    // Called on the scan's thread after each pass (tests, logs).
    std::function<void(const ScanSummary&)> on_finished;
  };

  // Where the pages of one scan go.
  struct Session {
    std::shared_ptr<Outbound> stream;
    // True while the session that asked is the agent's current one. Called
    // without any Scanner lock held.
    std::function<bool()> current;
  };

  explicit Scanner(Options options);
  ~Scanner();  // Stop()
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Starts a scan, or answers "already running" on `session.stream`.
  void Start(const v1::ScanRequest& request, Session session);
  // Abandons the running scan, if any. Never blocks.
  void Abandon();
  // Abandons and waits for every scan thread to finish.
  void Stop();
  // True while a scan that was not abandoned runs.
  bool running() const;

 private:
  struct Run {
    std::thread thread;
    bool cancelled = false;
    bool over = false;  // its last page is out: no longer blocks a new scan
    bool done = false;
    Directory* directory = nullptr;  // while open, for Abandon's Close()
  };

  void Scan(Run* run, v1::ScanRequest request, Session session);
  bool SendPage(Run* run, const Session& session, v1::ScanPage page);
  bool Cancelled(Run* run) const;

  const Options options_;
  const PolicyChecker checker_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Run>> runs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_RECONCILE_SCANNER_H_
