#include "tests/compat/session_replay.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;

std::string Set(const google::protobuf::RepeatedPtrField<std::string>& values) {
  std::vector<std::string> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return absl::StrCat("[", absl::StrJoin(sorted, ", "), "]");
}

// attribute -> "expected -> desired", both as sorted sets.
std::map<std::string, std::string> Changes(const v1::Job& job) {
  std::map<std::string, std::string> out;
  for (const auto& c : job.changes()) {
    out[c.attribute()] = absl::StrCat(Set(c.expected()), " -> ", Set(c.desired()));
  }
  return out;
}

}  // namespace

absl::StatusOr<SessionReplay> SessionReplay::Create(const std::vector<RecordedMessage>& recording,
                                                    const writeback::compat::AdminView& before) {
  SessionReplay replay;
  std::map<std::string, v1::Job> sent_jobs;                          // by job id
  std::map<std::string, std::vector<std::string>> sent_reads;        // request id -> mailboxes
  std::map<std::string, size_t> scan_index;                          // scan id -> scans_
  bool welcomed = false;
  for (size_t i = 0; i < recording.size(); ++i) {
    const RecordedMessage& r = recording[i];
    std::string where = absl::StrCat("recorded message ", i + 1, " (", DirectionName(r.direction),
                                     " at ", r.at_ms, " ms)");
    if (r.direction == Direction::kControllerToAgent) {
      v1::ControllerMessage m;
      if (!m.ParseFromString(r.bytes)) {
        return absl::InvalidArgumentError(where + " does not parse as a ControllerMessage");
      }
      if (m.has_welcome() && !welcomed) {
        replay.welcome_ = m.welcome();
        welcomed = true;
      }
      for (const auto& job : m.jobs().jobs()) sent_jobs[job.job_id()] = job;
      if (m.has_read_request()) {
        auto& targets = sent_reads[m.read_request().request_id()];
        for (const auto& t : m.read_request().targets()) targets.push_back(t.mailbox_id());
      }
      continue;
    }
    v1::AgentMessage m;
    if (!m.ParseFromString(r.bytes)) {
      return absl::InvalidArgumentError(where + " does not parse as an AgentMessage");
    }
    if (i == 0) {
      if (!m.has_hello()) return absl::InvalidArgumentError(where + " is not a Hello");
      replay.hello_bytes_ = r.bytes;
      replay.hello_ = m.hello();
      continue;
    }
    for (const auto& result : m.results().results()) {
      auto job = sent_jobs.find(result.job_id());
      if (job == sent_jobs.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " answers job ", result.job_id(), " that was never sent"));
      }
      replay.jobs_[job->second.mailbox_id()].push_back({job->second, result});
    }
    if (m.has_observed()) {
      auto read = sent_reads.find(m.observed().request_id());
      if (read == sent_reads.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, " answers read ", m.observed().request_id(), " that was never sent"));
      }
      for (const auto& object : m.observed().objects()) {
        replay.reads_[object.mailbox_id()].push_back(object);
      }
    }
    if (m.has_scan_page()) {
      auto [it, first] = scan_index.emplace(m.scan_page().scan_id(), replay.scans_.size());
      if (first) replay.scans_.emplace_back();
      replay.scans_[it->second].push_back(m.scan_page());
    }
  }
  if (replay.hello_bytes_.empty()) {
    return absl::InvalidArgumentError("the recording does not start with the agent's Hello");
  }
  for (const auto& mailbox : before.mailboxes()) {
    if (!mailbox.has_last_known()) continue;  // never read: nothing known
    replay.known_[mailbox.cloud_id()] = {mailbox.dn(), mailbox.last_known()};
  }
  return replay;
}

std::string SessionReplay::JobDifference(const v1::Job& recorded, const v1::Job& now) {
  std::vector<std::string> diffs;
  if (recorded.mailbox_id() != now.mailbox_id()) {
    diffs.push_back(absl::StrCat("mailbox ", recorded.mailbox_id(), " vs ", now.mailbox_id()));
  }
  if (recorded.source_anchor() != now.source_anchor()) diffs.push_back("source_anchor differs");
  if (recorded.generation() != now.generation()) {
    diffs.push_back(
        absl::StrCat("generation ", recorded.generation(), " vs ", now.generation()));
  }
  std::map<std::string, std::string> a = Changes(recorded), b = Changes(now);
  for (const auto& [attr, change] : a) {
    auto it = b.find(attr);
    if (it == b.end()) {
      diffs.push_back(absl::StrCat(attr, ": recorded ", change, ", now not changed"));
    } else if (it->second != change) {
      diffs.push_back(absl::StrCat(attr, ": recorded ", change, ", now ", it->second));
    }
  }
  for (const auto& [attr, change] : b) {
    if (!a.count(attr)) diffs.push_back(absl::StrCat(attr, ": not recorded, now ", change));
  }
  if (recorded.dry_run() != now.dry_run()) diffs.push_back("dry_run differs");
  return absl::StrJoin(diffs, "; ");
}

absl::StatusOr<std::vector<v1::AgentMessage>> SessionReplay::Answer(
    const v1::ControllerMessage& message) {
  std::vector<v1::AgentMessage> out;
  switch (message.body_case()) {
    case v1::ControllerMessage::kJobs: {
      absl::StatusOr<v1::AgentMessage> answer = AnswerJobs(message.jobs());
      if (!answer.ok()) return answer.status();
      out.push_back(*std::move(answer));
      break;
    }
    case v1::ControllerMessage::kReadRequest:
      out.push_back(AnswerRead(message.read_request()));
      break;
    case v1::ControllerMessage::kScan:
      out = AnswerScan(message.scan());
      break;
    default:  // Welcome, Heartbeat, Drain, or a kind this build does not know
      break;
  }
  return out;
}

absl::StatusOr<v1::AgentMessage> SessionReplay::AnswerJobs(const v1::JobBatch& batch) {
  v1::AgentMessage out;
  for (const v1::Job& job : batch.jobs()) {
    auto& queue = jobs_[job.mailbox_id()];
    if (queue.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the controller sent a job the recording has no answer for (the recorded agent "
          "answered every earlier job of mailbox ", job.mailbox_id(),
          " already, or got none): ", job.ShortDebugString()));
    }
    const JobAnswer& recorded = queue.front();
    std::string diff = JobDifference(recorded.job, job);
    if (!diff.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the controller's job for mailbox ", job.mailbox_id(),
          " asks for something else than the recorded job it would answer: ", diff,
          "\n  recorded: ", recorded.job.ShortDebugString(), "\n  now:      ",
          job.ShortDebugString()));
    }
    v1::JobResult result = recorded.result;  // decoded with the current protos
    result.set_job_id(job.job_id());        // the only field rewritten
    *out.mutable_results()->add_results() = result;
    Learn(job, result);
    answered_jobs_.push_back(job.job_id());
    queue.pop_front();
  }
  return out;
}

v1::AgentMessage SessionReplay::AnswerRead(const v1::ReadRequest& request) {
  v1::AgentMessage out;
  out.mutable_observed()->set_request_id(request.request_id());
  for (const v1::ReadTarget& target : request.targets()) {
    v1::ObservedObject* object = out.mutable_observed()->add_objects();
    auto& queue = reads_[target.mailbox_id()];
    if (!queue.empty()) {
      *object = queue.front();
      queue.pop_front();
      if (object->failure() == v1::OUTCOME_UNSPECIFIED) {
        known_[target.mailbox_id()] = {object->dn(), object->attributes()};
      }
      continue;
    }
    // SYNTHESIZED: the recorded agent was never asked this. Answer with what
    // the recording last showed of the object.
    object->set_mailbox_id(target.mailbox_id());
    object->set_source_anchor(target.source_anchor());
    auto known = known_.find(target.mailbox_id());
    if (known == known_.end()) {
      object->set_failure(v1::FAILED_PERMANENT);
      object->set_diagnostic(
          "compat replay: no object matches the anchor (the recording never saw it in AD)");
      synthesized_.push_back(absl::StrCat("read ", request.request_id(), " of mailbox ",
                                          target.mailbox_id(), ": FAILED_PERMANENT"));
      continue;
    }
    object->set_dn(known->second.dn);
    *object->mutable_attributes() = known->second.attributes;
    synthesized_.push_back(absl::StrCat("read ", request.request_id(), " of mailbox ",
                                        target.mailbox_id(), ": ",
                                        object->attributes().ShortDebugString()));
  }
  answered_reads_.push_back(request.request_id());
  return out;
}

void SessionReplay::Learn(const v1::Job& job, const v1::JobResult& result) {
  Knowledge& k = known_[job.mailbox_id()];
  if (!result.dn().empty()) k.dn = result.dn();
  auto& attrs = *k.attributes.mutable_attributes();
  switch (result.outcome()) {
    case v1::APPLIED:
    case v1::ALREADY_IN_STATE:
      for (const auto& c : job.changes()) {
        v1::AttributeValues values;
        for (const auto& v : c.desired()) values.add_values(v);
        attrs[c.attribute()] = values;
      }
      break;
    case v1::CONFLICT:
      for (const auto& [name, values] : result.found().attributes()) attrs[name] = values;
      break;
    default:  // nothing was written
      break;
  }
}

std::vector<v1::AgentMessage> SessionReplay::AnswerScan(const v1::ScanRequest& request) {
  std::vector<v1::AgentMessage> out;
  answered_scans_.push_back(request.scan_id());
  if (scans_.empty()) {
    v1::ScanPage* last = out.emplace_back().mutable_scan_page();
    last->set_scan_id(request.scan_id());
    last->set_last(true);
    last->set_failure(v1::FAILED_RETRYABLE);
    last->set_diagnostic("the recorded agent ran no further scan");
    synthesized_.push_back(absl::StrCat("scan ", request.scan_id(), ": failed (not recorded)"));
    return out;
  }
  for (v1::ScanPage page : scans_.front()) {
    page.set_scan_id(request.scan_id());
    *out.emplace_back().mutable_scan_page() = std::move(page);
  }
  scans_.pop_front();
  return out;
}

std::vector<std::string> SessionReplay::Unused() const {
  std::vector<std::string> out;
  for (const auto& [mailbox, queue] : jobs_) {
    for (const auto& a : queue) {
      out.push_back(absl::StrCat("job ", a.job.job_id(), " of mailbox ", mailbox, " (",
                                 v1::Outcome_Name(a.result.outcome()), ")"));
    }
  }
  for (const auto& [mailbox, queue] : reads_) {
    if (!queue.empty()) out.push_back(absl::StrCat(queue.size(), " read(s) of mailbox ", mailbox));
  }
  for (const auto& pages : scans_) {
    out.push_back(absl::StrCat("scan ", pages.front().scan_id(), " (", pages.size(), " pages)"));
  }
  return out;
}

}  // namespace writeback::testing
