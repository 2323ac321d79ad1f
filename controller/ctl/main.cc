// writebackctl: the operator's command line for the controller's Admin API.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/program.h"
#include "common/identity/anchor.h"
#include "common/protocol.h"
#include "controller/ctl/credentials.h"
#include "controller/ctl/drift_commands.h"
#include "controller/ctl/edit_syntax.h"
#include "controller/ctl/hold_commands.h"
#include "controller/ctl/log_commands.h"
#include "controller/ctl/mailbox_commands.h"
#include "controller/ctl/output.h"
#include "controller/ctl/provision_commands.h"
#include "controller/ctl/status_commands.h"
#include "controller/ctl/table.h"
#include "controller/ctl/trust_commands.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/admin.grpc.pb.h"

ABSL_FLAG(std::string, controller, "",
          "Admin API address (default $WRITEBACK_CONTROLLER or 127.0.0.1:7444).");
ABSL_FLAG(std::string, token_file, "",
          "Admin API bearer token file, mode 0600 (default "
          "$WRITEBACKCTL_TOKEN_FILE).");
ABSL_FLAG(std::string, ca_file, "", "TLS to the Admin API: the CA that verifies the controller.");
ABSL_FLAG(std::string, cert_file, "",
          "TLS: admin client certificate (URI SAN writeback://admin/NAME).");
ABSL_FLAG(std::string, key_file, "", "TLS: the client certificate's key (mode 0600).");
ABSL_FLAG(std::string, ctl_config, "",
          "writebackctl settings file (default $WRITEBACKCTL_CONFIG or "
          "~/.config/writeback/writebackctl.conf).");
ABSL_FLAG(bool, json, false, "Print results as JSON.");
ABSL_FLAG(std::string, scope_ous, "", "forest add: scope OU DNs separated by ';'.");
ABSL_FLAG(std::string, forest, "", "mailbox add / list, log: the forest.");
ABSL_FLAG(std::string, anchor, "", "mailbox add: source anchor as GUID or base64 of 16 bytes.");
ABSL_FLAG(std::string, mailbox, "", "log: only this mailbox.");
ABSL_FLAG(std::string, agent, "", "log: only this agent.");
ABSL_FLAG(int, limit, 0, "list, log: at most this many rows.");
ABSL_FLAG(int, timeout_s, 120, "mailbox wait: give up after this many seconds.");
ABSL_FLAG(std::string, reason, "", "agent drain, forest pause: the reason, told and logged.");
ABSL_FLAG(std::string, method, "", "audit: only calls of this Admin API method.");
ABSL_FLAG(std::string, outcome, "", "log: only this outcome (APPLIED, CONFLICT, ...).");
ABSL_FLAG(std::string, kind, "", "log: only this record kind (job, read, lost, removed, scan).");
ABSL_FLAG(std::string, since, "", "log: records at or after this time (RFC 3339 or Unix ms).");
ABSL_FLAG(std::string, until, "", "log: records before this time (RFC 3339 or Unix ms).");
ABSL_FLAG(std::string, output, "", "log export: write to this file instead of stdout.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "mailbox provision: how long to wait for the answer (e.g. 30s, 2m).");
ABSL_FLAG(bool, full, false, "forest reconcile: read every object, ignoring the last marks.");
ABSL_FLAG(bool, wait, false, "forest reconcile: wait for the pass to end and print its counts.");
ABSL_FLAG(std::string, attribute, "", "drift: only this attribute.");
ABSL_FLAG(std::string, action, "", "drift: only records with this action (corrected, conflict).");
ABSL_FLAG(bool, summary, false, "drift: one row per mailbox and attribute.");
ABSL_FLAG(std::string, mass_change_threshold, "",
          "forest set: most mailboxes changed per window without approval (0 "
          "disables).");
ABSL_FLAG(std::string, mass_change_window, "", "forest set: the window, e.g. 30m, 1h, 3600s.");
ABSL_FLAG(bool, use_defaults, false, "forest set: back to the controller's defaults.");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(1), "token create: how long the token may be used.");
ABSL_FLAG(bool, finish, false, "ca rotate: finish the rotation under way.");
ABSL_FLAG(std::string, format, "", "mailbox import: jsonl or csv (default: from the file name).");
ABSL_FLAG(bool, continue_on_error, false,
          "mailbox import: store the good lines even when some are bad.");
ABSL_FLAG(bool, follow, false, "log: print records as they arrive until interrupted or --limit.");
ABSL_FLAG(bool, force, false, "ca rotate --finish: even if agents still hold old certificates.");

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

// Exit codes (documented in the README).
// kExitNotAllowed (5, credentials.h): not authenticated or not allowed

constexpr char kUsage[] =
    R"(Usage: writebackctl [--controller=HOST:PORT] [--json] [CREDENTIALS] COMMAND

Commands (every one takes --json: the Admin API's answer as JSON on stdout, lists as one
object or JSON lines; without it, text and aligned tables with a header row):
  status                           forests (paused, open hold, queue depth = pending + in flight
                                   + retry wait, counts by state) and agents (version, last seen,
                                   stream state, work in flight)
  forest add NAME --scope_ous='OU=A,DC=x;OU=B,DC=x'
  forest list
  forest pause NAME [--reason=TEXT]      no new work for the forest until resumed
  forest resume NAME
  forest reconcile NAME [--full] [--wait]  reconciliation pass now: AD drift is recorded and corrected
  forest set NAME [--mass_change_threshold=N] [--mass_change_window=30m] [--use_defaults]
                                   the mass-change guard: at most N mailboxes changed per window
                                   without approval (0 disables)
  mailbox add CLOUD_ID --forest=NAME --anchor=GUID|BASE64
  mailbox set CLOUD_ID EDIT...     EDIT: attr=value  attr=  attr!  attr+=value
                                         attr-=value  attr:=value (repeat for a set)
  mailbox get CLOUD_ID
  mailbox list [--forest=NAME] [--limit=N]
  mailbox wait CLOUD_ID... [--timeout_s=120]   wait until AD holds the desired state
  mailbox remove CLOUD_ID          the mailbox stopped being cloud-managed: leave AD as it is
  mailbox retry CLOUD_ID...        put quarantined/failed/conflict-held mailboxes back in line now
  mailbox import FILE|- [--format=jsonl|csv] [--continue-on-error]
                                   add or update many mailboxes; FILE - is stdin. JSON lines:
                                   {"cloud_id":"…","forest":"…","anchor":"GUID|BASE64",
                                    "attributes":{"mail":"a@b","proxyAddresses":["SMTP:a@b"]}}
                                   CSV: header cloud_id,forest,anchor,ATTRIBUTE...; values of a
                                   multi-valued cell separated by ';'; RFC 4180 quoting.
                                   An existing cloud id gets the named attributes as desired
                                   values (a new generation); attributes not named (CSV: empty
                                   cells) stay as they are; [] or null clears one.
                                   A bad line is reported as "line N: field F: message";
                                   any bad line stores NOTHING unless --continue-on-error
                                   (then the good lines are stored). Exit 0 all stored, 1 any
                                   line refused, 2 usage or unreadable file
  retry CLOUD_ID...                = mailbox retry
  quarantine [list] [--forest=NAME] [--limit=N]
                                   QUARANTINED and CONFLICT_HOLD mailboxes with their last error
  quarantine release CLOUD_ID...   = mailbox retry
  mailbox provision CLOUD_ID [--timeout=30s]   write it now, ahead of the queue, and print
                                   the steps and modified properties (alias: provision-now)
  agent list [--forest=NAME]
  agent drain AGENT_ID [--reason=TEXT]   the agent finishes its work and exits
  log [FILTERS] [--limit=N]        the provisioning log, newest first (default 100)
  log export [FILTERS] [--limit=N] [--output=FILE]   all matching, oldest first, JSON lines
  log --follow [FILTERS] [--limit=N]   new records as they arrive, until Ctrl-C / SIGTERM or N
  drift [--mailbox=ID] [--forest=NAME] [--attribute=A] [--action=corrected|conflict]
        [--summary] [--limit=N]    what reconciliation found in AD, newest first;
                                   --summary: per mailbox and attribute, with conflict holds
      FILTERS: --mailbox=ID --forest=NAME --agent=ID --outcome=APPLIED --kind=job|read|lost|removed|scan|held|rejected
               --since=TIME --until=TIME   (TIME: RFC 3339, e.g. 2026-11-30T08:00:00Z, or Unix ms)
  audit [--method=NAME] [--limit=N]      Admin API calls that changed something
  token create --forest=F [--ttl=1h] [--output=FILE]
                                   a single-use join token for writeback-agent enroll
  token list [--forest=F]          join tokens and their state (never their secrets)
  token revoke TOKEN_ID            an unused token can no longer be redeemed
  agent revoke AGENT_ID [--reason=TEXT]
                                   refuse its certificates from now on; cut its streams
  ca [show]                        the controller CA's SHA-256 fingerprint, rotation state
  ca rotate [--finish [--force]]   start / finish a CA rotation with overlapping trust
  hold list [--forest=NAME]        mass-change holds, newest first
  hold approve ID                  the held changes go out now (their latest values)
  approve ID                       = hold approve
  hold reject ID                   drop the held changes: desired reverts to what AD holds

Credentials (every Admin API call is authenticated; DESIGN §7):
  --token_file=FILE (or WRITEBACKCTL_TOKEN_FILE=FILE)   a bearer token, mode 0600; on its first
                                   start the controller writes a local operator's token to
                                   admin.token beside its store
  --ca_file=CA.pem                 TLS to the controller (needed beyond loopback), verified by CA
  --cert_file=CERT.pem --key_file=KEY.pem   an admin client certificate over TLS
  --ctl_config=FILE (or WRITEBACKCTL_CONFIG; default ~/.config/writeback/writebackctl.conf when it
                                   exists): "key = value" lines for controller, token_file,
                                   ca_file, cert_file, key_file; flags and environment win
  Roles: read-only may run what only reads (status, forest list, mailbox get/list/wait, agent
  list, quarantine list, log, drift, audit, hold list); operator everything.
  Flag names take dashes or underscores (--continue-on-error = --continue_on_error).

Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 controller unreachable, 4 wait timed out,
5 not authenticated or not allowed (credentials refused, role too low, or unusable credentials).
mailbox provision: 0 when the export succeeded or was not needed, 5 as above, 1 otherwise.)";

int Usage(const std::string& why) {
  std::cerr << "writebackctl: " << why << "\n\n" << kUsage << std::endl;
  return kExitUsage;
}

int Report(const grpc::Status& s) {
  std::cerr << "writebackctl: " << s.error_message() << std::endl;
  if (IsAuthFailure(s)) return kExitNotAllowed;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return kExitUnavailable;
  }
  return kExitFailed;
}

absl::StatusOr<std::unique_ptr<v1::AdminService::Stub>> Connect() {
  CtlSettings flags{absl::GetFlag(FLAGS_controller), absl::GetFlag(FLAGS_token_file),
                    absl::GetFlag(FLAGS_ca_file), absl::GetFlag(FLAGS_cert_file),
                    absl::GetFlag(FLAGS_key_file)};
  absl::StatusOr<CtlSettings> settings =
      ResolveCtlSettings(flags, absl::GetFlag(FLAGS_ctl_config), CtlEnvironment::FromProcess());
  if (!settings.ok()) return settings.status();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenAdminChannel(*settings);
  if (!channel.ok()) return channel.status();
  return v1::AdminService::NewStub(*channel);
}

DriftFlags CollectDriftFlags() {
  DriftFlags flags;
  flags.mailbox = absl::GetFlag(FLAGS_mailbox);
  flags.forest = absl::GetFlag(FLAGS_forest);
  flags.attribute = absl::GetFlag(FLAGS_attribute);
  flags.action = absl::GetFlag(FLAGS_action);
  flags.limit = absl::GetFlag(FLAGS_limit);
  flags.summary = absl::GetFlag(FLAGS_summary);
  flags.json = absl::GetFlag(FLAGS_json);
  flags.full = absl::GetFlag(FLAGS_full);
  flags.wait = absl::GetFlag(FLAGS_wait);
  return flags;
}

TrustFlags TrustFlagsFromCommandLine() {
  TrustFlags flags;
  flags.forest = absl::GetFlag(FLAGS_forest);
  flags.ttl = absl::GetFlag(FLAGS_ttl);
  flags.output = absl::GetFlag(FLAGS_output);
  flags.reason = absl::GetFlag(FLAGS_reason);
  flags.finish = absl::GetFlag(FLAGS_finish);
  flags.force = absl::GetFlag(FLAGS_force);
  flags.json = absl::GetFlag(FLAGS_json);
  return flags;
}

HoldFlags HoldFlagsFromCommandLine() {
  return {absl::GetFlag(FLAGS_forest), absl::GetFlag(FLAGS_mass_change_threshold),
          absl::GetFlag(FLAGS_mass_change_window), absl::GetFlag(FLAGS_use_defaults),
          absl::GetFlag(FLAGS_json)};
}

int Forest(v1::AdminService::Stub& stub, const std::vector<std::string>& args) {
  if (args.size() == 3 && args[1] == "add") {
    v1::AddForestRequest request;
    request.mutable_forest()->set_name(args[2]);
    for (auto ou : absl::StrSplit(absl::GetFlag(FLAGS_scope_ous), ';', absl::SkipEmpty())) {
      request.mutable_forest()->add_scope_ous(std::string(ou));
    }
    v1::Forest response;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.AddForest(&context, request, &response); !s.ok()) return Report(s);
    if (absl::GetFlag(FLAGS_json))
      PrintJson(response);
    else
      std::cout << "forest " << response.name() << " added" << std::endl;
    return kExitOk;
  }
  if (args.size() == 2 && args[1] == "list") {
    v1::ListForestsResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.ListForests(&context, {}, &response); !s.ok()) return Report(s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(response), kExitOk;
    Table table({"FOREST", "STATE", "AGENTS", "OPEN_HOLD", "SCOPE", "PAUSE_REASON"});
    for (const auto& f : response.forests()) {
      table.AddRow({f.name(), f.paused() ? "PAUSED" : "active", absl::StrCat(f.connected_agents()),
                    f.open_hold_id() == 0
                        ? "-"
                        : absl::StrCat(f.open_hold_id(), " (", f.held_mailboxes(), " held)"),
                    absl::StrJoin(f.scope_ous(), ";"), f.pause_reason()});
    }
    std::cout << table.Render();
    for (const auto& f : response.forests()) {
      if (f.open_hold_id() == 0) continue;
      std::cout << f.name() << ": mass-change hold " << f.open_hold_id() << " holds "
                << f.held_mailboxes() << " mailbox(es): writebackctl hold approve|reject "
                << f.open_hold_id() << "\n";
    }
    std::cout.flush();
    return kExitOk;
  }
  if (args.size() == 3 && (args[1] == "pause" || args[1] == "resume")) {
    v1::Forest response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s;
    if (args[1] == "pause") {
      v1::PauseForestRequest request;
      request.set_name(args[2]);
      request.set_reason(absl::GetFlag(FLAGS_reason));
      s = stub.PauseForest(&context, request, &response);
    } else {
      v1::ResumeForestRequest request;
      request.set_name(args[2]);
      s = stub.ResumeForest(&context, request, &response);
    }
    if (!s.ok()) return Report(s);
    if (absl::GetFlag(FLAGS_json)) return PrintJson(response), kExitOk;
    std::cout << "forest " << response.name() << (response.paused() ? " paused" : " resumed")
              << std::endl;
    return kExitOk;
  }
  if (args.size() == 3 && args[1] == "reconcile") {
    return RunReconcileCommand(stub, args[2], CollectDriftFlags(), {Usage, Report});
  }
  if (args.size() >= 2 && args[1] == "set") {
    return RunForestSetCommand(stub, args, HoldFlagsFromCommandLine(), {Usage, Report});
  }
  return Usage(
      "forest: expected 'forest add NAME', 'forest list', 'forest pause NAME', "
      "'forest resume NAME', 'forest reconcile NAME' or 'forest set NAME'");
}

MailboxFlags MailboxFlagsFromCommandLine() {
  MailboxFlags flags;
  flags.forest = absl::GetFlag(FLAGS_forest);
  flags.anchor = absl::GetFlag(FLAGS_anchor);
  flags.limit = absl::GetFlag(FLAGS_limit);
  flags.timeout_s = absl::GetFlag(FLAGS_timeout_s);
  flags.provision_timeout = absl::GetFlag(FLAGS_timeout);
  flags.format = absl::GetFlag(FLAGS_format);
  flags.continue_on_error = absl::GetFlag(FLAGS_continue_on_error);
  flags.json = absl::GetFlag(FLAGS_json);
  return flags;
}

StatusFlags StatusFlagsFromCommandLine() {
  return {absl::GetFlag(FLAGS_forest), absl::GetFlag(FLAGS_limit), absl::GetFlag(FLAGS_json)};
}

void PrintAgents(const v1::ListAgentsResponse& response) {
  Table table(
      {"AGENT", "FOREST", "STATE", "IN_FLIGHT", "VERSION", "LAST_SEEN (UTC)", "CERTIFICATE"});
  for (const auto& a : response.agents()) {
    std::string cert = a.cert_serial().empty()
                           ? "operator-issued"
                           : absl::StrCat(a.cert_serial().substr(0, 12), " until ",
                                          FormatTimeMs(a.cert_not_after_ms()));
    if (a.revoked_ms() != 0) cert = absl::StrCat("REVOKED ", FormatTimeMs(a.revoked_ms()));
    table.AddRow({a.agent_id(), a.forest(), a.state(), absl::StrCat(a.in_flight()), a.version(),
                  FormatTimeMs(a.last_seen_ms()), cert});
  }
  std::cout << table.Render() << std::flush;
}

int Agent(v1::AdminService::Stub& stub, const std::vector<std::string>& args) {
  bool json = absl::GetFlag(FLAGS_json);
  grpc::ClientContext context;
  SetDeadline(&context);
  if (args.size() == 2 && args[1] == "list") {
    v1::ListAgentsRequest request;
    request.set_forest(absl::GetFlag(FLAGS_forest));
    v1::ListAgentsResponse response;
    if (auto s = stub.ListAgents(&context, request, &response); !s.ok()) return Report(s);
    if (json) return PrintJson(response), kExitOk;
    PrintAgents(response);
    return kExitOk;
  }
  if (args.size() >= 2 && args[1] == "revoke") {
    return RunAgentRevokeCommand(stub, args, TrustFlagsFromCommandLine(), {Usage, Report});
  }
  if (args.size() == 3 && args[1] == "drain") {
    v1::DrainAgentRequest request;
    request.set_agent_id(args[2]);
    request.set_reason(absl::GetFlag(FLAGS_reason));
    v1::Agent agent;
    if (auto s = stub.DrainAgent(&context, request, &agent); !s.ok()) return Report(s);
    if (json) return PrintJson(agent), kExitOk;
    std::cout << "agent " << agent.agent_id() << " is draining: it answers its "
              << agent.in_flight() << " unanswered job(s) and exits" << std::endl;
    return kExitOk;
  }
  return Usage(
      "agent: expected 'agent list', 'agent drain AGENT_ID' or 'agent "
      "revoke AGENT_ID'");
}

int Log(v1::AdminService::Stub& stub, const std::vector<std::string>& args) {
  LogFlags flags{
      absl::GetFlag(FLAGS_mailbox), absl::GetFlag(FLAGS_forest), absl::GetFlag(FLAGS_agent),
      absl::GetFlag(FLAGS_outcome), absl::GetFlag(FLAGS_kind),   absl::GetFlag(FLAGS_since),
      absl::GetFlag(FLAGS_until),   absl::GetFlag(FLAGS_output), absl::GetFlag(FLAGS_limit),
      absl::GetFlag(FLAGS_json),    absl::GetFlag(FLAGS_follow)};
  return RunLogCommand(stub, args, flags, {Usage, Report});
}

int Audit(v1::AdminService::Stub& stub) {
  v1::ListAuditLogRequest request;
  request.set_method(absl::GetFlag(FLAGS_method));
  request.set_limit(absl::GetFlag(FLAGS_limit));
  v1::ListAuditLogResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.ListAuditLog(&context, request, &response); !s.ok()) return Report(s);
  if (absl::GetFlag(FLAGS_json)) {  // JSON lines, one record each (none: no output)
    for (const auto& r : response.records()) PrintJson(r);
    return kExitOk;
  }
  Table table({"TIME (UTC)", "METHOD", "RESULT", "CALLER", "ARGUMENTS"});
  for (const auto& r : response.records()) {
    table.AddRow({FormatTimeMs(r.time_ms()), r.method(), r.result(), r.caller(), r.arguments()});
  }
  std::cout << table.Render() << std::flush;
  return kExitOk;
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("no command given");
  auto connected = Connect();
  if (!connected.ok()) {
    std::cerr << "writebackctl: " << connected.status().message() << std::endl;
    return kExitNotAllowed;
  }
  auto& stub = *connected;
  if (args[0] == "forest") return Forest(*stub, args);
  const LogCommandHooks hooks{Usage, Report};
  if (args[0] == "mailbox")
    return RunMailboxCommand(*stub, args, MailboxFlagsFromCommandLine(), hooks);
  if (args[0] == "retry") {
    return RetryMailboxes(*stub, {args.begin() + 1, args.end()}, absl::GetFlag(FLAGS_json), hooks);
  }
  if (args[0] == "status")
    return RunStatusCommand(*stub, args, StatusFlagsFromCommandLine(), hooks);
  if (args[0] == "quarantine") {
    return RunQuarantineCommand(*stub, args, StatusFlagsFromCommandLine(), hooks);
  }
  if (args[0] == "approve") {
    std::vector<std::string> hold = {"hold", "approve"};
    hold.insert(hold.end(), args.begin() + 1, args.end());
    return RunHoldCommand(*stub, hold, HoldFlagsFromCommandLine(), hooks);
  }
  if (args[0] == "agent") return Agent(*stub, args);
  if (args[0] == "log") return Log(*stub, args);
  if (args[0] == "provision-now") {
    return RunProvisionCommand(*stub, args,
                               {absl::GetFlag(FLAGS_timeout), absl::GetFlag(FLAGS_json)}, Usage);
  }
  if (args[0] == "drift") return RunDriftCommand(*stub, args, CollectDriftFlags(), {Usage, Report});
  if (args[0] == "audit") {
    if (args.size() != 1) return Usage("audit: takes no arguments (filters: --method, --limit)");
    return Audit(*stub);
  }
  if (args[0] == "hold")
    return RunHoldCommand(*stub, args, HoldFlagsFromCommandLine(), {Usage, Report});
  if (args[0] == "token")
    return RunTokenCommand(*stub, args, TrustFlagsFromCommandLine(), {Usage, Report});
  if (args[0] == "ca")
    return RunCaCommand(*stub, args, TrustFlagsFromCommandLine(), {Usage, Report});
  return Usage(absl::StrCat("unknown command \"", args[0], "\""));
}

}  // namespace
}  // namespace writeback::ctl

int main(int argc, char** argv) {
  // --continue-on-error is --continue_on_error: dashes in a flag's name (not
  // its value) become underscores, as Abseil's flag names have them.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") break;
    if (argv[i][0] != '-' || argv[i][1] != '-') continue;
    for (char* c = argv[i] + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
  std::vector<char*> positional =
      writeback::InitProgram(argc, argv, "writebackctl", writeback::ctl::kUsage, /*daemon=*/false);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  return writeback::ctl::Main(args);
}
