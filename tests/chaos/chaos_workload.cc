// The chaos suite's stream of cloud changes: see chaos_workload.h.
#include "tests/chaos/chaos_workload.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/admin_ops.pb.h"

namespace writeback::testing {
namespace {

constexpr int kSenderThreads = 4;
constexpr size_t kImportBatch = 1000;
constexpr absl::Duration kGenerationPause = absl::Milliseconds(500);

int FromEnv(const char* name, int fallback) {
  const char* text = getenv(name);
  int value = 0;
  return text != nullptr && absl::SimpleAtoi(text, &value) && value > 0 ? value : fallback;
}

}  // namespace

ChaosSizes ChaosSizes::FromEnv() {
  ChaosSizes sizes;
  sizes.mailboxes = writeback::testing::FromEnv("WB_CHAOS_MAILBOXES", sizes.mailboxes);
  sizes.generations = writeback::testing::FromEnv("WB_CHAOS_GENERATIONS", sizes.generations);
  return sizes;
}

ChaosWorkload::ChaosWorkload(WritebackEnv& env, ChaosSizes sizes) : env_(env), sizes_(sizes) {}

ChaosWorkload::~ChaosWorkload() {
  stop_ = true;
  (void)WaitChangesSent();
}

std::string ChaosWorkload::Value1(int generation, int i) {
  return absl::StrCat("chaos-g", generation, "-", i);
}

std::string ChaosWorkload::Value2(int generation, int i) {
  return absl::StrCat("chaos-g", generation, "-", i, "-b");
}

absl::Duration ChaosWorkload::Guard() const {
  return absl::Minutes(2) + absl::Milliseconds(30) * total_changes();
}

absl::Status ChaosWorkload::Register() {
  const absl::Time start = absl::Now();
  WB_ASSIGN_OR_RETURN(users_, env_.dc().AddUsers(sizes_.mailboxes, "chaos"));
  const absl::Time users_added = absl::Now();
  WB_RETURN_IF_ERROR(env_.Admin().AddForest(WritebackEnv::kForest, env_.ScopeOu()));
  // One ImportMailboxes transaction per thousand: a commit per mailbox
  // (AddMailbox) costs seconds for a few hundred.
  for (size_t first = 0; first < users_.size(); first += kImportBatch) {
    v1::ImportMailboxesRequest request;
    for (size_t n = first; n < std::min(users_.size(), first + kImportBatch); ++n) {
      ids_.push_back(WritebackEnv::CloudId(static_cast<int>(n + 1)));
      v1::ImportEntry* entry = request.add_entries();
      entry->set_line(static_cast<int64_t>(n + 1));
      entry->set_cloud_id(ids_.back());
      entry->set_forest(WritebackEnv::kForest);
      entry->set_source_anchor(users_[n].object_guid);
    }
    v1::ImportMailboxesResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(1)));  // hang guard
    grpc::Status s = env_.Admin().stub().ImportMailboxes(&context, request, &response);
    if (!s.ok() || !response.stored()) {
      return absl::InternalError(absl::StrCat("import of mailboxes ", first + 1, "..: ",
                                              s.error_message(), " ", response.DebugString()));
    }
  }
  WB_RETURN_IF_ERROR(env_.Admin().WaitAllInSync(Guard()));  // the onboarding reads
  std::cout << "chaos: " << sizes_.mailboxes << " users added in "
            << absl::FormatDuration(users_added - start) << ", registered and onboarded in "
            << absl::FormatDuration(absl::Now() - users_added) << "; " << sizes_.generations
            << " generations follow" << std::endl;
  WB_ASSIGN_OR_RETURN(auto events, env_.dc().AuditEvents());
  audit_mark_ = events.size();
  return absl::OkStatus();
}

void ChaosWorkload::StartChanges() {
  for (int t = 0; t < kSenderThreads; ++t) {
    senders_.emplace_back([this, t] { Send(t, kSenderThreads); });
  }
}

void ChaosWorkload::Send(int thread, int threads) {
  const absl::Time guard = absl::Now() + Guard();
  for (int g = 1; g <= sizes_.generations; ++g) {
    for (int i = thread; i < sizes_.mailboxes; i += threads) {
      std::vector<v1::AttributeEdit> edits = {AdminClient::Set(kAttr1, Value1(g, i))};
      if (g % 2 == 0) edits.push_back(AdminClient::Set(kAttr2, Value2(g, i)));
      while (true) {
        if (stop_.load()) return;
        auto m = env_.Admin().UpdateMailbox(ids_[i], edits);
        if (m.ok()) break;
        if (absl::Now() > guard) {  // hang guard
          absl::MutexLock lock(&mu_);
          if (send_error_.ok()) {
            send_error_ = absl::DeadlineExceededError(
                absl::StrCat("generation ", g, " of mailbox ", ids_[i],
                             " never accepted: ", m.status().ToString()));
          }
          return;
        }
        absl::SleepFor(absl::Milliseconds(100));  // the controller may be restarting
      }
      sent_++;
    }
    if (g < sizes_.generations) absl::SleepFor(kGenerationPause);
  }
}

absl::Status ChaosWorkload::WaitSent(int n) {
  const absl::Time guard = absl::Now() + Guard();
  while (sent_.load() < n) {
    if (absl::Now() > guard) {
      return absl::DeadlineExceededError(
          absl::StrCat("hang guard: ", sent_.load(), " of ", n, " changes accepted"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

absl::Status ChaosWorkload::WaitChangesSent() {
  for (auto& s : senders_) {
    if (s.joinable()) s.join();
  }
  senders_.clear();
  absl::MutexLock lock(&mu_);
  return send_error_;
}

absl::Status ChaosWorkload::WaitApplied(int n) {
  v1::ListProvisioningLogRequest applied;
  applied.set_kind("job");
  applied.set_outcome(v1::APPLIED);
  const absl::Time guard = absl::Now() + Guard();
  while (true) {
    WB_ASSIGN_OR_RETURN(int count, env_.Admin().CountLog(applied, n));
    if (count >= n) return absl::OkStatus();
    if (absl::Now() > guard) {
      return absl::DeadlineExceededError(
          absl::StrCat("hang guard: ", count, " of ", n, " jobs applied"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status ChaosWorkload::WaitInFlight() {
  const absl::Time guard = absl::Now() + Guard();
  while (true) {
    WB_ASSIGN_OR_RETURN(auto mailboxes, env_.Admin().ListMailboxes());
    for (const auto& m : mailboxes) {
      if (m.status() == v1::IN_FLIGHT) return absl::OkStatus();
    }
    if (absl::Now() > guard) return absl::DeadlineExceededError("hang guard: nothing in flight");
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<int> ChaosWorkload::LostRecords(const std::string& agent_id) {
  v1::ListProvisioningLogRequest lost;
  lost.set_kind("lost");
  lost.set_agent_id(agent_id);
  return env_.Admin().CountLog(lost, 1000000);
}

absl::Status ChaosWorkload::ResumePausedForests() {
  v1::ListForestsResponse forests;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(1)));  // hang guard
    grpc::Status s = env_.Admin().stub().ListForests(&context, {}, &forests);
    if (!s.ok()) return absl::UnavailableError("ListForests: " + s.error_message());
  }
  for (const auto& f : forests.forests()) {
    if (!f.paused()) continue;
    std::cout << "chaos: forest " << f.name() << " paused by the controller (\"" << f.pause_reason()
              << "\"); resumed as an operator would" << std::endl;
    v1::ResumeForestRequest resume;
    resume.set_name(f.name());
    v1::Forest resumed;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(1)));
    grpc::Status s = env_.Admin().stub().ResumeForest(&context, resume, &resumed);
    if (!s.ok()) return absl::UnavailableError("ResumeForest: " + s.error_message());
  }
  return absl::OkStatus();
}

absl::Status ChaosWorkload::WaitConverged() {
  const absl::Time give_up = absl::Now() + Guard();
  while (true) {
    WB_RETURN_IF_ERROR(ResumePausedForests());
    absl::Status synced = env_.Admin().WaitAllInSync(absl::Seconds(1));
    if (synced.code() != absl::StatusCode::kDeadlineExceeded || absl::Now() > give_up) {
      return synced;
    }
  }
}

std::vector<ExpectedMailbox> ChaosWorkload::Expected() const {
  std::vector<ExpectedMailbox> out(ids_.size());
  for (size_t n = 0; n < ids_.size(); ++n) {
    const int i = static_cast<int>(n);
    ExpectedMailbox& e = out[n];
    e.cloud_id = ids_[n];
    e.dn = users_[n].dn;
    for (int g = 1; g <= sizes_.generations; ++g) {
      e.desired[kAttr1] = {Value1(g, i)};
      e.history[kAttr1][Value1(g, i)].insert(g);
      if (g % 2 != 0) continue;
      e.desired[kAttr2] = {Value2(g, i)};
      e.history[kAttr2][Value2(g, i)].insert(g);
    }
  }
  return out;
}

InvariantOptions ChaosWorkload::Options() const {
  InvariantOptions options;
  options.audit_from = audit_mark_;
  return options;
}

absl::Status StartTwoAgentEstate(WritebackEnv& env) {
  env.set_controller_config(ChaosWorkload::kControllerConfig);
  WB_RETURN_IF_ERROR(env.StartDc());
  WB_RETURN_IF_ERROR(env.StartController());
  WB_RETURN_IF_ERROR(env.StartAgent(1));
  return env.StartAgent(2);
}

absl::Status ChaosWorkload::WaitMidStream(int sent, int applied) {
  WB_RETURN_IF_ERROR(WaitSent(sent));
  WB_RETURN_IF_ERROR(WaitApplied(applied));
  return WaitInFlight();
}

}  // namespace writeback::testing
