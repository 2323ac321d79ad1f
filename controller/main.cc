// writeback-controller: holds the desired Exchange attributes of cloud-managed
// mailboxes, streams jobs to agents, serves the Admin API.
// Only this file reads flags and files; everything else gets options.
#include <algorithm>
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/base/address.h"
#include "common/base/files.h"
#include "common/base/grpc_log.h"
#include "common/base/log.h"
#include "common/base/program.h"
#include "common/base/status_macros.h"
#include "common/base/text_config.h"
#include "common/metrics/metrics_server.h"
#include "common/protocol.h"
#include "controller/admin/admin_server.h"
#include "controller/admin/admin_service.h"
#include "controller/admin/public_services.h"
#include "controller/config/controller_config.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/enroll/enrollment_service.h"
#include "controller/gateway/gateway_service.h"
#include "controller/metrics/controller_metrics.h"
#include "controller/pki/controller_ca.h"
#include "controller/pki/tls_credentials.h"
#include "controller/retention/retention.h"
#include "controller/store/sqlite_store.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/config.pb.h"

ABSL_FLAG(std::string, config, "", "Text-format writeback.v1.ControllerConfig file.");
ABSL_FLAG(std::string, agent_listen, "", "Overrides agent_listen (host:port, mutual TLS).");
ABSL_FLAG(std::string, admin_listen, "",
          "Overrides admin_listen (host:port; not loopback only with admin_auth.tls).");
ABSL_FLAG(std::string, store, "", "Overrides store_path (SQLite file).");
ABSL_FLAG(std::string, tls_cert, "", "Overrides tls.cert_file (server certificate, PEM).");
ABSL_FLAG(std::string, tls_key, "", "Overrides tls.key_file (server key, PEM, mode 0600).");
ABSL_FLAG(std::string, tls_ca, "", "Overrides tls.ca_file (an operator CA whose agent certificates are accepted too).");
ABSL_FLAG(std::string, enroll_listen, "", "Overrides enroll_listen (host:port, server TLS).");
ABSL_FLAG(std::string, ca_dir, "", "Overrides ca_dir (the controller CA's directory).");
ABSL_FLAG(std::string, ports_file, "", "Overrides ports_file.");
ABSL_FLAG(std::string, log_level, "", "Overrides log_level (debug, info, warning, error).");
ABSL_FLAG(std::string, log_format, "", "Overrides log_format (text, json).");
ABSL_FLAG(int, lease_ms, 0, "Overrides lease_ms.");
ABSL_FLAG(int, heartbeat_ms, 0, "Overrides heartbeat_interval_ms.");
ABSL_FLAG(std::string, metrics_listen, "",
          "Overrides metrics_listen (host:port of GET /metrics; loopback unless "
          "metrics_listen_allow_non_loopback).");

namespace writeback::controller {
namespace {

using writeback::v1::ControllerConfig;

void Override(const std::string& flag, std::string* field) {
  if (!flag.empty()) *field = flag;
}

absl::StatusOr<ControllerConfig> LoadConfig() {
  ControllerConfig c = DefaultControllerConfig();
  const std::string path = absl::GetFlag(FLAGS_config);
  if (!path.empty()) WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));
  // A configuration error names the file (the flags may have overridden it).
  auto in_config = [&path](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "flags" : path, ": ", std::string(message)));
  };
  Override(absl::GetFlag(FLAGS_agent_listen), c.mutable_agent_listen());
  Override(absl::GetFlag(FLAGS_admin_listen), c.mutable_admin_listen());
  Override(absl::GetFlag(FLAGS_store), c.mutable_store_path());
  Override(absl::GetFlag(FLAGS_tls_cert), c.mutable_tls()->mutable_cert_file());
  Override(absl::GetFlag(FLAGS_tls_key), c.mutable_tls()->mutable_key_file());
  Override(absl::GetFlag(FLAGS_tls_ca), c.mutable_tls()->mutable_ca_file());
  Override(absl::GetFlag(FLAGS_ports_file), c.mutable_ports_file());
  Override(absl::GetFlag(FLAGS_enroll_listen), c.mutable_enroll_listen());
  Override(absl::GetFlag(FLAGS_metrics_listen), c.mutable_metrics_listen());
  Override(absl::GetFlag(FLAGS_ca_dir), c.mutable_ca_dir());
  Override(absl::GetFlag(FLAGS_log_level), c.mutable_log_level());
  Override(absl::GetFlag(FLAGS_log_format), c.mutable_log_format());
  if (int v = absl::GetFlag(FLAGS_lease_ms); v > 0) c.set_lease_ms(v);
  if (int v = absl::GetFlag(FLAGS_heartbeat_ms); v > 0) c.set_heartbeat_interval_ms(v);
  if (absl::Status s = FinishControllerConfig(&c); !s.ok()) return in_config(s.message());
  // Listen addresses are checked before anything is created (CA, store).
  for (const auto& [field, value] :
       {std::pair<const char*, std::string>{"agent_listen", c.agent_listen()},
        {"admin_listen", c.admin_listen()},
        {"enroll_listen", c.enroll_listen()}}) {
    if (absl::Status s = CheckListenAddress(field, value); !s.ok()) return in_config(s.message());
  }
  if (absl::Status s = metrics::MetricsServer::CheckDaemonOptions(
          {c.metrics_listen(), c.metrics_listen_allow_non_loopback()}, c.log_level(),
          c.log_format());
      !s.ok()) {
    return in_config(s.message());
  }
  return c;
}

absl::Status Run() {
  WB_ASSIGN_OR_RETURN(ControllerConfig config, LoadConfig());
  LogLevel level;
  WB_RETURN_IF_ERROR(ParseLogLevel(config.log_level(), &level));
  SetLogLevel(level);
  LogFormat log_format;
  WB_RETURN_IF_ERROR(ParseLogFormat(config.log_format(), &log_format));
  SetLogFormat(log_format);
  RouteGrpcLogs();
  // Trust (DESIGN §7): the controller CA, and optionally an operator's PKI.
  const bool operator_identity = !config.tls().cert_file().empty();
  std::string operator_ca;
  if (!config.tls().ca_file().empty()) {
    WB_ASSIGN_OR_RETURN(operator_ca, ReadFileToString(config.tls().ca_file()));
  }
  if (operator_identity) {  // checked now: the file watcher reads them later
    WB_RETURN_IF_ERROR(ReadFileToString(config.tls().cert_file()).status());
    WB_RETURN_IF_ERROR(ReadPrivateFile(config.tls().key_file()).status());
  }
  ControllerCa::Options ca_options;
  ca_options.dir = config.ca_dir();
  ca_options.server_names = {config.server_names().begin(), config.server_names().end()};
  ca_options.extra_client_ca_pem = operator_ca;
  WB_ASSIGN_OR_RETURN(std::unique_ptr<ControllerCa> ca, ControllerCa::Open(ca_options, absl::Now()));
  WB_LOG(INFO) << "controller CA " << config.ca_dir() << ": SHA-256 fingerprint " << ca->Pin();
  // Admin API authentication (admin_server.h); a first start creates the
  // tokens file and the local operator's token. Over TLS it serves the same
  // identity as the agent listener (read once: a CA rotation reaches it at
  // the next start).
  WB_ASSIGN_OR_RETURN(
      std::string server_cert,
      ReadFileToString(operator_identity ? config.tls().cert_file() : ca->server_cert_path()));
  WB_ASSIGN_OR_RETURN(
      std::string server_key,
      ReadPrivateFile(operator_identity ? config.tls().key_file() : ca->server_key_path()));
  WB_ASSIGN_OR_RETURN(AdminServerOptions admin_options,
                      AdminServerOptionsFromConfig(config, server_cert, server_key, Clock::Real()));

  WB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(config.store_path()));
  Dispatcher::Options options;
  options.heartbeat_interval = absl::Milliseconds(config.heartbeat_interval_ms());
  options.lease = absl::Milliseconds(config.lease_ms());
  options.ldap_timeout = absl::Milliseconds(config.ldap_timeout_ms());
  options.retry.base = absl::Milliseconds(config.retry_base_ms());
  options.retry.max = absl::Milliseconds(config.retry_max_ms());
  options.retry.max_attempts = std::max<uint32_t>(1, config.retry_max_attempts());
  options.answer_timeout = absl::Milliseconds(config.answer_timeout_ms());
  options.pause.failure_ratio = config.pause_failure_percent() / 100.0;
  options.pause.min_attempts = static_cast<int>(config.pause_min_attempts());
  options.pause.window = absl::Seconds(config.pause_window_s());
  options.reconcile.interval = absl::Seconds(config.reconcile_interval_s());
  options.reconcile.page_size = config.scan_page_size();
  options.reconcile.page_timeout = options.answer_timeout;
  options.retry.conflict.corrections = config.conflict_corrections();
  options.retry.conflict.window = absl::Seconds(config.conflict_window_s());
  options.guard.threshold = config.mass_change_threshold();
  options.guard.window = absl::Seconds(config.mass_change_window_s());
  // Work that was out when the controller stopped is redelivered only once
  // any agent still holding it must have stopped writing (DESIGN §4).
  absl::Time fence = absl::Now() + options.lease + options.ldap_timeout;
  WB_ASSIGN_OR_RETURN(int reset, store->ResetInFlight(absl::ToUnixMillis(fence)));
  if (reset > 0) WB_LOG(INFO) << reset << " mailboxes were in flight at the last stop; redelivering";
  // Metrics (README "Metrics"): the endpoint starts before any work, so
  // that a taken or refused address stops the controller at once.
  metrics::Registry registry;
  ControllerMetrics controller_metrics(&registry, store.get());
  store->SetCommitObserver([&](absl::Duration d) { controller_metrics.StoreCommitted(d); });
  options.observer = &controller_metrics;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!config.metrics_listen().empty()) {
    WB_ASSIGN_OR_RETURN(metrics_server,
                        metrics::MetricsServer::Start({config.metrics_listen(),
                                                       config.metrics_listen_allow_non_loopback()},
                                                      &registry, "metrics_listen"));
  }
  Dispatcher dispatcher(store.get(), Clock::Real(), options);

  GatewayService gateway(&dispatcher, store.get(), store.get(), ca.get());
  EnrollmentOptions enroll_options;
  enroll_options.cert_lifetime = absl::Seconds(config.agent_cert_lifetime_s());
  if (operator_identity) enroll_options.extra_trust_pem = operator_ca;
  RenewalService renewal(ca.get(), store.get(), store.get(), &dispatcher, enroll_options);
  int agent_port = 0;
  grpc::ServerBuilder agent_builder;
  agent_builder.AddListeningPort(
      config.agent_listen(),
      MutualTlsServerCredentials(
          operator_identity ? config.tls().key_file() : ca->server_key_path(),
          operator_identity ? config.tls().cert_file() : ca->server_cert_path(),
          ca->agent_roots_path()),
      &agent_port);
  agent_builder.RegisterService(&gateway);
  agent_builder.RegisterService(&renewal);
  agent_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  agent_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  agent_builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  agent_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> agent_server = agent_builder.BuildAndStart();
  if (agent_server == nullptr || agent_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on agent_listen ",
                                               config.agent_listen()));
  }

  EnrollmentService enrollment(ca.get(), store.get(), store.get(), enroll_options);
  int enroll_port = 0;
  grpc::ServerBuilder enroll_builder;
  enroll_builder.AddListeningPort(
      config.enroll_listen(),
      ServerTlsCredentials(ca->server_key_path(), ca->server_cert_path()), &enroll_port);
  enroll_builder.RegisterService(&enrollment);
  std::unique_ptr<grpc::Server> enroll_server = enroll_builder.BuildAndStart();
  if (enroll_server == nullptr || enroll_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on enroll_listen ",
                                               config.enroll_listen()));
  }

  // Built last: it turns on health and reflection process-wide (public_services.h).
  AdminService admin(store.get(), &dispatcher, AdminTrust{ca.get(), store.get()});
  int admin_port = 0;
  WB_ASSIGN_OR_RETURN(std::unique_ptr<grpc::Server> admin_server,
                      StartAdminServer(admin_options, &admin, &admin_port));
  dispatcher.Start();
  RetentionPruner::Options retention;
  retention.provisioning_log = absl::Hours(24) * config.provisioning_log_retention_days();
  retention.audit_log = absl::Hours(24) * config.audit_log_retention_days();
  RetentionPruner pruner(store.get(), Clock::Real(), retention);
  pruner.Start();
  MarkServing(admin_server.get());  // health: every listener is up
  if (!config.ports_file().empty()) {
    WB_RETURN_IF_ERROR(WriteFileAtomically(
        config.ports_file(),
        absl::StrCat("agent=", agent_port, "\nadmin=", admin_port, "\nenroll=", enroll_port, "\n",
                     metrics_server ? absl::StrCat("metrics=", metrics_server->port(), "\n")
                                    : std::string())));
  }
  WB_LOG(INFO) << "writeback-controller " << BuildVersion() << " listening: agents on port "
               << agent_port << " (mutual TLS), enrollment on port " << enroll_port
               << " (server TLS), Admin API on port " << admin_port
               << (admin_options.tls ? " (TLS)" : " (loopback)")
               << (metrics_server ? absl::StrCat(", metrics on port ", metrics_server->port())
                                  : std::string(", metrics off"))
               << ", store " << config.store_path();

  int sig = WaitForTerminationSignal();
  WB_LOG(INFO) << "stopping on signal " << sig;
  MarkStopping(admin_server.get());  // health: NOT_SERVING before the listeners close
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  admin_server->Shutdown(deadline);
  agent_server->Shutdown(deadline);
  enroll_server->Shutdown(deadline);
  pruner.Stop();
  dispatcher.Stop();
  store->SetCommitObserver(nullptr);  // controller_metrics goes before the store
  return absl::OkStatus();
}

}  // namespace
}  // namespace writeback::controller

constexpr char kUsage[] =
    "Holds the desired Exchange attributes of cloud-managed mailboxes and streams "
    "attribute-change jobs to writeback agents.\n\n"
    "Usage: writeback-controller --config=controller.conf [flags overriding the file]";

int main(int argc, char** argv) {
  writeback::InitProgram(argc, argv, "writeback-controller", kUsage, /*daemon=*/true);
  absl::Status s = writeback::controller::Run();
  if (!s.ok()) {
    std::cerr << "writeback-controller: " << s.message() << std::endl;
    return 1;
  }
  return 0;
}
