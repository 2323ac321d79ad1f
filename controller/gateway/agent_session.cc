#include "controller/gateway/agent_session.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/identity/peer_identity.h"
#include "common/protocol.h"
#include "controller/enroll/agent_certificates.h"

namespace writeback::controller {

using writeback::v1::AgentMessage;
using writeback::v1::ControllerMessage;

AgentSession* AgentSession::Create(grpc::CallbackServerContext* context, Dispatcher* dispatcher,
                                   Store* store, TrustStore* trust, const ControllerCa* ca) {
  std::shared_ptr<AgentSession> session(new AgentSession(context, dispatcher));
  session->self_ = session;
  auto agent = AuthenticateAgent(*context, trust, ca, absl::Now());
  if (!agent.ok()) {
    absl::StatusOr<AgentIdentity> claimed = PeerAgentIdentity(*context);
    LogLine line(LogLevel::kWarning);
    line << "refused agent stream" << LogField("peer", context->peer());
    if (claimed.ok()) {
      line << LogField("agent", claimed->agent_id) << LogField("forest", claimed->forest);
    }
    line << LogField("error", agent.status().message())
         << LogHint(
                "enroll the agent (again) if it should serve: writebackctl token create, "
                "then writeback-agent enroll; see writebackctl agent list");
    session->End(
        grpc::Status(grpc::StatusCode::PERMISSION_DENIED, std::string(agent.status().message())));
    return session.get();
  }
  const AgentIdentity* identity = &agent->identity;
  if (auto forest = store->GetForest(identity->forest); !forest.ok()) {
    session->End(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              absl::StrCat("forest ", identity->forest,
                                           " is not registered at this controller; add it "
                                           "with writebackctl forest add")));
    return session.get();
  }
  session->identity_ = *identity;
  session->cert_serial_ = agent->cert.serial;
  session->cert_not_after_ = agent->cert.not_after;
  session->StartRead(&session->in_);
  return session.get();
}

void AgentSession::Handle(const AgentMessage& message) {
  if (session_id_.empty() && !message.has_hello()) {
    End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be Hello"));
    return;
  }
  switch (message.body_case()) {
    case AgentMessage::kHello: {
      if (!session_id_.empty()) {
        End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Hello sent twice"));
        return;
      }
      const auto& hello = message.hello();
      if (hello.protocol_version() < kMinProtocolVersion) {
        End(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                         absl::StrCat("agent protocol version ", hello.protocol_version(),
                                      " is older than the oldest this controller serves (",
                                      kMinProtocolVersion, "); upgrade the agent")));
        return;
      }
      SessionInfo info;
      info.agent_id = identity_.agent_id;
      info.forest = identity_.forest;
      info.agent_version = hello.agent_version();
      info.max_in_flight = std::max(1u, std::min(hello.max_in_flight(), 10000u));
      info.protocol_version = std::min(hello.protocol_version(), kProtocolVersion);
      info.ldap_timeout = absl::Milliseconds(std::min(hello.ldap_timeout_ms(), 3'600'000u));
      info.cert_serial = cert_serial_;
      info.cert_not_after = cert_not_after_;
      session_id_ = dispatcher_->Attach(info, self_).session_id();  // sends the Welcome
      return;
    }
    case AgentMessage::kResults:
      dispatcher_->OnResults(session_id_, message.results());
      return;
    case AgentMessage::kObserved:
      dispatcher_->OnObserved(session_id_, message.observed());
      return;
    case AgentMessage::kScanPage:
      dispatcher_->OnScanPage(session_id_, message.scan_page());
      return;
    case AgentMessage::kHeartbeat:
      dispatcher_->OnHeartbeat(session_id_, message.heartbeat().sequence());
      return;
    case AgentMessage::BODY_NOT_SET:
      return;  // a newer agent's message kind: ignore
  }
}

void AgentSession::OnReadDone(bool ok) {
  if (!ok) {  // the agent closed its side, the stream broke, or a message did not parse
    // gRPC reports a message it cannot parse like a closed side. Before a
    // Hello neither is a conversation: say what was expected.
    End(session_id_.empty()
            ? grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "the stream ended before its Hello, or its first message is not an "
                           "AgentMessage (writeback.v1, agent.proto): the first message must be "
                           "Hello")
            : grpc::Status::OK);
    return;
  }
  Handle(in_);
  bool ending;
  {
    absl::MutexLock lock(&mu_);
    ending = ending_;
  }
  if (!ending) StartRead(&in_);
}

void AgentSession::Send(ControllerMessage message) {
  ControllerMessage* next;
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    queue_.push_back(std::move(message));
    if (writing_) return;
    writing_ = true;
    next = &queue_.front();
  }
  StartWrite(next);
}

void AgentSession::OnWriteDone(bool ok) {
  ControllerMessage* next = nullptr;
  bool finish = false;
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) queue_.clear();
    if (!queue_.empty()) {
      next = &queue_.front();
    } else {
      writing_ = false;
      if (ending_ && !finished_) {
        finished_ = true;
        finish = true;
        status = end_status_;
      }
    }
  }
  if (next != nullptr) StartWrite(next);
  if (finish) Finish(status);
}

void AgentSession::End(grpc::Status status) {
  bool finish = false;
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    ending_ = true;
    end_status_ = status;
    if (!writing_) {
      finished_ = true;
      finish = true;
    }
  }
  if (!session_id_.empty()) dispatcher_->Detach(session_id_);
  if (finish) Finish(status);
}

void AgentSession::Abort(const std::string& reason) {
  absl::MutexLock lock(&mu_);  // OnDone waits for this: context_ stays valid
  if (done_) return;
  WB_LOG(WARNING) << "cutting an agent stream" << LogField("agent", identity_.agent_id)
                  << LogField("forest", identity_.forest) << LogField("reason", reason)
                  << LogHint("its work is redelivered; see writebackctl agent list");
  context_->TryCancel();  // pending reads and writes fail; OnReadDone(false) ends it
}

void AgentSession::Close(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);  // OnDone waits for this: context_ stays valid
    if (done_) return;
    if (!queue_.empty() && writing_) queue_.erase(queue_.begin() + 1, queue_.end());
    if (!writing_) queue_.clear();
  }
  WB_LOG(WARNING) << "ending an agent stream" << LogField("agent", identity_.agent_id)
                  << LogField("forest", identity_.forest) << LogField("reason", status.message())
                  << LogHint(
                         "the agent reconnects unless it was drained or revoked; see "
                         "writebackctl agent list");
  End(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
}

void AgentSession::OnCancel() {}

void AgentSession::OnDone() {
  {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    done_ = true;
  }
  if (!session_id_.empty()) dispatcher_->Detach(session_id_);
  self_.reset();  // may delete this
}

}  // namespace writeback::controller
