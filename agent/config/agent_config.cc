#include "agent/config/agent_config.h"

#include "absl/strings/match.h"

namespace writeback::agent {

using writeback::v1::AgentConfig;

AgentConfig DefaultAgentConfig() {
  AgentConfig c;
  c.set_controller("127.0.0.1:7443");
  c.set_max_in_flight(64);
  c.set_pipeline_window(32);
  c.set_reconnect_initial_ms(500);
  c.set_reconnect_max_ms(30000);
  c.mutable_ldap()->set_timeout_ms(3000);
  c.set_metrics_listen("127.0.0.1:9475");
  return c;
}

absl::Status FinishAgentConfig(AgentConfig* config) {
  AgentConfig& c = *config;
  if (c.state_dir().empty()) c.set_state_dir("/var/lib/writeback-agent");
  const bool any_tls =
      !c.tls().cert_file().empty() || !c.tls().key_file().empty() || !c.tls().ca_file().empty();
  if (any_tls &&
      (c.tls().cert_file().empty() || c.tls().key_file().empty() || c.tls().ca_file().empty())) {
    return absl::InvalidArgumentError(
        "tls.cert_file, tls.key_file and tls.ca_file go together (an operator-issued identity); "
        "leave all three out to use the enrolled identity in state_dir");
  }
  if (c.ldap().urls().empty()) {
    return absl::InvalidArgumentError(
        "ldap.urls: give at least one DC, e.g. ldaps://dc1.corp.example.com");
  }
  if (absl::EqualsIgnoreCase(c.ldap().sasl_mechanism(), "GSSAPI")) {
    if (c.ldap().keytab_file().empty() || c.ldap().principal().empty()) {
      return absl::InvalidArgumentError(
          "ldap.keytab_file and ldap.principal are required for the GSSAPI bind");
    }
    if (!c.ldap().bind_dn().empty() || !c.ldap().password_file().empty()) {
      return absl::InvalidArgumentError(
          "ldap.bind_dn and ldap.password_file are for the simple bind: remove them with "
          "sasl_mechanism GSSAPI (the keytab authenticates)");
    }
  } else if (!c.ldap().sasl_mechanism().empty()) {
    return absl::InvalidArgumentError(
        "ldap.sasl_mechanism: only \"GSSAPI\" is supported (empty: simple bind)");
  } else if (c.ldap().bind_dn().empty() || c.ldap().password_file().empty()) {
    return absl::InvalidArgumentError(
        "ldap.bind_dn and ldap.password_file are required for the simple bind "
        "(or set sasl_mechanism: \"GSSAPI\" with keytab_file and principal)");
  }
  return absl::OkStatus();
}

LocalPolicy LocalPolicyFromConfig(const AgentConfig& config) {
  LocalPolicy policy;
  policy.allowed_attributes = {config.allowed_attributes().begin(),
                               config.allowed_attributes().end()};
  policy.scope_ous = {config.scope_ous().begin(), config.scope_ous().end()};
  policy.accepted_domains = {config.accepted_domains().begin(), config.accepted_domains().end()};
  if (config.has_max_values_per_attribute()) {
    policy.max_values_per_attribute = config.max_values_per_attribute();
  }
  if (config.has_mail_must_match_primary()) {
    policy.mail_must_match_primary = config.mail_must_match_primary();
  }
  policy.owned_address_types = {config.owned_address_types().begin(),
                                config.owned_address_types().end()};
  if (config.has_check_address_uniqueness()) {
    policy.check_address_uniqueness = config.check_address_uniqueness();
  }
  policy.max_writes_per_second = config.max_writes_per_second();
  policy.max_writes_per_window = config.max_writes_per_window();
  if (config.write_window_s() > 0) policy.write_window = absl::Seconds(config.write_window_s());
  policy.dry_run = config.dry_run();
  policy.full_consistency_guid_scan = config.full_consistency_guid_scan();
  return policy;
}

}  // namespace writeback::agent
