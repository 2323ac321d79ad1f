// The whole system for system tests: a real Samba AD DC (SambaDc), the real
// writeback-controller and writeback-agent binaries over mutual TLS on
// loopback, and writebackctl. Runs inside the test's own network namespace
// (wb_add_system_test).
//
//   WritebackEnv env;
//   ASSERT_OK(env.StartDc());
//   ASSERT_OK(env.StartController());
//   ASSERT_OK(env.StartAgent(1));
//   CtlResult r = env.Ctl({"forest", "add", "corp.example.test", "--scope_ous=" + env.ScopeOu()});
//   EXPECT_EQ(r.exit_code, 0) << r.output;
//
// Large tests talk to the Admin API directly (env.Admin(), AddMailboxes) and
// inject faults into agents (KillAgent, SuspendAgent/ResumeAgent).
//
// Admin API credentials: Ctl and Admin() authenticate as the controller's
// local operator with the token its first start writes beside the store
// (admin_token_file()); CtlWithEnv runs writebackctl with other credentials.
#ifndef WRITEBACK_TESTS_SYSTEM_WRITEBACK_ENV_H_
#define WRITEBACK_TESTS_SYSTEM_WRITEBACK_ENV_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/process.h"
#include "tests/harness/samba_dc.h"
#include "tests/system/admin_client.h"

namespace writeback::testing {

struct CtlResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

class WritebackEnv {
 public:
  static constexpr char kForest[] = "corp.example.test";

  WritebackEnv();
  ~WritebackEnv();  // Kills what is still running, removes the work dir.

  absl::Status StartDc();
  SambaDc& dc() { return *dc_; }
  std::string ScopeOu() const;  // OU=Mailboxes,<base>

  // Text-format ControllerConfig fields added to the controller's
  // configuration at every (re)start, e.g. "lease_ms: 3000\n". The
  // mass-change guard is off (mass_change_threshold: 0) unless set here.
  void set_controller_config(std::string extra) { controller_extra_ = std::move(extra); }
  // The controller serves the identity its own CA issues (no tls section):
  // agents join by enrollment (AgentOptions::state_dir). Default: the test
  // PKI of make_certs.sh.
  void set_controller_ca_mode(bool on) { controller_ca_mode_ = on; }
  // Starts the controller on port 0 (store in the work dir, kept across
  // restarts; the same ports after a restart) and waits for its ports file.
  absl::Status StartController();
  ChildProcess& controller() { return *controller_; }
  absl::Status KillController();  // SIGKILL

  struct AgentOptions {
    // Text-format AgentConfig fields other than `ldap`, e.g.
    // "max_writes_per_second: 5\n".
    std::string extra_config;
    // The LDAP bind identity (see SambaDc::AddAdminAccount); empty: the DC's
    // Administrator.
    std::string bind_dn;
    std::string password_file;
    // host:port the agent dials; empty: the controller's agent port (set it
    // to put a RecordingProxy in between).
    std::string controller;
    // The enrolled identity in this state directory (writeback-agent
    // enroll) instead of certificate agent-N of the test PKI.
    std::string state_dir;
    // The DC URL the agent binds to; empty: the DC's own (set it to put a
    // proxy in between; the DC's certificate names 127.0.0.1).
    std::string ldap_url;
  };
  // Starts agent-N (certificate agent-N of the test PKI; make_certs.sh makes
  // agent-1..agent-3) bound to the DC. Starting N again after it ended
  // replaces the process; its log file is appended to.
  absl::Status StartAgent(int n, const AgentOptions& options = {});
  ChildProcess& agent(int n) { return *agents_.at(n); }
  absl::Status StopAgent(int n);     // SIGTERM, then waits for the exit (hang guard 30 s)
  absl::Status KillAgent(int n);     // SIGKILL: no goodbye, no cleanup
  absl::Status SuspendAgent(int n);  // SIGSTOP: frozen with whatever it holds
  absl::Status ResumeAgent(int n);   // SIGCONT

  // Runs writebackctl against the Admin API (hang guard 60 s) as the local
  // operator: WRITEBACKCTL_TOKEN_FILE=admin_token_file(). HOME is the work
  // dir and WRITEBACKCTL_CONFIG is empty, so no settings of the user running
  // the test apply.
  CtlResult Ctl(const std::vector<std::string>& args);
  // The same with `env` ("NAME=value") on top, e.g.
  // {"WRITEBACKCTL_TOKEN_FILE="} for no token at all.
  CtlResult CtlWithEnv(const std::vector<std::string>& env, const std::vector<std::string>& args);

  // The Admin API of the running controller, called directly as the local
  // operator.
  AdminClient& Admin();

  // The host of admin_listen (default 127.0.0.1) at the next
  // StartController; Ctl and Admin() dial it.
  void set_admin_host(std::string host) { admin_host_ = std::move(host); }
  std::string admin_address() const;  // host:port
  // The local operator's token, written by the controller's first start.
  std::string admin_token_file() const { return work_dir_ + "/admin.token"; }
  // The controller's tokens file (admin_auth.tokens_file's default).
  std::string admin_tokens_file() const { return work_dir_ + "/admin-tokens"; }

  // Registers kForest with ScopeOu() as its scope (no DC needed).
  absl::Status AddForest();
  // Registers the forest and `users` as mailboxes (cloud id derived from the
  // user index); returns the cloud ids in order.
  absl::StatusOr<std::vector<std::string>> RegisterMailboxes(
      const std::vector<SambaDc::User>& users);
  // The same through the Admin API directly: thousands in seconds.
  absl::StatusOr<std::vector<std::string>> AddMailboxes(const std::vector<SambaDc::User>& users);

  const std::string& work_dir() const { return work_dir_; }
  const std::string& cert_dir() const { return cert_dir_; }
  std::string store_path() const { return work_dir_ + "/writeback.db"; }
  int agent_port() const { return agent_port_; }
  int enroll_port() const { return enroll_port_; }
  // Metrics endpoints (GET /metrics, port 0 on loopback): the running
  // controller's (from its ports file), and agent-N's (from its own ports
  // file; waits for it, hang guard 30 s).
  int controller_metrics_port() const { return controller_metrics_port_; }
  absl::StatusOr<int> AgentMetricsPort(int n);
  std::string ca_dir() const { return work_dir_ + "/ca"; }
  std::string LogsForFailure();  // tails of the controller and agent logs

  static std::string CloudId(int index);

 private:
  std::string work_dir_;
  std::string cert_dir_;
  std::unique_ptr<SambaDc> dc_;
  std::unique_ptr<ChildProcess> controller_;
  std::map<int, std::unique_ptr<ChildProcess>> agents_;
  std::unique_ptr<AdminClient> admin_;
  std::string controller_extra_;
  int agent_port_ = 0;
  int admin_port_ = 0;
  int enroll_port_ = 0;
  int controller_metrics_port_ = 0;
  bool controller_ca_mode_ = false;
  std::string admin_host_ = "127.0.0.1";
  int controller_starts_ = 0;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_WRITEBACK_ENV_H_
