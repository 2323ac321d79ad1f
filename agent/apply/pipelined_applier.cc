#include "agent/apply/pipelined_applier.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace writeback::agent {

// A job between its match and its result.
struct PipelinedApplier::Flight {
  v1::Job job;
  absl::Time submitted;
  JobApplier::Prepared prepared;
};

PipelinedApplier::PipelinedApplier(Directory* directory, JobApplier* applier, Options options)
    : directory_(directory), applier_(applier), options_(options) {
  if (options_.window == 0) options_.window = 1;
  if (options_.match_batch == 0) options_.match_batch = 1;
}

PipelinedApplier::~PipelinedApplier() { DropAll(); }

void PipelinedApplier::Submit(std::vector<v1::Job> jobs) {
  absl::Time now = absl::Now();
  for (v1::Job& job : jobs) unmatched_.push_back({std::move(job), now});
}

size_t PipelinedApplier::pending() const {
  size_t parked = 0;
  for (const auto& [dn, jobs] : parked_) parked += jobs.size();
  return unmatched_.size() + ready_.size() + in_flight_.size() + parked;
}

void PipelinedApplier::DropUnsent() {
  unmatched_.clear();
  for (Flight* f : ready_) {
    claimed_.erase(f->prepared.dn);
    delete f;
  }
  ready_.clear();
  parked_.clear();
}

void PipelinedApplier::DropAll() {
  DropUnsent();
  for (auto& [ticket, f] : in_flight_) delete f;
  in_flight_.clear();
}

void PipelinedApplier::Finalize(Flight* f, std::vector<v1::JobResult>* out) {
  applier_->Stamp(f->job, absl::Now() - f->submitted, &f->prepared.result);
  out->push_back(std::move(f->prepared.result));
  delete f;
}

void PipelinedApplier::MatchSome(std::vector<v1::JobResult>* out) {
  // Match only as far ahead as the window can use soon.
  while (!unmatched_.empty() && ready_.size() < 2 * options_.window) {
    std::vector<Flight*> batch;
    std::vector<std::string> anchors;
    while (!unmatched_.empty() && batch.size() < options_.match_batch) {
      auto* f = new Flight{std::move(unmatched_.front().job), unmatched_.front().submitted, {}};
      unmatched_.pop_front();
      if (std::optional<v1::JobResult> refused = applier_->CheckPolicy(f->job)) {
        f->prepared.result = std::move(*refused);
        Finalize(f, out);
        continue;
      }
      batch.push_back(f);
      anchors.push_back(f->job.source_anchor());
    }
    if (batch.empty()) continue;
    std::vector<JobApplier::Match> matches = applier_->MatchAnchors(anchors);
    std::vector<Flight*> prepared;
    std::vector<std::pair<const v1::Job*, JobApplier::Prepared*>> adding;
    std::set<std::string> batch_dns;  // objects of this batch's prepared jobs
    for (size_t i = 0; i < batch.size(); ++i) {
      Flight* f = batch[i];
      const std::string& dn = matches[i].entry.dn;
      if (matches[i].failure == v1::OUTCOME_UNSPECIFIED &&
          (claimed_.count(dn) > 0 || batch_dns.count(dn) > 0)) {
        // An earlier job of this object is on its way: what was just read
        // may predate its write. Match this one again once it is done.
        parked_[dn].push_back({std::move(f->job), f->submitted});
        delete f;
        continue;
      }
      f->prepared = applier_->Prepare(f->job, matches[i]);
      if (!f->prepared.done) batch_dns.insert(dn);
      if (!f->prepared.new_addresses.empty()) adding.emplace_back(&f->job, &f->prepared);
      prepared.push_back(f);
    }
    // Forest-wide address uniqueness: one search for the whole batch.
    applier_->CheckAddresses(adding);
    for (Flight* f : prepared) {
      if (f->prepared.done) {
        // Refused after Prepare (CheckAddresses): jobs parked behind it go on.
        Release(f, out);
      } else {
        claimed_.insert(f->prepared.dn);
        ready_.push_back(f);
      }
    }
  }
}

void PipelinedApplier::SendSome(std::vector<v1::JobResult>* out) {
  while (!ready_.empty() && in_flight_.size() < options_.window) {
    // The DC's write rate: wait (in Pump) rather than fail.
    if (applier_->WriteDelay() > absl::ZeroDuration()) return;
    Flight* f = ready_.front();
    ready_.pop_front();
    if (!applier_->WriteAllowed()) {
      applier_->Fence(&f->prepared);
      Release(f, out);
      continue;
    }
    if (!applier_->AdmitWrite(&f->prepared)) {  // volume cap: refused
      Release(f, out);
      continue;
    }
    absl::StatusOr<int> ticket = directory_->StartModify(f->prepared.dn, f->prepared.mods);
    if (!ticket.ok()) {
      applier_->Finish(f->job, ticket.status(), &f->prepared);
      Release(f, out);
      continue;
    }
    in_flight_[*ticket] = f;
  }
}

void PipelinedApplier::Collect(absl::Duration wait, std::vector<v1::JobResult>* out) {
  if (in_flight_.empty()) return;
  for (Directory::Completion& c : directory_->PollModifies(wait)) {
    auto it = in_flight_.find(c.ticket);
    if (it == in_flight_.end()) continue;
    Flight* f = it->second;
    in_flight_.erase(it);
    applier_->Finish(f->job, c.result, &f->prepared);
    Release(f, out);
  }
}

void PipelinedApplier::Release(Flight* f, std::vector<v1::JobResult>* out) {
  const std::string dn = f->prepared.dn;
  Finalize(f, out);
  claimed_.erase(dn);
  auto parked = parked_.find(dn);
  if (parked != parked_.end()) {
    // Back to the front, in their original order.
    for (auto r = parked->second.rbegin(); r != parked->second.rend(); ++r) {
      unmatched_.push_front(std::move(*r));
    }
    parked_.erase(parked);
  }
}

std::vector<v1::JobResult> PipelinedApplier::Pump(absl::Duration wait) {
  std::vector<v1::JobResult> out;
  MatchSome(&out);
  SendSome(&out);
  // Block only when nothing else can move: the window is full, there is
  // nothing left to match or send, or the write rate holds the next modify.
  const absl::Duration throttled =
      ready_.empty() ? absl::ZeroDuration() : applier_->WriteDelay();
  const bool stuck = in_flight_.size() >= options_.window ||
                     (unmatched_.empty() && ready_.empty()) || throttled > absl::ZeroDuration();
  absl::Duration block = stuck && out.empty() ? wait : absl::ZeroDuration();
  if (throttled > absl::ZeroDuration()) block = std::min(block, throttled);
  if (in_flight_.empty()) {
    if (throttled > absl::ZeroDuration()) applier_->Sleep(block);  // for the rate token
  } else {
    Collect(block, &out);
  }
  SendSome(&out);
  return out;
}

std::vector<v1::JobResult> ApplyAll(PipelinedApplier& pipeline, std::vector<v1::Job> jobs) {
  std::vector<v1::JobResult> results;
  pipeline.Submit(std::move(jobs));
  while (pipeline.pending() > 0) {
    for (v1::JobResult& r : pipeline.Pump(absl::Milliseconds(50))) {
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace writeback::agent
