// One agent stream on the controller (AgentGateway.Connect): a gRPC callback
// reactor that owns the stream's buffers, turns incoming messages into
// Dispatcher calls and sends what the dispatcher queues. Transport only: all
// decisions live in the Dispatcher.
//
// Lifetime: created by GatewayService::Connect, kept alive by a self
// reference until OnDone; the dispatcher may hold a shared_ptr to it as a
// SessionSink for longer, and Send() after the stream ended is a no-op.
// At most one write is outstanding; the rest queue (gRPC allows one).
#ifndef WRITEBACK_CONTROLLER_GATEWAY_AGENT_SESSION_H_
#define WRITEBACK_CONTROLLER_GATEWAY_AGENT_SESSION_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/identity/identity.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/dispatch/session_sink.h"
#include "controller/store/store.h"
#include "controller/pki/controller_ca.h"
#include "controller/store/trust_store.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::controller {

class AgentSession : public grpc::ServerBidiReactor<writeback::v1::AgentMessage,
                                                    writeback::v1::ControllerMessage>,
                     public SessionSink {
 public:
  // Starts the reactor. Refuses the stream at once (PERMISSION_DENIED) when
  // the peer's certificate carries no agent identity or is revoked or
  // expired (controller/enroll/agent_certificates.h), and
  // (FAILED_PRECONDITION) when its forest is not registered.
  static AgentSession* Create(grpc::CallbackServerContext* context, Dispatcher* dispatcher,
                              Store* store, TrustStore* trust, const ControllerCa* ca);

  void Send(writeback::v1::ControllerMessage message) override;
  void Abort(const std::string& reason) override;
  void Close(const absl::Status& status) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  AgentSession(grpc::CallbackServerContext* context, Dispatcher* dispatcher)
      : context_(context), dispatcher_(dispatcher) {}
  void Handle(const writeback::v1::AgentMessage& message);
  // Ends the stream with `status` once the write queue has drained.
  void End(grpc::Status status);

  grpc::CallbackServerContext* const context_;
  Dispatcher* const dispatcher_;
  std::shared_ptr<AgentSession> self_;  // released in OnDone
  AgentIdentity identity_;
  std::string cert_serial_;
  absl::Time cert_not_after_ = absl::InfiniteFuture();
  std::string session_id_;  // set by Hello; touched only by the read chain
  writeback::v1::AgentMessage in_;

  absl::Mutex mu_;
  std::deque<writeback::v1::ControllerMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;   // no more writes accepted
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish() called
  bool done_ ABSL_GUARDED_BY(mu_) = false;      // OnDone ran: context_ is gone
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_GATEWAY_AGENT_SESSION_H_
