// The agent's side of enrollment and renewal (DESIGN §7; proto/writeback/v1/
// enrollment.proto). Read this header first in agent/enroll.
//
//   EnrollOptions o{.address = "controller:7445", .token = token, .agent_id = "dc1"};
//   WB_ASSIGN_OR_RETURN(AgentCredentials c, Enroll(o));
//   WB_RETURN_IF_ERROR(SaveCredentials(state_dir, c));
//
// Enroll: makes a new private key here (it never leaves the agent), fetches
// the controller's CA certificates without verifying the server, keeps the
// one whose SHA-256 is the token's pin (refusing the controller if none is),
// and sends token + CSR over a channel that trusts that certificate alone.
// The answer is checked before it is returned: the certificate is on our key,
// signed by a CA of the returned bundle, and names the identity asked for.
// Renew: the same CSR exchange over the agent's current mutual-TLS identity.
#ifndef WRITEBACK_AGENT_ENROLL_ENROLL_CLIENT_H_
#define WRITEBACK_AGENT_ENROLL_ENROLL_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/enroll/credentials.h"

namespace writeback::agent {

struct EnrollOptions {
  std::string address;  // the controller's enrollment listener, host:port
  std::string token;
  std::string forest;    // empty: the token's
  std::string agent_id;
  std::string version;   // ours, for the controller's log
  absl::Duration timeout = absl::Seconds(30);
};

absl::StatusOr<AgentCredentials> Enroll(const EnrollOptions& options);

// A new certificate (and key) for the identity of `current`, from the
// controller's agent listener at `address`.
absl::StatusOr<AgentCredentials> Renew(const std::string& address,
                                       const AgentCredentials& current, absl::Duration timeout);

// Tells the controller, over `current` (the renewed identity), to move the
// agent's other streams over once their work is answered. Returns how many.
absl::StatusOr<int> Handover(const std::string& address, const AgentCredentials& current,
                             absl::Duration timeout);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_ENROLL_ENROLL_CLIENT_H_
