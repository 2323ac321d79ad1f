// writeback-agent: dials out to the controller, applies attribute-change jobs
// to Active Directory over LDAP, acknowledges each.
// Only this file reads flags and files; everything else gets options.
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/local_policy.h"
#include "agent/config/agent_config.h"
#include "agent/core/agent.h"
#include "agent/directory/directory_set.h"
#include "agent/directory/ldap_directory.h"
#include "agent/directory/secret_file.h"
#include "agent/enroll/enroll_command.h"
#include "agent/enroll/renewer.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/reconcile/scanner.h"
#include "agent/uplink/uplink.h"
#include "common/base/files.h"
#include "common/base/grpc_log.h"
#include "common/base/log.h"
#include "common/base/program.h"
#include "common/base/status_macros.h"
#include "common/base/text_config.h"
#include "common/metrics/metrics_server.h"
#include "common/protocol.h"
#include "writeback/v1/config.pb.h"

ABSL_FLAG(std::string, config, "", "Text-format writeback.v1.AgentConfig file.");
ABSL_FLAG(std::string, controller, "", "Overrides controller (host:port).");
ABSL_FLAG(std::string, tls_cert, "", "Overrides tls.cert_file (agent certificate, PEM).");
ABSL_FLAG(std::string, tls_key, "", "Overrides tls.key_file (agent key, PEM, mode 0600).");
ABSL_FLAG(std::string, tls_ca, "", "Overrides tls.ca_file (CA that verifies the controller).");
ABSL_FLAG(std::string, ldap_urls, "", "Overrides ldap.urls (comma-separated, in failover order).");
ABSL_FLAG(std::string, ldap_ca, "", "Overrides ldap.ca_file (CA that verifies the DCs).");
ABSL_FLAG(std::string, bind_dn, "", "Overrides ldap.bind_dn.");
ABSL_FLAG(std::string, password_file, "", "Overrides ldap.password_file (mode 0600).");
ABSL_FLAG(std::string, scope_ous, "", "Overrides scope_ous (separated by ';').");
ABSL_FLAG(int, max_in_flight, 0, "Overrides max_in_flight.");
ABSL_FLAG(std::string, log_level, "", "Overrides log_level.");
ABSL_FLAG(std::string, log_format, "", "Overrides log_format (text, json).");
ABSL_FLAG(std::string, state_dir, "", "Overrides state_dir (enrolled key and certificates).");
ABSL_FLAG(std::string, metrics_listen, "",
          "Overrides metrics_listen (host:port of GET /metrics; loopback unless "
          "metrics_listen_allow_non_loopback).");
ABSL_FLAG(std::string, token_file, "",
          "enroll: file holding the join token (preferred: never in the process list).");
ABSL_FLAG(std::string, token, "",
          "enroll: the join token itself (wiped from the process's command line at once; "
          "--token_file keeps it out of shell history too).");
ABSL_FLAG(std::string, agent_id, "", "enroll: overrides agent_id (default: the host name).");
ABSL_FLAG(std::string, forest, "", "enroll: overrides forest (default: the token's).");
ABSL_FLAG(bool, print_allowlist, false,
          "Prints the attributes this agent may write (allowed_attributes of --config, else the "
          "default set), one lDAPDisplayName a line, and exits: the list the AD delegation "
          "recipe deploy/ad/delegate-samba.sh grants write access to.");

namespace writeback::agent {
namespace {

using writeback::v1::AgentConfig;

void Override(const std::string& flag, std::string* field) {
  if (!flag.empty()) *field = flag;
}

// AgentMetrics sits in front of the Agent, which is made after the LDAP
// connection that already reports to the metrics.
struct MetricsListener : Uplink::Listener {
  Agent* agent = nullptr;
  void OnStreamStarted(std::shared_ptr<Outbound> stream) override {
    agent->OnStreamStarted(std::move(stream));
  }
  void OnMessage(const writeback::v1::ControllerMessage& m) override { agent->OnMessage(m); }
  void OnStreamEnded(const grpc::Status& status) override { agent->OnStreamEnded(status); }
};

absl::StatusOr<AgentConfig> LoadConfig() {
  AgentConfig c = DefaultAgentConfig();
  const std::string path = absl::GetFlag(FLAGS_config);
  if (!path.empty()) WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));
  // A configuration error names the file (the flags may have overridden it).
  auto in_config = [&path](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "flags" : path, ": ", std::string(message)));
  };
  Override(absl::GetFlag(FLAGS_controller), c.mutable_controller());
  Override(absl::GetFlag(FLAGS_tls_cert), c.mutable_tls()->mutable_cert_file());
  Override(absl::GetFlag(FLAGS_tls_key), c.mutable_tls()->mutable_key_file());
  Override(absl::GetFlag(FLAGS_tls_ca), c.mutable_tls()->mutable_ca_file());
  if (std::string urls = absl::GetFlag(FLAGS_ldap_urls); !urls.empty()) {
    c.mutable_ldap()->clear_urls();
    for (auto url : absl::StrSplit(urls, ',', absl::SkipEmpty())) {
      c.mutable_ldap()->add_urls(std::string(url));
    }
  }
  Override(absl::GetFlag(FLAGS_ldap_ca), c.mutable_ldap()->mutable_ca_file());
  Override(absl::GetFlag(FLAGS_bind_dn), c.mutable_ldap()->mutable_bind_dn());
  Override(absl::GetFlag(FLAGS_password_file), c.mutable_ldap()->mutable_password_file());
  if (std::string ous = absl::GetFlag(FLAGS_scope_ous); !ous.empty()) {
    c.clear_scope_ous();
    for (auto ou : absl::StrSplit(ous, ';', absl::SkipEmpty())) c.add_scope_ous(std::string(ou));
  }
  if (int v = absl::GetFlag(FLAGS_max_in_flight); v > 0) c.set_max_in_flight(v);
  Override(absl::GetFlag(FLAGS_log_level), c.mutable_log_level());
  Override(absl::GetFlag(FLAGS_log_format), c.mutable_log_format());
  Override(absl::GetFlag(FLAGS_state_dir), c.mutable_state_dir());
  Override(absl::GetFlag(FLAGS_metrics_listen), c.mutable_metrics_listen());
  if (absl::Status s = FinishAgentConfig(&c); !s.ok()) return in_config(s.message());
  if (absl::Status s = metrics::MetricsServer::CheckDaemonOptions(
          {c.metrics_listen(), c.metrics_listen_allow_non_loopback()}, c.log_level(),
          c.log_format());
      !s.ok()) {
    return in_config(s.message());
  }
  return c;
}

// --print_allowlist: reads only allowed_attributes of --config (the rest of
// the file need not be complete yet) and prints the canonical names.
absl::Status PrintAllowlist() {
  AgentConfig c;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));
  }
  LocalPolicy policy;
  policy.allowed_attributes = {c.allowed_attributes().begin(), c.allowed_attributes().end()};
  WB_RETURN_IF_ERROR(ValidateLocalPolicy(policy));
  const PolicyChecker checker(policy);
  for (const AttributeSpec* spec : checker.allowed()) {
    std::cout << spec->name << "\n";
  }
  std::cout.flush();
  return std::cout ? absl::OkStatus() : absl::UnavailableError("writing to stdout failed");
}

absl::Status Run() {
  if (absl::GetFlag(FLAGS_print_allowlist)) return PrintAllowlist();
  WB_ASSIGN_OR_RETURN(AgentConfig config, LoadConfig());
  LogLevel level;
  WB_RETURN_IF_ERROR(ParseLogLevel(config.log_level(), &level));
  SetLogLevel(level);
  LogFormat log_format;
  WB_RETURN_IF_ERROR(ParseLogFormat(config.log_format(), &log_format));
  SetLogFormat(log_format);
  RouteGrpcLogs();

  LdapOptions ldap;
  ldap.urls = {config.ldap().urls().begin(), config.ldap().urls().end()};
  ldap.start_tls = config.ldap().start_tls();
  ldap.ca_file = config.ldap().ca_file();
  ldap.bind_dn = config.ldap().bind_dn();
  if (!config.ldap().password_file().empty()) {
    WB_ASSIGN_OR_RETURN(ldap.password, ReadSecretFile(config.ldap().password_file()));
  }
  ldap.sasl_mechanism = config.ldap().sasl_mechanism();
  ldap.keytab_file = config.ldap().keytab_file();
  ldap.principal = config.ldap().principal();
  ldap.krb5_config = config.ldap().krb5_config();
  ldap.insecure_plain = config.ldap().insecure_plain();
  ldap.timeout = absl::Milliseconds(config.ldap().timeout_ms());
  ldap.base_dn = config.ldap().base_dn();
  LocalPolicy policy = LocalPolicyFromConfig(config);
  // Checked before any connection: a bad policy is a configuration error.
  if (absl::Status s = ValidateLocalPolicy(policy); !s.ok()) {
    const std::string path = absl::GetFlag(FLAGS_config);
    return absl::Status(s.code(), absl::StrCat(path.empty() ? "flags" : path, ": ", s.message()));
  }
  // Metrics (README "Metrics"): the agent's only listening socket, loopback
  // by default (DESIGN §7); every LDAP connection reports to it.
  metrics::Registry registry;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!config.metrics_listen().empty()) {
    WB_ASSIGN_OR_RETURN(metrics_server,
                        metrics::MetricsServer::Start({config.metrics_listen(),
                                                       config.metrics_listen_allow_non_loopback()},
                                                      &registry, "metrics_listen"));
    if (!config.ports_file().empty()) {
      WB_RETURN_IF_ERROR(WriteFileAtomically(
          config.ports_file(), absl::StrCat("metrics=", metrics_server->port(), "\n")));
    }
  }
  // Registered before any connection is made; forwards stream events to the
  // agent once it exists (set below).
  MetricsListener listener;
  AgentMetrics agent_metrics(&registry, &listener);
  ldap.observer = &agent_metrics;
  // One domain: the DCs of ldap.urls. Several: a Global Catalog for
  // matching and the DCs of each domain for reads and writes.
  DirectoryConfig directory_config;
  directory_config.ldap = ldap;
  directory_config.global_catalog_urls = {config.global_catalog_urls().begin(),
                                          config.global_catalog_urls().end()};
  for (const auto& d : config.domains()) {
    directory_config.domains.push_back({d.dn(), {d.urls().begin(), d.urls().end()}});
  }
  WB_ASSIGN_OR_RETURN(std::unique_ptr<DirectorySet> directories,
                      OpenDirectory(directory_config));
  Directory* directory = directories->directory();

  if (policy.dry_run) {
    WB_LOG(WARNING) << "dry_run is set: no job writes to the directory"
                    << LogHint("remove dry_run from the agent configuration to write");
  }
  JobApplier applier(directory, policy);
  // Reconciliation scans read on connections of their own (DESIGN §6).
  Scanner::Options scan_options;
  scan_options.policy = policy;
  scan_options.open_directory = [directory_config] { return OpenDirectory(directory_config); };
  Scanner scanner(std::move(scan_options));

  Agent::Options agent_options;
  agent_options.pipeline.window = config.pipeline_window();
  agent_options.on_drained = [] { RequestTermination(); };
  agent_options.scanner = &scanner;
  Agent agent(&applier, directory, Clock::Real(), agent_options);
  listener.agent = &agent;
  Uplink::Options uplink;
  uplink.controller = config.controller();
  // The identity: operator-issued files (tls), or the enrolled one in
  // state_dir, which is renewed at half-life.
  std::optional<AgentCredentials> enrolled;
  if (!config.tls().cert_file().empty()) {
    WB_ASSIGN_OR_RETURN(uplink.ca_pem, ReadFileToString(config.tls().ca_file()));
    WB_ASSIGN_OR_RETURN(uplink.cert_pem, ReadFileToString(config.tls().cert_file()));
    WB_ASSIGN_OR_RETURN(uplink.key_pem, ReadPrivateFile(config.tls().key_file()));
  } else {
    WB_ASSIGN_OR_RETURN(enrolled, LoadCredentials(config.state_dir()));
    uplink.ca_pem = enrolled->ca_pem;
    uplink.cert_pem = enrolled->cert_pem;
    uplink.key_pem = enrolled->key_pem;
  }
  uplink.hello.set_protocol_version(kProtocolVersion);
  uplink.hello.set_agent_version(BuildVersion());
  uplink.hello.set_max_in_flight(config.max_in_flight());
  uplink.hello.set_ldap_timeout_ms(config.ldap().timeout_ms());
  uplink.hello.add_capabilities("dry_run");
  uplink.initial_backoff = absl::Milliseconds(config.reconnect_initial_ms());
  uplink.max_backoff = absl::Milliseconds(config.reconnect_max_ms());
  Uplink link(uplink, &agent_metrics);
  std::unique_ptr<Renewer> renewer;
  if (enrolled) {
    Renewer::Options renew;
    renew.address = config.controller();
    renew.state_dir = config.state_dir();
    renew.on_renewed = [&link](const AgentCredentials& c) {
      link.UpdateCredentials(c.cert_pem, c.key_pem, c.ca_pem);
    };
    WB_LOG(INFO) << "enrolled identity from " << config.state_dir() << ": certificate "
                 << enrolled->info.serial << " until "
                 << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", enrolled->info.not_after,
                                     absl::UTCTimeZone())
                 << ", renewed at half-life";
    renewer = std::make_unique<Renewer>(std::move(renew), *enrolled);
  }

  agent.Start();
  link.Start();
  if (renewer) renewer->Start();
  WB_LOG(INFO) << "writeback-agent " << BuildVersion() << " started: controller "
               << config.controller() << ", directory " << directory->CurrentDc()
               << (metrics_server ? absl::StrCat(", metrics on port ", metrics_server->port())
                                  : std::string(", metrics off"));

  int sig = WaitForTerminationSignal();
  WB_LOG(INFO) << "stopping on signal " << sig << " (also sent by the agent itself after a drain)";
  if (renewer) renewer->Stop();
  link.Stop();
  agent.Stop();
  return absl::OkStatus();
}

// `writeback-agent enroll`: only --config's state_dir, agent_id and forest
// are read (the rest of the file need not be complete yet).
absl::Status EnrollCommand() {
  AgentConfig c;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));
  }
  EnrollCommandOptions o;
  o.address = absl::GetFlag(FLAGS_controller);
  o.token_file = absl::GetFlag(FLAGS_token_file);
  o.token = absl::GetFlag(FLAGS_token);
  o.state_dir = absl::GetFlag(FLAGS_state_dir).empty() ? c.state_dir()
                                                       : absl::GetFlag(FLAGS_state_dir);
  if (o.state_dir.empty()) o.state_dir = "/var/lib/writeback-agent";
  o.agent_id = absl::GetFlag(FLAGS_agent_id).empty() ? c.agent_id() : absl::GetFlag(FLAGS_agent_id);
  o.forest = absl::GetFlag(FLAGS_forest).empty() ? c.forest() : absl::GetFlag(FLAGS_forest);
  o.version = BuildVersion();
  return RunEnrollCommand(o, std::cout);
}

}  // namespace
}  // namespace writeback::agent

constexpr char kUsage[] =
    "Applies Exchange attribute changes from the writeback controller to Active Directory.\n\n"
    "Usage:\n"
    "  writeback-agent enroll --controller=HOST:PORT --token_file=FILE [--agent_id=ID]\n"
    "      [--forest=F] [--state_dir=DIR] [--config=agent.conf]\n"
    "    joins the controller's enrollment listener (port 7445 by default) with a join token\n"
    "    from `writebackctl token create`; writes the key and certificate to state_dir\n"
    "  writeback-agent [run] --config=agent.conf [flags overriding the file]";

int main(int argc, char** argv) {
  // A token on the command line is visible to every user in the process
  // list: copy it into the flag, then wipe it from argv at once.
  bool enrolling = false;  // a one-shot command: Ctrl-C must work
  for (int i = 1; i < argc; ++i) enrolling |= std::string(argv[i]) == "enroll";
  std::vector<char*> args = writeback::InitProgram(argc, argv, "writeback-agent", kUsage,
                                                   /*daemon=*/!enrolling);
  writeback::agent::WipeTokenArguments(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "run";
  if (args.size() > 2 || (command != "run" && command != "enroll")) {
    std::cerr << "writeback-agent: unknown command; use `enroll` or `run` (see --help)"
              << std::endl;
    return 2;
  }
  absl::Status s = command == "enroll" ? writeback::agent::EnrollCommand()
                                       : writeback::agent::Run();
  if (!s.ok()) {
    std::cerr << "writeback-agent: " << s.message() << std::endl;
    return 1;
  }
  return 0;
}
