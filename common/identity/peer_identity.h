// Who is on the other end of a gRPC call: the writeback identity URI of the
// peer's client certificate (DESIGN §7), for every server that authenticates
// agents (the controller's agent stream, test stand-ins).
//
//   absl::StatusOr<AgentIdentity> agent = PeerAgentIdentity(*context);
//   if (!agent.ok()) return Finish(PERMISSION_DENIED, agent.status().message());
#ifndef WRITEBACK_COMMON_IDENTITY_PEER_IDENTITY_H_
#define WRITEBACK_COMMON_IDENTITY_PEER_IDENTITY_H_

#include "absl/status/statusor.h"
#include "common/identity/identity.h"
#include "grpcpp/grpcpp.h"

namespace writeback {

// The agent identity from the peer certificate's URI SAN. kPermissionDenied
// when the peer presented no certificate, or one whose writeback identity is
// not an agent's (an admin identity, for instance); the message names it.
absl::StatusOr<AgentIdentity> PeerAgentIdentity(const grpc::ServerContextBase& context);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_IDENTITY_PEER_IDENTITY_H_
