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

void MarkInFlight(const std::string& work_id, const std::string& session_id,
                  const writeback::v1::Job* job, MailboxRecord* m) {
  if (job != nullptr) {
    m->inflight_job = *job;
  } else {
    m->inflight_job.Clear();
  }
  m->status = writeback::v1::IN_FLIGHT;
  m->inflight_id = work_id;
  m->inflight_session = session_id;
  m->inflight_gen = m->desired_gen;
}

void MarkInSync(MailboxRecord* m) {
  m->status = writeback::v1::IN_SYNC;
  m->applied_gen = m->desired_gen;
  m->attempts = 0;
  m->last_error.clear();
}

}  // namespace writeback::controller
