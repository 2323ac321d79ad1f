#include "tests/system/admin_client.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "grpcpp/grpcpp.h"

namespace writeback::testing {
namespace {

constexpr absl::Duration kCallGuard = absl::Seconds(60);

// A context that waits for the controller (it may be restarting).
void Prepare(grpc::ClientContext* context) {
  context->set_wait_for_ready(true);
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallGuard));
}

// Runs a read-only call, again while it fails with UNAVAILABLE: after a
// controller restart a call can land on the dead process's connection.
template <typename Call>
absl::Status ReadCall(const Call& call) {
  absl::Time deadline = absl::Now() + kCallGuard;
  while (true) {
    grpc::ClientContext context;
    Prepare(&context);
    absl::Status s = FromGrpcStatus(call(&context));
    if (s.code() != absl::StatusCode::kUnavailable || absl::Now() >= deadline) return s;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace

AdminClient::AdminClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(v1::AdminService::NewStub(channel_)) {}

grpc::ChannelArguments AdminClient::Arguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return args;
}

v1::AttributeEdit AdminClient::Set(const std::string& attribute, const std::string& value) {
  v1::AttributeEdit edit;
  edit.set_attribute(attribute);
  edit.set_set(value);
  return edit;
}

v1::AttributeEdit AdminClient::Replace(const std::string& attribute,
                                       const std::vector<std::string>& values) {
  v1::AttributeEdit edit;
  edit.set_attribute(attribute);
  for (const auto& v : values) edit.mutable_replace()->add_values(v);
  return edit;
}

absl::Status AdminClient::AddForest(const std::string& name, const std::string& scope_ou) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::AddForestRequest request;
  request.mutable_forest()->set_name(name);
  request.mutable_forest()->add_scope_ous(scope_ou);
  v1::Forest response;
  absl::Status s = FromGrpcStatus(stub_->AddForest(&context, request, &response));
  return s.code() == absl::StatusCode::kAlreadyExists ? absl::OkStatus() : s;
}

absl::StatusOr<v1::Mailbox> AdminClient::AddMailbox(const std::string& cloud_id,
                                                    const std::string& forest,
                                                    const std::string& anchor) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::AddMailboxRequest request;
  request.set_cloud_id(cloud_id);
  request.set_forest(forest);
  request.set_source_anchor(anchor);
  v1::Mailbox response;
  absl::Status s = FromGrpcStatus(stub_->AddMailbox(&context, request, &response));
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::Mailbox> AdminClient::UpdateMailbox(
    const std::string& cloud_id, const std::vector<v1::AttributeEdit>& edits) {
  v1::UpdateMailboxRequest request;
  request.set_cloud_id(cloud_id);
  for (const auto& e : edits) *request.add_edits() = e;
  grpc::ClientContext context;
  Prepare(&context);
  v1::Mailbox response;
  absl::Status s = FromGrpcStatus(stub_->UpdateMailbox(&context, request, &response));
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::GetStatusResponse> AdminClient::GetStatus() {
  v1::GetStatusResponse response;
  absl::Status s = ReadCall([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->GetStatus(context, v1::GetStatusRequest(), &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::Status AdminClient::UpdateMailboxes(const std::vector<v1::UpdateMailboxRequest>& requests,
                                          int threads) {
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first;
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < requests.size(); i = next++) {
        grpc::ClientContext context;
        Prepare(&context);
        v1::Mailbox response;
        absl::Status s = FromGrpcStatus(stub_->UpdateMailbox(&context, requests[i], &response));
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (first.ok()) {
            first = absl::Status(s.code(), absl::StrCat("update of mailbox ",
                                                        requests[i].cloud_id(), ": ",
                                                        s.message()));
          }
          return;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return first;
}

absl::StatusOr<v1::Mailbox> AdminClient::GetMailbox(const std::string& cloud_id) {
  v1::GetMailboxRequest request;
  request.set_cloud_id(cloud_id);
  v1::Mailbox response;
  absl::Status s = ReadCall([&](grpc::ClientContext* context) {
    return stub_->GetMailbox(context, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<std::vector<v1::Mailbox>> AdminClient::ListMailboxes() {
  v1::ListMailboxesRequest request;
  request.set_limit(1000000);
  v1::ListMailboxesResponse response;
  absl::Status s = ReadCall([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->ListMailboxes(context, request, &response);
  });
  if (!s.ok()) return s;
  return std::vector<v1::Mailbox>(response.mailboxes().begin(), response.mailboxes().end());
}

absl::StatusOr<std::vector<v1::ProvisioningRecord>> AdminClient::ProvisioningLog(
    v1::ListProvisioningLogRequest filter) {
  if (filter.limit() == 0) filter.set_limit(100000000);
  v1::ListProvisioningLogResponse response;
  absl::Status s = ReadCall([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->ListProvisioningLog(context, filter, &response);
  });
  if (!s.ok()) return s;
  std::vector<v1::ProvisioningRecord> records(response.records().rbegin(),
                                              response.records().rend());
  return records;
}

absl::StatusOr<int> AdminClient::CountLog(v1::ListProvisioningLogRequest filter, int at_most) {
  filter.set_limit(at_most);
  v1::ListProvisioningLogResponse response;
  absl::Status s = ReadCall([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->ListProvisioningLog(context, filter, &response);
  });
  if (!s.ok()) return s;
  return response.records_size();
}

absl::Status AdminClient::WaitConnectedAgents(const std::string& forest, int agents,
                                              absl::Duration guard) {
  absl::Time deadline = absl::Now() + guard;
  int connected = -1;
  while (true) {
    v1::ListForestsResponse response;
    absl::Status s = ReadCall([&](grpc::ClientContext* context) {
      response.Clear();
      return stub_->ListForests(context, v1::ListForestsRequest(), &response);
    });
    if (!s.ok()) return s;
    for (const auto& f : response.forests()) {
      if (f.name() == forest) connected = static_cast<int>(f.connected_agents());
    }
    if (connected == agents) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(forest, " has ", connected,
                                                      " agents connected, want ", agents));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status AdminClient::WaitAllInSync(absl::Duration guard) {
  absl::Time deadline = absl::Now() + guard;
  std::string summary;
  while (true) {
    auto mailboxes = ListMailboxes();
    if (!mailboxes.ok()) return mailboxes.status();
    std::map<std::string, int> by_status;
    const v1::Mailbox* example = nullptr;
    for (const auto& m : *mailboxes) {
      if (m.status() == v1::QUARANTINED) {
        return absl::FailedPreconditionError(
            absl::StrCat("mailbox ", m.cloud_id(), " is quarantined: ", m.last_error()));
      }
      bool done = m.status() == v1::IN_SYNC && m.applied_gen() == m.desired_gen();
      by_status[v1::MailboxStatus_Name(m.status())]++;
      if (!done && example == nullptr) example = &m;
    }
    if (example == nullptr) return absl::OkStatus();
    summary.clear();
    for (const auto& [name, n] : by_status) absl::StrAppend(&summary, name, "=", n, " ");
    absl::StrAppend(&summary, "; e.g. ", example->cloud_id(), " gen ", example->applied_gen(),
                    "/", example->desired_gen(), " ", v1::MailboxStatus_Name(example->status()),
                    " last_error \"", example->last_error(), "\"");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not all mailboxes in sync after ", absl::FormatDuration(guard), ": ",
                       summary));
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

}  // namespace writeback::testing
