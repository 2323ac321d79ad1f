// The agent's configuration rules, apart from main.cc so that they can be
// tested and fuzzed (tests/fuzz/config_fuzz.cc): the defaults a file is read
// over, the checks of the combination, and the local policy it describes.
// main.cc reads the file and the flags; these functions read nothing.
//
//   v1::AgentConfig c = DefaultAgentConfig();
//   WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));   // merges over the defaults
//   ... flag overrides ...
//   WB_RETURN_IF_ERROR(FinishAgentConfig(&c));
//   LocalPolicy policy = LocalPolicyFromConfig(c);
//   WB_RETURN_IF_ERROR(ValidateLocalPolicy(policy));
//
// Pure and thread-safe.
#ifndef WRITEBACK_AGENT_CONFIG_AGENT_CONFIG_H_
#define WRITEBACK_AGENT_CONFIG_AGENT_CONFIG_H_

#include "absl/status/status.h"
#include "agent/apply/local_policy.h"
#include "writeback/v1/config.pb.h"

namespace writeback::agent {

// The values the agent uses for fields a file leaves out.
writeback::v1::AgentConfig DefaultAgentConfig();

// Fills state_dir (/var/lib/writeback-agent) when empty, then checks the
// combination: tls.cert_file, tls.key_file and tls.ca_file all or none, at
// least one ldap.urls entry, and a complete bind (simple: bind_dn and
// password_file; GSSAPI: keytab_file and principal, no bind_dn or
// password_file; no other SASL mechanism). kInvalidArgument saying what to
// change. Idempotent: a finished configuration finishes unchanged.
absl::Status FinishAgentConfig(writeback::v1::AgentConfig* config);

// The local policy `config` describes: its allowlist, scope OUs, accepted
// domains, owned address types and write limits, with LocalPolicy's own
// defaults for the optional fields it leaves out. Not validated: pass it to
// ValidateLocalPolicy().
LocalPolicy LocalPolicyFromConfig(const writeback::v1::AgentConfig& config);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_CONFIG_AGENT_CONFIG_H_
