// Keeps the directory busy (issue 3, DESIGN §8): applies many jobs over one
// LDAP connection with up to `window` modifies in flight, matched back by
// message id, matching anchors in batched searches. Decisions (policy,
// match choice, compare-and-swap modify, conflict handling) are JobApplier's;
// this class only schedules them. Jobs for the same object are never
// reordered: a job waits while an earlier one for its DN is in flight.
// Per match batch, one search checks the addresses the batch adds
// (JobApplier::CheckAddresses). The local policy's write rate holds modifies
// back (Pump waits, through the applier's sleep function when nothing is in
// flight); its volume cap refuses them.
//
//   PipelinedApplier pipeline(directory, &applier, {.window = 32});
//   pipeline.Submit(std::move(jobs));
//   while (pipeline.pending() > 0) {
//     for (v1::JobResult& r : pipeline.Pump(absl::Milliseconds(5))) Send(r);
//   }
//
// Thread-compatible: one thread drives Submit/Pump/DropUnsent.
#ifndef WRITEBACK_AGENT_APPLY_PIPELINED_APPLIER_H_
#define WRITEBACK_AGENT_APPLY_PIPELINED_APPLIER_H_

#include <cstddef>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/apply/job_applier.h"
#include "agent/directory/directory.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::agent {

class PipelinedApplier {
 public:
  struct Options {
    // Modifies in flight at once on the connection.
    size_t window = 32;
    // Anchors matched by one search.
    size_t match_batch = 256;
  };

  // Neither pointer is owned; both must outlive the pipeline and be used by
  // no other thread meanwhile.
  PipelinedApplier(Directory* directory, JobApplier* applier, Options options);
  ~PipelinedApplier();
  PipelinedApplier(const PipelinedApplier&) = delete;
  PipelinedApplier& operator=(const PipelinedApplier&) = delete;

  // Queues jobs; nothing is sent until Pump.
  void Submit(std::vector<writeback::v1::Job> jobs);

  // Makes progress: matches queued jobs in batches, sends modifies while the
  // window has room (each through the applier's write gate), and collects
  // completions, waiting at most `wait` for one when nothing else can be
  // done. Returns the results of the jobs that finished during this call.
  std::vector<writeback::v1::JobResult> Pump(absl::Duration wait);

  // Jobs submitted and not finished yet.
  size_t pending() const;

  // Fencing: forgets every job whose modify was not sent yet (no result is
  // produced for them). Modifies already sent finish, or fail when the
  // directory is closed, in later Pump calls.
  void DropUnsent();

 private:
  struct Flight;  // a job between match and result
  struct Queued {
    writeback::v1::Job job;
    absl::Time submitted;
  };

  void MatchSome(std::vector<writeback::v1::JobResult>* out);
  void SendSome(std::vector<writeback::v1::JobResult>* out);
  void Collect(absl::Duration wait, std::vector<writeback::v1::JobResult>* out);
  // Stamps, moves the result to `out` and frees `f`.
  void Finalize(Flight* f, std::vector<writeback::v1::JobResult>* out);
  void DropAll();
  // Finalizes a ready or in-flight job and lets its object's parked jobs go.
  void Release(Flight* f, std::vector<writeback::v1::JobResult>* out);

  Directory* const directory_;
  JobApplier* const applier_;
  Options options_;
  std::deque<Queued> unmatched_;
  std::deque<Flight*> ready_;                           // matched, not sent (owned)
  std::map<int, Flight*> in_flight_;                    // by ticket (owned)
  // DNs of the ready and in-flight jobs: one job per object at a time.
  std::set<std::string> claimed_;
  std::map<std::string, std::vector<Queued>> parked_;   // waiting for their DN
};

// Applies every job through `pipeline` and returns the results in
// completion order. For benchmarks and tests.
std::vector<writeback::v1::JobResult> ApplyAll(PipelinedApplier& pipeline,
                                               std::vector<writeback::v1::Job> jobs);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_PIPELINED_APPLIER_H_
