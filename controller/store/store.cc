#include "controller/store/store.h"

namespace writeback::controller {

namespace {
// How many unconfirmed jobs a mailbox keeps: enough for a run of lost
// sessions; older ones are superseded by what later jobs targeted.
constexpr int kMaxUnconfirmed = 8;
}  // namespace

void ReleaseInFlight(int64_t not_before_ms, const std::string& why, MailboxRecord* m) {
  if (!m->inflight_job.job_id().empty()) {
    auto* jobs = m->unconfirmed.mutable_jobs();
    *jobs->Add() = std::move(m->inflight_job);
    if (jobs->size() > kMaxUnconfirmed) jobs->DeleteSubrange(0, jobs->size() - kMaxUnconfirmed);
  }
  m->inflight_job.Clear();
  m->inflight_id.clear();
  m->inflight_session.clear();
  m->inflight_gen = 0;
  m->verify_read = true;
  m->status = writeback::v1::RETRY_WAIT;
  m->next_attempt_ms = not_before_ms;
  m->last_error = why;
}

}  // namespace writeback::controller
