// The AgentGateway gRPC service: hands each new stream to an AgentSession.
#ifndef WRITEBACK_CONTROLLER_GATEWAY_GATEWAY_SERVICE_H_
#define WRITEBACK_CONTROLLER_GATEWAY_GATEWAY_SERVICE_H_

#include "controller/dispatch/dispatcher.h"
#include "controller/gateway/agent_session.h"
#include "controller/store/store.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::controller {

class GatewayService : public writeback::v1::AgentGateway::CallbackService {
 public:
  GatewayService(Dispatcher* dispatcher, Store* store, TrustStore* trust, const ControllerCa* ca)
      : dispatcher_(dispatcher), store_(store), trust_(trust), ca_(ca) {}

  grpc::ServerBidiReactor<writeback::v1::AgentMessage, writeback::v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override {
    return AgentSession::Create(context, dispatcher_, store_, trust_, ca_);
  }

 private:
  Dispatcher* const dispatcher_;
  Store* const store_;
  TrustStore* const trust_;
  const ControllerCa* const ca_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_GATEWAY_GATEWAY_SERVICE_H_
