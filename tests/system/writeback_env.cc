#include "tests/system/writeback_env.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/anchor.h"
#include "controller/ctl/credentials.h"
#include "gtest/gtest.h"

namespace writeback::testing {
namespace {

std::string Tail(const std::string& path, size_t bytes = 4000) {
  auto content = ReadFileToString(path);
  if (!content.ok()) return "";
  return content->size() > bytes ? content->substr(content->size() - bytes) : *content;
}

}  // namespace

WritebackEnv::WritebackEnv() {
  // $WB_SYSTEM_TMPDIR (a benchmark's choice of disk for the store) or /tmp.
  const char* parent = getenv("WB_SYSTEM_TMPDIR");
  std::string tmpl = absl::StrCat(parent != nullptr && *parent != 0 ? parent : "/tmp",
                                  "/wb-system.XXXXXX");
  work_dir_ = mkdtemp(tmpl.data());
  const char* certs = getenv("WB_CERT_DIR");
  cert_dir_ = certs != nullptr ? certs : work_dir_ + "/certs";
}

WritebackEnv::~WritebackEnv() {
  agents_.clear();
  admin_.reset();
  controller_.reset();
  dc_.reset();
  if (getenv("WB_KEEP_DC_DIR") == nullptr) {
    std::string cmd = absl::StrCat("rm -rf '", work_dir_, "'");
    (void)!system(cmd.c_str());
  }
}

std::string WritebackEnv::CloudId(int index) {
  return absl::StrFormat("c10d0000-0000-4000-8000-%012d", index);
}

absl::Status WritebackEnv::StartDc() {
  SambaDc::Options options = SambaDc::Options::FromEnv();
  options.cert_dir = cert_dir_;
  WB_ASSIGN_OR_RETURN(dc_, SambaDc::Start(options));
  return absl::OkStatus();
}

std::string WritebackEnv::ScopeOu() const {
  return "OU=Mailboxes," + (dc_ ? dc_->base_dn() : std::string("DC=corp,DC=example,DC=test"));
}

absl::Status WritebackEnv::AddForest() {
  CtlResult forest = Ctl({"forest", "add", kForest, "--scope_ous=" + ScopeOu()});
  if (forest.exit_code != 0 && forest.output.find("exists") == std::string::npos) {
    return absl::InternalError("forest add failed: " + forest.output);
  }
  return absl::OkStatus();
}

absl::Status WritebackEnv::StartController() {
  std::string ports = absl::StrCat(work_dir_, "/ports-", ++controller_starts_);
  std::string config = absl::StrCat(
      "agent_listen: \"127.0.0.1:", agent_port_, "\"\n",  // same port after a restart
      "admin_listen: \"", admin_host_, ":", admin_port_, "\"\n",
      "store_path: \"", store_path(), "\"\n",
      "ports_file: \"", ports, "\"\n",
      "enroll_listen: \"127.0.0.1:", enroll_port_, "\"\n",
      controller_ca_mode_
          ? std::string()
          : absl::StrCat("tls { cert_file: \"", cert_dir_, "/controller.pem\" key_file: \"",
                         cert_dir_, "/controller.key\" ca_file: \"", cert_dir_, "/ca.pem\" }\n"),
      // The mass-change guard (default 500 mailboxes per hour) would hold the
      // bulk onboarding of tests not about it (three_agents_test registers
      // 3,000): off unless a test sets it. Later lines override earlier ones.
      "mass_change_threshold: 0\n", "metrics_listen: \"127.0.0.1:0\"\n", controller_extra_);
  std::string config_path = work_dir_ + "/controller.conf";
  WB_RETURN_IF_ERROR(WriteFileAtomically(config_path, config));
  WB_ASSIGN_OR_RETURN(controller_,
                      ChildProcess::Spawn(WB_CONTROLLER_BIN, {"--config=" + config_path},
                                          work_dir_ + "/controller.log"));
  absl::Time deadline = absl::Now() + absl::Seconds(30);  // hang guard
  while (absl::Now() < deadline) {
    auto text = ReadFileToString(ports);
    if (text.ok()) {
      for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
        std::pair<std::string, std::string> kv = absl::StrSplit(line, '=');
        int port = 0;
        if (!absl::SimpleAtoi(kv.second, &port)) continue;
        if (kv.first == "agent") agent_port_ = port;
        if (kv.first == "admin") admin_port_ = port;
        if (kv.first == "enroll") enroll_port_ = port;
        if (kv.first == "metrics") controller_metrics_port_ = port;
      }
      return absl::OkStatus();
    }
    if (!controller_->running()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::InternalError("controller did not start: " + Tail(controller_->log_file()));
}

absl::Status WritebackEnv::KillController() {
  WB_ASSIGN_OR_RETURN(ExitStatus st, controller_->Kill());
  (void)st;
  return absl::OkStatus();
}

absl::Status WritebackEnv::StartAgent(int n, const AgentOptions& options) {
  const std::string bind_dn = options.bind_dn.empty() ? dc_->admin_dn() : options.bind_dn;
  const std::string password_file =
      options.password_file.empty() ? dc_->admin_password_file() : options.password_file;
  std::string config = absl::StrCat(
      "controller: \"",
      options.controller.empty() ? absl::StrCat("127.0.0.1:", agent_port_) : options.controller,
      "\"\n",
      options.state_dir.empty()
          ? absl::StrCat("tls { cert_file: \"", cert_dir_, "/agent-", n, ".pem\" key_file: \"",
                         cert_dir_, "/agent-", n, ".key\" ca_file: \"", cert_dir_, "/ca.pem\" }\n")
          : absl::StrCat("state_dir: \"", options.state_dir, "\"\n"),
      "ldap { urls: \"", options.ldap_url.empty() ? dc_->url() : options.ldap_url, "\" ca_file: \"", dc_->ca_file(), "\" bind_dn: \"", bind_dn,
      "\" password_file: \"", password_file, "\" }\n",
      "scope_ous: \"", ScopeOu(), "\"\n",
      "reconnect_initial_ms: 200\nreconnect_max_ms: 2000\n",
      "metrics_listen: \"127.0.0.1:0\"\nports_file: \"", work_dir_, "/agent-", n, ".ports\"\n",
      options.extra_config);
  unlink(absl::StrCat(work_dir_, "/agent-", n, ".ports").c_str());  // a new port for a new process
  std::string config_path = absl::StrCat(work_dir_, "/agent-", n, ".conf");
  WB_RETURN_IF_ERROR(WriteFileAtomically(config_path, config));
  WB_ASSIGN_OR_RETURN(agents_[n],
                      ChildProcess::Spawn(WB_AGENT_BIN, {"--config=" + config_path},
                                          absl::StrCat(work_dir_, "/agent-", n, ".log")));
  return absl::OkStatus();
}

absl::StatusOr<int> WritebackEnv::AgentMetricsPort(int n) {
  const std::string path = absl::StrCat(work_dir_, "/agent-", n, ".ports");
  absl::Time deadline = absl::Now() + absl::Seconds(30);  // hang guard
  while (absl::Now() < deadline) {
    auto text = ReadFileToString(path);
    int port = 0;
    if (text.ok() && absl::StartsWith(*text, "metrics=") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(text->substr(8)), &port)) {
      return port;
    }
    if (!agents_.at(n)->running()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::InternalError(absl::StrCat("agent-", n, " wrote no metrics port: ",
                                          Tail(agents_.at(n)->log_file())));
}

absl::Status WritebackEnv::StopAgent(int n) {
  WB_RETURN_IF_ERROR(agents_.at(n)->Signal(SIGTERM));
  WB_ASSIGN_OR_RETURN(ExitStatus st, agents_.at(n)->WaitExit(absl::Seconds(30)));
  if (!st.ok()) return absl::InternalError(absl::StrCat("agent-", n, " ended with ", st.ToString()));
  return absl::OkStatus();
}

absl::Status WritebackEnv::KillAgent(int n) { return agents_.at(n)->Kill().status(); }
absl::Status WritebackEnv::SuspendAgent(int n) { return agents_.at(n)->Signal(SIGSTOP); }
absl::Status WritebackEnv::ResumeAgent(int n) { return agents_.at(n)->Signal(SIGCONT); }

std::string WritebackEnv::admin_address() const {
  return absl::StrCat(admin_host_, ":", admin_port_);
}

AdminClient& WritebackEnv::Admin() {
  if (admin_ == nullptr) {
    ctl::CtlSettings settings;
    settings.controller = admin_address();
    settings.token_file = admin_token_file();
    auto channel = ctl::OpenAdminChannel(settings, AdminClient::Arguments());
    if (!channel.ok()) {
      // The calls then fail UNAUTHENTICATED; the cause is reported here.
      ADD_FAILURE() << "Admin API channel: " << channel.status();
      channel = grpc::CreateChannel(settings.controller, grpc::InsecureChannelCredentials());
    }
    admin_ = std::make_unique<AdminClient>(*channel);
  }
  return *admin_;
}

namespace {

CtlResult RunOnce(const std::string& binary, const std::vector<std::string>& argv,
                  const std::string& log, const std::vector<std::string>& env = {}) {
  CtlResult result;
  unlink(log.c_str());
  auto child = ChildProcess::Spawn(binary, argv, log, env);
  if (!child.ok()) {
    result.output = std::string(child.status().message());
    return result;
  }
  auto st = (*child)->WaitExit(absl::Seconds(60));  // hang guard
  result.output = ReadFileToString(log).value_or("");
  if (st.ok() && st->exited) result.exit_code = st->code;
  return result;
}

}  // namespace

CtlResult WritebackEnv::Ctl(const std::vector<std::string>& args) { return CtlWithEnv({}, args); }

CtlResult WritebackEnv::CtlWithEnv(const std::vector<std::string>& env,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--controller=" + admin_address()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> child_env = {"WRITEBACKCTL_TOKEN_FILE=" + admin_token_file(),
                                        "WRITEBACKCTL_CONFIG=", "HOME=" + work_dir_};
  child_env.insert(child_env.end(), env.begin(), env.end());
  return RunOnce(WB_CTL_BIN, argv, absl::StrCat(work_dir_, "/ctl-", getpid(), ".out"), child_env);
}

absl::StatusOr<std::vector<std::string>> WritebackEnv::RegisterMailboxes(
    const std::vector<SambaDc::User>& users) {
  WB_RETURN_IF_ERROR(AddForest());
  std::vector<std::string> ids;
  for (size_t i = 0; i < users.size(); ++i) {
    std::string id = CloudId(static_cast<int>(i + 1));
    CtlResult r = Ctl({"mailbox", "add", id, absl::StrCat("--forest=", kForest),
                       "--anchor=" + AnchorToGuidString(users[i].object_guid)});
    if (r.exit_code != 0) return absl::InternalError("mailbox add failed: " + r.output);
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<std::vector<std::string>> WritebackEnv::AddMailboxes(
    const std::vector<SambaDc::User>& users) {
  WB_RETURN_IF_ERROR(Admin().AddForest(kForest, ScopeOu()));
  std::vector<std::string> ids;
  for (size_t i = 0; i < users.size(); ++i) {
    std::string id = CloudId(static_cast<int>(i + 1));
    WB_RETURN_IF_ERROR(Admin().AddMailbox(id, kForest, users[i].object_guid).status());
    ids.push_back(id);
  }
  return ids;
}

std::string WritebackEnv::LogsForFailure() {
  std::string out = absl::StrCat("--- controller log ---\n", Tail(work_dir_ + "/controller.log"));
  for (const auto& [n, agent] : agents_) {
    absl::StrAppend(&out, "\n--- agent-", n, " log ---\n", Tail(agent->log_file()));
  }
  return out;
}

}  // namespace writeback::testing
