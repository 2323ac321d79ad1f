// The Admin API (proto/writeback/v1/admin.proto) over the store. Validation
// errors are INVALID_ARGUMENT naming the field; every change is durable before
// the call answers OK, and wakes the dispatcher.
#ifndef WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVICE_H_
#define WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVICE_H_

#include "controller/dispatch/dispatcher.h"
#include "controller/pki/controller_ca.h"
#include "controller/store/store.h"
#include "controller/store/trust_store.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::controller {

// What the trust calls (trust_calls.cc) work on; without it they answer
// FAILED_PRECONDITION.
struct AdminTrust {
  ControllerCa* ca = nullptr;
  TrustStore* store = nullptr;
};

class AdminService : public writeback::v1::AdminService::Service {
 public:
  AdminService(Store* store, Dispatcher* dispatcher, AdminTrust trust = {})
      : store_(store), dispatcher_(dispatcher), trust_(trust) {}

  grpc::Status AddForest(grpc::ServerContext*, const writeback::v1::AddForestRequest* request,
                         writeback::v1::Forest* response) override;
  grpc::Status ListForests(grpc::ServerContext*, const writeback::v1::ListForestsRequest*,
                           writeback::v1::ListForestsResponse* response) override;
  grpc::Status AddMailbox(grpc::ServerContext*, const writeback::v1::AddMailboxRequest* request,
                          writeback::v1::Mailbox* response) override;
  grpc::Status UpdateMailbox(grpc::ServerContext*,
                             const writeback::v1::UpdateMailboxRequest* request,
                             writeback::v1::Mailbox* response) override;
  grpc::Status GetMailbox(grpc::ServerContext*, const writeback::v1::GetMailboxRequest* request,
                          writeback::v1::Mailbox* response) override;
  grpc::Status ListMailboxes(grpc::ServerContext*,
                             const writeback::v1::ListMailboxesRequest* request,
                             writeback::v1::ListMailboxesResponse* response) override;
  grpc::Status RemoveMailbox(grpc::ServerContext*,
                             const writeback::v1::RemoveMailboxRequest* request,
                             writeback::v1::Mailbox* response) override;
  grpc::Status RetryMailbox(grpc::ServerContext*, const writeback::v1::RetryMailboxRequest* request,
                            writeback::v1::Mailbox* response) override;
  grpc::Status PauseForest(grpc::ServerContext*, const writeback::v1::PauseForestRequest* request,
                           writeback::v1::Forest* response) override;
  grpc::Status ResumeForest(grpc::ServerContext*,
                            const writeback::v1::ResumeForestRequest* request,
                            writeback::v1::Forest* response) override;
  grpc::Status ListAgents(grpc::ServerContext*, const writeback::v1::ListAgentsRequest* request,
                          writeback::v1::ListAgentsResponse* response) override;
  grpc::Status DrainAgent(grpc::ServerContext*, const writeback::v1::DrainAgentRequest* request,
                          writeback::v1::Agent* response) override;
  grpc::Status ListAuditLog(grpc::ServerContext*, const writeback::v1::ListAuditLogRequest* request,
                            writeback::v1::ListAuditLogResponse* response) override;
  grpc::Status ListProvisioningLog(grpc::ServerContext*,
                                   const writeback::v1::ListProvisioningLogRequest* request,
                                   writeback::v1::ListProvisioningLogResponse* response) override;
  // In log_calls.cc: every matching record, oldest first, read in pages of
  // kExportPageSize.
  grpc::Status ExportProvisioningLog(
      grpc::ServerContext* context, const writeback::v1::ListProvisioningLogRequest* request,
      grpc::ServerWriter<writeback::v1::ProvisioningRecord>* writer) override;
  static constexpr size_t kExportPageSize = 500;
  // In provision_calls.cc: provision on demand (Dispatcher::ProvisionNow),
  // audited; timeout_ms 0 means 30 s, at most kMaxProvisionTimeoutMs.
  grpc::Status ProvisionNow(grpc::ServerContext* context,
                            const writeback::v1::ProvisionNowRequest* request,
                            writeback::v1::ProvisionNowResponse* response) override;
  static constexpr uint32_t kMaxProvisionTimeoutMs = 600000;
  // In drift_calls.cc: reconciliation on demand and the drift records.
  grpc::Status ReconcileForest(grpc::ServerContext* context,
                               const writeback::v1::ReconcileForestRequest* request,
                               writeback::v1::ReconcileForestResponse* response) override;
  grpc::Status ListDrift(grpc::ServerContext*, const writeback::v1::ListDriftRequest* request,
                         writeback::v1::ListDriftResponse* response) override;

  // In hold_calls.cc: the mass-change guard's holds and a forest's policy.
  grpc::Status ListHolds(grpc::ServerContext*, const writeback::v1::ListHoldsRequest* request,
                         writeback::v1::ListHoldsResponse* response) override;
  grpc::Status ApproveHold(grpc::ServerContext* context,
                           const writeback::v1::ApproveHoldRequest* request,
                           writeback::v1::Hold* response) override;
  grpc::Status RejectHold(grpc::ServerContext* context,
                          const writeback::v1::RejectHoldRequest* request,
                          writeback::v1::Hold* response) override;
  grpc::Status SetForestPolicy(grpc::ServerContext* context,
                               const writeback::v1::SetForestPolicyRequest* request,
                               writeback::v1::Forest* response) override;

  // In trust_calls.cc: join tokens, agent revocation, the controller CA.
  grpc::Status CreateJoinToken(grpc::ServerContext* context,
                               const writeback::v1::CreateJoinTokenRequest* request,
                               writeback::v1::CreateJoinTokenResponse* response) override;
  grpc::Status ListJoinTokens(grpc::ServerContext*,
                              const writeback::v1::ListJoinTokensRequest* request,
                              writeback::v1::ListJoinTokensResponse* response) override;
  grpc::Status RevokeJoinToken(grpc::ServerContext* context,
                               const writeback::v1::RevokeJoinTokenRequest* request,
                               writeback::v1::JoinToken* response) override;
  grpc::Status RevokeAgent(grpc::ServerContext* context,
                           const writeback::v1::RevokeAgentRequest* request,
                           writeback::v1::Agent* response) override;
  grpc::Status GetCertificateAuthority(grpc::ServerContext*,
                                       const writeback::v1::GetCertificateAuthorityRequest*,
                                       writeback::v1::CertificateAuthority* response) override;
  grpc::Status RotateCertificateAuthority(
      grpc::ServerContext* context, const writeback::v1::RotateCertificateAuthorityRequest* request,
      writeback::v1::CertificateAuthority* response) override;

  // In ops_calls.cc: the estate at a glance and the bulk import.
  grpc::Status GetStatus(grpc::ServerContext* context, const writeback::v1::GetStatusRequest*,
                         writeback::v1::GetStatusResponse* response) override;
  grpc::Status ImportMailboxes(grpc::ServerContext* context,
                               const writeback::v1::ImportMailboxesRequest* request,
                               writeback::v1::ImportMailboxesResponse* response) override;
  static constexpr int kMaxImportEntries = 5000;

 private:
  grpc::Status CreateJoinTokenUnaudited(grpc::ServerContext*,
                                        const writeback::v1::CreateJoinTokenRequest*,
                                        writeback::v1::CreateJoinTokenResponse*);
  grpc::Status RevokeJoinTokenUnaudited(grpc::ServerContext*,
                                        const writeback::v1::RevokeJoinTokenRequest*,
                                        writeback::v1::JoinToken*);
  grpc::Status RevokeAgentUnaudited(grpc::ServerContext*, const writeback::v1::RevokeAgentRequest*,
                                    writeback::v1::Agent*);
  grpc::Status RotateCertificateAuthorityUnaudited(
      grpc::ServerContext*, const writeback::v1::RotateCertificateAuthorityRequest*,
      writeback::v1::CertificateAuthority*);
  // The CA's state and which agents still hold certificates of the serving
  // CA during a rotation.
  absl::Status DescribeCa(writeback::v1::CertificateAuthority* out);
  // Each agent's newest issued certificate and revocation (trust_calls.cc).
  void AddTrustInfo(writeback::v1::ListAgentsResponse* response);
  // The mutating calls proper; the public ones wrap them with Audit.
  grpc::Status AddForestUnaudited(grpc::ServerContext*, const writeback::v1::AddForestRequest*,
                                  writeback::v1::Forest*);
  grpc::Status AddMailboxUnaudited(grpc::ServerContext*, const writeback::v1::AddMailboxRequest*,
                                   writeback::v1::Mailbox*);
  grpc::Status UpdateMailboxUnaudited(grpc::ServerContext*,
                                      const writeback::v1::UpdateMailboxRequest*,
                                      writeback::v1::Mailbox*);
  grpc::Status RemoveMailboxUnaudited(grpc::ServerContext*,
                                      const writeback::v1::RemoveMailboxRequest*,
                                      writeback::v1::Mailbox*);
  grpc::Status DrainAgentUnaudited(grpc::ServerContext*, const writeback::v1::DrainAgentRequest*,
                                   writeback::v1::Agent*);
  grpc::Status RetryMailboxUnaudited(grpc::ServerContext*,
                                     const writeback::v1::RetryMailboxRequest*,
                                     writeback::v1::Mailbox*);
  grpc::Status PauseForestUnaudited(grpc::ServerContext*, const writeback::v1::PauseForestRequest*,
                                    writeback::v1::Forest*);
  grpc::Status ResumeForestUnaudited(grpc::ServerContext*,
                                     const writeback::v1::ResumeForestRequest*,
                                     writeback::v1::Forest*);
  grpc::Status ProvisionNowUnaudited(grpc::ServerContext*,
                                     const writeback::v1::ProvisionNowRequest*,
                                     writeback::v1::ProvisionNowResponse*);
  grpc::Status ReconcileForestUnaudited(grpc::ServerContext*,
                                        const writeback::v1::ReconcileForestRequest*,
                                        writeback::v1::ReconcileForestResponse*);
  grpc::Status ApproveHoldUnaudited(grpc::ServerContext*, const writeback::v1::ApproveHoldRequest*,
                                    writeback::v1::Hold*);
  grpc::Status RejectHoldUnaudited(grpc::ServerContext*, const writeback::v1::RejectHoldRequest*,
                                   writeback::v1::Hold*);
  grpc::Status SetForestPolicyUnaudited(grpc::ServerContext*,
                                        const writeback::v1::SetForestPolicyRequest*,
                                        writeback::v1::Forest*);
  // Approves or rejects hold `hold_id` (hold_calls.cc).
  grpc::Status DecideHold(grpc::ServerContext* context, int64_t hold_id, bool approve,
                          writeback::v1::Hold* response);
  grpc::Status SetPause(const std::string& name, bool paused, const std::string& reason,
                        writeback::v1::Forest* response);
  writeback::v1::Forest ForestProto(const ForestRecord& forest) const;
  // Runs `call` and records it in the audit trail.
  template <typename Request, typename Response>
  grpc::Status Audited(grpc::ServerContext* context, const char* method, const Request* request,
                       Response* response,
                       grpc::Status (AdminService::*call)(grpc::ServerContext*, const Request*,
                                                          Response*)) {
    grpc::Status status = (this->*call)(context, request, response);
    Audit(context, method, *request, status);
    return status;
  }
  // Records the call in the audit trail (after it answered; a failure to
  // record is logged, the call's answer stands).
  void Audit(const grpc::ServerContext* context, const char* method,
             const google::protobuf::Message& request, const grpc::Status& result);

  Store* const store_;
  Dispatcher* const dispatcher_;
  const AdminTrust trust_;
};

// INVALID_ARGUMENT naming the field when a log query's filter cannot match
// anything meaningful (an unknown kind, an inverted time range); in
// log_calls.cc.
grpc::Status CheckLogFilter(const writeback::v1::ListProvisioningLogRequest& filter);
// INVALID_ARGUMENT unless [since_ms, until_ms) is a time range (Unix ms,
// zero meaning open); shared by the log and drift filters.
grpc::Status CheckTimeRange(int64_t since_ms, int64_t until_ms);

// The Admin API view of a mass-change hold (hold_calls.cc).
writeback::v1::Hold ToProto(const HoldRecord& record);

// The Admin API view of a stored mailbox.
writeback::v1::Mailbox ToProto(const MailboxRecord& record);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_ADMIN_SERVICE_H_
