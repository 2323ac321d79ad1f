#include "controller/config/controller_config.h"

#include <cstdint>
#include <string>

namespace writeback::controller {

using writeback::v1::ControllerConfig;

ControllerConfig DefaultControllerConfig() {
  ControllerConfig c;
  c.set_agent_listen("127.0.0.1:7443");
  c.set_admin_listen("127.0.0.1:7444");
  c.set_store_path("writeback.db");
  c.set_heartbeat_interval_ms(1000);
  c.set_lease_ms(3000);
  c.set_ldap_timeout_ms(3000);
  c.set_retry_base_ms(1000);
  c.set_retry_max_ms(300000);
  c.set_retry_max_attempts(10);
  c.set_answer_timeout_ms(120000);
  c.set_pause_failure_percent(40);
  c.set_pause_min_attempts(20);
  c.set_pause_window_s(300);
  c.set_provisioning_log_retention_days(30);
  c.set_audit_log_retention_days(365);
  c.set_reconcile_interval_s(900);
  c.set_conflict_corrections(3);
  c.set_conflict_window_s(3600);
  c.set_scan_page_size(500);
  c.set_mass_change_threshold(500);
  c.set_mass_change_window_s(3600);
  c.set_enroll_listen("127.0.0.1:7445");
  c.set_agent_cert_lifetime_s(7 * 24 * 3600);
  c.set_metrics_listen("127.0.0.1:9474");
  return c;
}

absl::Status FinishControllerConfig(ControllerConfig* c) {
  if (c->ca_dir().empty()) {
    size_t slash = c->store_path().rfind('/');
    c->set_ca_dir(slash == std::string::npos ? "ca" : c->store_path().substr(0, slash) + "/ca");
  }
  if (c->server_names().empty()) {
    for (const char* name : {"localhost", "127.0.0.1", "::1"}) c->add_server_names(name);
  }
  if (c->agent_cert_lifetime_s() < 10) {
    return absl::InvalidArgumentError("agent_cert_lifetime_s must be at least 10 seconds");
  }
  if (c->tls().cert_file().empty() != c->tls().key_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.cert_file and tls.key_file go together (an operator-issued server identity); "
        "leave both out to serve one the controller CA issues");
  }
  if (c->conflict_corrections() > 0 && c->conflict_window_s() == 0) {
    return absl::InvalidArgumentError(
        "conflict_window_s must be positive when conflict_corrections is set (0 corrections "
        "disables the dual-writer hold)");
  }
  // In 64 bits: uint32 arithmetic wraps for an interval of 2^31 ms or more
  // (2147483649 * 2 is 2), which once let such an interval through.
  if (uint64_t{c->heartbeat_interval_ms()} * 2 > c->lease_ms()) {
    return absl::InvalidArgumentError("lease_ms must be at least twice heartbeat_interval_ms");
  }
  return absl::OkStatus();
}

}  // namespace writeback::controller
