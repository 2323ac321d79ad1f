// Names of the parties that talk to the controller, as carried in the URI
// subject alternative name of their certificates:
//   agent:  writeback://forest/<forest DNS name>/agent/<agent id>
//   admin:  writeback://admin/<name>
//
//   absl::StatusOr<AgentIdentity> id = ParseAgentIdentity(peer_uri);
//   if (!id.ok()) return absl::PermissionDeniedError(id.status().message());
//   // id->forest == "corp.contoso.com", id->agent_id == "dc1-agent"
//
// Rules: the scheme "writeback" is matched ignoring case; the forest is a DNS
// name (labels of ASCII letters, digits and '-', not starting or ending with
// '-', at most 63 characters each and 253 in all; no trailing dot) and is
// returned in lower case; an agent id or admin name is 1-64 characters of
// [A-Za-z0-9._-] and keeps its case. Nothing else may follow.
//
// Errors are kInvalidArgument, with a message that quotes the input and says
// what form was expected, so a caller authenticating a peer can pass it on in
// a kPermissionDenied unchanged. Thread-safe, no state.
#ifndef WRITEBACK_COMMON_IDENTITY_IDENTITY_H_
#define WRITEBACK_COMMON_IDENTITY_IDENTITY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace writeback {

struct AgentIdentity {
  std::string forest;    // lower-case DNS name, e.g. "corp.contoso.com"
  std::string agent_id;  // e.g. "dc1-agent"
};

// Parses "writeback://forest/<forest>/agent/<id>".
absl::StatusOr<AgentIdentity> ParseAgentIdentity(std::string_view uri);

// The URI ParseAgentIdentity accepts for `identity` (no validation).
std::string AgentIdentityUri(const AgentIdentity& identity);

// Parses "writeback://admin/<name>" and returns <name>.
absl::StatusOr<std::string> ParseAdminIdentity(std::string_view uri);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_IDENTITY_IDENTITY_H_
