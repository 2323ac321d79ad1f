#include "controller/admin/admin_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/attributes/validation.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "common/grpc_status.h"
#include "common/identity/anchor.h"
#include "controller/admin/audit.h"
#include "controller/admin/mailbox_edits.h"

namespace writeback::controller {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

bool IsDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.') return false;
  }
  return !absl::StrContains(name, "..");
}


}  // namespace

writeback::v1::Mailbox ToProto(const MailboxRecord& r) {
  writeback::v1::Mailbox m;
  m.set_cloud_id(r.cloud_id);
  m.set_forest(r.forest);
  m.set_source_anchor(r.source_anchor);
  *m.mutable_desired() = r.desired;
  if (r.last_known.has_value()) *m.mutable_last_known() = *r.last_known;
  m.set_onboarded(r.last_known.has_value());
  m.set_desired_gen(r.desired_gen);
  m.set_applied_gen(r.applied_gen);
  m.set_status(r.status);
  m.set_attempts(r.attempts);
  m.set_last_error(r.last_error);
  m.set_next_attempt_time_ms(r.next_attempt_ms);
  m.set_dn(r.dn);
  return m;
}

grpc::Status AdminService::AddForestUnaudited(grpc::ServerContext*,
                                     const writeback::v1::AddForestRequest* request,
                                     writeback::v1::Forest* response) {
  ForestRecord forest;
  forest.name = absl::AsciiStrToLower(request->forest().name());
  if (!IsDnsName(forest.name)) {
    return Invalid(absl::StrCat("forest.name: ", QuoteForError(request->forest().name()),
                                " is not a DNS name such as corp.example.com"));
  }
  if (request->forest().scope_ous().empty()) {
    return Invalid("forest.scope_ous: give at least one OU distinguished name, e.g. "
                   "OU=Mailboxes,DC=corp,DC=example,DC=com");
  }
  for (const auto& ou : request->forest().scope_ous()) {
    if (!absl::StrContains(absl::AsciiStrToLower(ou), "dc=") || !absl::StrContains(ou, "=")) {
      return Invalid(absl::StrCat("forest.scope_ous: ", QuoteForError(ou),
                                  " is not a distinguished name with DC= components"));
    }
    forest.scope_ous.push_back(ou);
  }
  if (request->forest().has_mass_change_threshold()) {
    forest.mass_change_threshold = request->forest().mass_change_threshold();
  }
  if (request->forest().has_mass_change_window_s()) {
    if (request->forest().mass_change_window_s() == 0) {
      return Invalid("forest.mass_change_window_s: must be at least 1 second");
    }
    forest.mass_change_window_s = request->forest().mass_change_window_s();
  }
  forest.created_ms = absl::ToUnixMillis(absl::Now());
  if (absl::Status s = store_->AddForest(forest); !s.ok()) return ToGrpcStatus(s);
  *response = ForestProto(forest);
  WB_LOG(INFO) << "forest added name=" << forest.name;
  return grpc::Status::OK;
}

grpc::Status AdminService::ListForests(grpc::ServerContext*,
                                       const writeback::v1::ListForestsRequest*,
                                       writeback::v1::ListForestsResponse* response) {
  auto forests = store_->ListForests();
  if (!forests.ok()) return ToGrpcStatus(forests.status());
  for (const auto& f : *forests) *response->add_forests() = ForestProto(f);
  return grpc::Status::OK;
}

writeback::v1::Forest AdminService::ForestProto(const ForestRecord& f) const {
  writeback::v1::Forest out;
  out.set_name(f.name);
  for (const auto& ou : f.scope_ous) out.add_scope_ous(ou);
  out.set_connected_agents(dispatcher_->ConnectedAgents(f.name));
  out.set_paused(f.paused);
  out.set_pause_reason(f.pause_reason);
  out.set_paused_at_ms(f.paused_at_ms);
  if (f.mass_change_threshold.has_value()) out.set_mass_change_threshold(*f.mass_change_threshold);
  if (f.mass_change_window_s.has_value()) out.set_mass_change_window_s(*f.mass_change_window_s);
  auto open = store_->ListHolds(f.name, "open");
  if (open.ok() && !open->empty()) {
    out.set_open_hold_id(open->front().id);
    out.set_held_mailboxes(static_cast<uint32_t>(open->front().mailboxes));
  }
  return out;
}

grpc::Status AdminService::RetryMailboxUnaudited(grpc::ServerContext*,
                                                 const writeback::v1::RetryMailboxRequest* request,
                                                 writeback::v1::Mailbox* response) {
  bool retried = false;
  auto written = store_->UpdateMailbox(absl::AsciiStrToLower(request->cloud_id()),
                                       [&retried](MailboxRecord& m) -> absl::Status {
                                         WB_ASSIGN_OR_RETURN(retried, RetryNow(&m));
                                         m.updated_ms = absl::ToUnixMillis(absl::Now());
                                         return absl::OkStatus();
                                       });
  if (!written.ok()) return ToGrpcStatus(written.status());
  if (retried) {
    WB_LOG(INFO) << "mailbox " << written->cloud_id << " retried by the operator";
    dispatcher_->Wake();
  }
  *response = ToProto(*written);
  return grpc::Status::OK;
}

grpc::Status AdminService::SetPause(const std::string& name, bool paused,
                                    const std::string& reason, writeback::v1::Forest* response) {
  const std::string forest = absl::AsciiStrToLower(name);
  absl::Status set = store_->SetForestPause(forest, paused, reason, absl::ToUnixMillis(absl::Now()));
  if (!set.ok()) return ToGrpcStatus(set);
  if (!paused) dispatcher_->Resume(forest);
  WB_LOG(INFO) << "forest " << forest << (paused ? " paused: " + reason : " resumed");
  auto f = store_->GetForest(forest);
  if (!f.ok()) return ToGrpcStatus(f.status());
  *response = ForestProto(*f);
  return grpc::Status::OK;
}

grpc::Status AdminService::PauseForestUnaudited(grpc::ServerContext*,
                                                const writeback::v1::PauseForestRequest* request,
                                                writeback::v1::Forest* response) {
  return SetPause(request->name(), true,
                  absl::StrCat("paused by the operator",
                               request->reason().empty() ? "" : ": " + request->reason()),
                  response);
}

grpc::Status AdminService::ResumeForestUnaudited(grpc::ServerContext*,
                                                 const writeback::v1::ResumeForestRequest* request,
                                                 writeback::v1::Forest* response) {
  return SetPause(request->name(), false, "", response);
}

grpc::Status AdminService::AddMailboxUnaudited(grpc::ServerContext*,
                                      const writeback::v1::AddMailboxRequest* request,
                                      writeback::v1::Mailbox* response) {
  std::string cloud_id = absl::AsciiStrToLower(request->cloud_id());
  if (!IsGuidString(cloud_id)) {
    return Invalid(absl::StrCat("cloud_id: ", QuoteForError(request->cloud_id()),
                                " is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
  }
  if (request->source_anchor().size() != 16) {
    return Invalid(absl::StrCat("source_anchor: must be 16 bytes (an objectGUID or "
                                "ms-DS-ConsistencyGuid), got ",
                                request->source_anchor().size()));
  }
  MailboxRecord record;
  record.cloud_id = cloud_id;
  record.forest = absl::AsciiStrToLower(request->forest());
  record.source_anchor = request->source_anchor();
  record.status = writeback::v1::PENDING;  // the onboarding read comes first
  record.updated_ms = absl::ToUnixMillis(absl::Now());
  if (absl::Status s = store_->AddMailbox(record); !s.ok()) return ToGrpcStatus(s);
  *response = ToProto(record);
  dispatcher_->Wake();
  WB_LOG(INFO) << "mailbox added cloud_id=" << cloud_id << " forest=" << record.forest
               << " anchor=" << AnchorToGuidString(record.source_anchor);
  return grpc::Status::OK;
}

grpc::Status AdminService::UpdateMailboxUnaudited(grpc::ServerContext*,
                                         const writeback::v1::UpdateMailboxRequest* request,
                                         writeback::v1::Mailbox* response) {
  if (request->edits().empty()) return Invalid("edits: give at least one attribute edit");
  bool changed = false;
  auto written = store_->UpdateMailbox(
      absl::AsciiStrToLower(request->cloud_id()), [&](MailboxRecord& m) -> absl::Status {
        writeback::v1::AttributeMap before = m.desired;
        absl::Status s = ApplyEdits(request->edits(), &m.desired);
        if (!s.ok()) return s;
        changed = !SameDesiredState(before, m.desired);
        if (!changed) return absl::OkStatus();
        m.desired_gen++;
        m.updated_ms = absl::ToUnixMillis(absl::Now());
        if (m.status == writeback::v1::IN_SYNC) m.status = writeback::v1::PENDING;
        return absl::OkStatus();
      });
  if (!written.ok()) return ToGrpcStatus(written.status());
  *response = ToProto(*written);
  // A new generation starts the change-latency clock (and wakes the dispatcher).
  if (changed) dispatcher_->Accepted(written->cloud_id, written->desired_gen);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetMailbox(grpc::ServerContext*,
                                      const writeback::v1::GetMailboxRequest* request,
                                      writeback::v1::Mailbox* response) {
  auto m = store_->GetMailbox(absl::AsciiStrToLower(request->cloud_id()));
  if (!m.ok()) return ToGrpcStatus(m.status());
  *response = ToProto(*m);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListMailboxes(grpc::ServerContext*,
                                         const writeback::v1::ListMailboxesRequest* request,
                                         writeback::v1::ListMailboxesResponse* response) {
  const std::string forest = absl::AsciiStrToLower(request->forest());
  const size_t limit = request->limit() == 0 ? 1000 : request->limit();
  std::vector<writeback::v1::MailboxStatus> statuses;
  for (int s : request->statuses()) statuses.push_back(static_cast<writeback::v1::MailboxStatus>(s));
  auto list = statuses.empty() ? store_->ListMailboxes(forest, limit)
                               : store_->ListMailboxesInStatus(forest, statuses, limit);
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (const auto& m : *list) *response->add_mailboxes() = ToProto(m);
  return grpc::Status::OK;
}

grpc::Status AdminService::RemoveMailboxUnaudited(grpc::ServerContext*,
                                         const writeback::v1::RemoveMailboxRequest* request,
                                         writeback::v1::Mailbox* response) {
  writeback::v1::ProvisioningRecord log;
  log.set_time_ms(absl::ToUnixMillis(absl::Now()));
  log.set_kind("removed");
  log.set_diagnostic(
      "the mailbox stopped being cloud-managed: removed from writeback; nothing was written to "
      "AD, whose values stay as they are");
  auto removed = store_->RemoveMailbox(absl::AsciiStrToLower(request->cloud_id()), log);
  if (!removed.ok()) return ToGrpcStatus(removed.status());
  WB_LOG(INFO) << "mailbox removed from writeback cloud_id=" << removed->cloud_id
               << " forest=" << removed->forest << " status_was="
               << writeback::v1::MailboxStatus_Name(removed->status);
  *response = ToProto(*removed);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListAgents(grpc::ServerContext*,
                                      const writeback::v1::ListAgentsRequest* request,
                                      writeback::v1::ListAgentsResponse* response) {
  const std::string forest = absl::AsciiStrToLower(request->forest());
  auto stored = store_->ListAgents(forest);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  std::vector<LiveSession> live = dispatcher_->Sessions();
  for (const AgentRecord& a : *stored) {
    writeback::v1::Agent* out = response->add_agents();
    out->set_agent_id(a.agent_id);
    out->set_forest(a.forest);
    out->set_version(a.version);
    out->set_state(a.state);
    out->set_last_seen_ms(a.last_seen_ms);
    for (const LiveSession& s : live) {
      if (s.info.agent_id != a.agent_id) continue;
      out->set_state(s.draining ? "draining" : "connected");
      out->set_in_flight(out->in_flight() + static_cast<uint32_t>(s.outstanding));
      out->set_protocol_version(s.info.protocol_version);
      if (!s.info.cert_serial.empty()) out->add_session_cert_serials(s.info.cert_serial);
    }
  }
  AddTrustInfo(response);
  return grpc::Status::OK;
}

grpc::Status AdminService::DrainAgentUnaudited(grpc::ServerContext* context,
                                      const writeback::v1::DrainAgentRequest* request,
                                      writeback::v1::Agent* response) {
  const std::string reason =
      request->reason().empty() ? "drained by the operator" : request->reason();
  if (dispatcher_->Drain(request->agent_id(), reason) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("agent \"", request->agent_id(),
                                     "\" has no live session to drain; `writebackctl agent "
                                     "list` shows the connected ones"));
  }
  writeback::v1::ListAgentsRequest every;
  writeback::v1::ListAgentsResponse all;
  (void)ListAgents(context, &every, &all);
  for (const auto& a : all.agents()) {
    if (a.agent_id() == request->agent_id()) *response = a;
  }
  return grpc::Status::OK;
}

void AdminService::Audit(const grpc::ServerContext* context, const char* method,
                         const google::protobuf::Message& request, const grpc::Status& result) {
  writeback::v1::AuditRecord record =
      MakeAuditRecord(context != nullptr ? CallerOf(*context) : "in-process", method, request,
                      result, absl::Now());
  if (absl::Status s = store_->AppendAudit(&record); !s.ok()) {
    WB_LOG(ERROR) << "recording an Admin API call in the audit trail failed"
                  << LogField("method", method) << LogField("caller", record.caller())
                  << LogError(s)
                  << LogHint(
                         "the call itself took effect; check the store's disk (space, "
                         "permissions)");
  }
}

grpc::Status AdminService::AddForest(grpc::ServerContext* context,
                                 const writeback::v1::AddForestRequest* request,
                                 writeback::v1::Forest* response) {
  return Audited(context, "AddForest", request, response, &AdminService::AddForestUnaudited);
}

grpc::Status AdminService::AddMailbox(grpc::ServerContext* context,
                                 const writeback::v1::AddMailboxRequest* request,
                                 writeback::v1::Mailbox* response) {
  return Audited(context, "AddMailbox", request, response, &AdminService::AddMailboxUnaudited);
}

grpc::Status AdminService::UpdateMailbox(grpc::ServerContext* context,
                                 const writeback::v1::UpdateMailboxRequest* request,
                                 writeback::v1::Mailbox* response) {
  return Audited(context, "UpdateMailbox", request, response, &AdminService::UpdateMailboxUnaudited);
}

grpc::Status AdminService::RemoveMailbox(grpc::ServerContext* context,
                                 const writeback::v1::RemoveMailboxRequest* request,
                                 writeback::v1::Mailbox* response) {
  return Audited(context, "RemoveMailbox", request, response, &AdminService::RemoveMailboxUnaudited);
}

grpc::Status AdminService::DrainAgent(grpc::ServerContext* context,
                                 const writeback::v1::DrainAgentRequest* request,
                                 writeback::v1::Agent* response) {
  return Audited(context, "DrainAgent", request, response, &AdminService::DrainAgentUnaudited);
}

grpc::Status AdminService::RetryMailbox(grpc::ServerContext* context,
                                 const writeback::v1::RetryMailboxRequest* request,
                                 writeback::v1::Mailbox* response) {
  return Audited(context, "RetryMailbox", request, response, &AdminService::RetryMailboxUnaudited);
}

grpc::Status AdminService::PauseForest(grpc::ServerContext* context,
                                 const writeback::v1::PauseForestRequest* request,
                                 writeback::v1::Forest* response) {
  return Audited(context, "PauseForest", request, response, &AdminService::PauseForestUnaudited);
}

grpc::Status AdminService::ResumeForest(grpc::ServerContext* context,
                                 const writeback::v1::ResumeForestRequest* request,
                                 writeback::v1::Forest* response) {
  return Audited(context, "ResumeForest", request, response, &AdminService::ResumeForestUnaudited);
}

grpc::Status AdminService::ListAuditLog(grpc::ServerContext*,
                                        const writeback::v1::ListAuditLogRequest* request,
                                        writeback::v1::ListAuditLogResponse* response) {
  auto records = store_->ListAudit(*request);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (auto& r : *records) *response->add_records() = std::move(r);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListProvisioningLog(
    grpc::ServerContext*, const writeback::v1::ListProvisioningLogRequest* request,
    writeback::v1::ListProvisioningLogResponse* response) {
  if (grpc::Status s = CheckLogFilter(*request); !s.ok()) return s;
  auto records = store_->ListLog(*request);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (auto& r : *records) *response->add_records() = std::move(r);
  return grpc::Status::OK;
}

}  // namespace writeback::controller
