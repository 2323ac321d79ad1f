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

  // Starts the controller on port 0 (store in the work dir, kept across
  // restarts) and waits for its ports file.
  absl::Status StartController();
  ChildProcess& controller() { return *controller_; }
  absl::Status KillController();  // SIGKILL

  // Starts agent-N (certificate agent-N of the test PKI) bound to the DC.
  // `extra_config` is appended to its text-format configuration.
  absl::Status StartAgent(int n, const std::string& extra_config = "");
  ChildProcess& agent(int n) { return *agents_.at(n); }

  // Runs writebackctl against the Admin API (hang guard 60 s).
  CtlResult Ctl(const std::vector<std::string>& args);

  // Registers kForest with ScopeOu() as its scope (no DC needed).
  absl::Status AddForest();
  // Registers the forest and `users` as mailboxes (cloud id derived from the
  // user index); returns the cloud ids in order.
  absl::StatusOr<std::vector<std::string>> RegisterMailboxes(
      const std::vector<SambaDc::User>& users);

  const std::string& work_dir() const { return work_dir_; }
  const std::string& cert_dir() const { return cert_dir_; }
  std::string store_path() const { return work_dir_ + "/writeback.db"; }
  int agent_port() const { return agent_port_; }
  std::string LogsForFailure();  // tails of the controller and agent logs

  static std::string CloudId(int index);

 private:
  std::string work_dir_;
  std::string cert_dir_;
  std::unique_ptr<SambaDc> dc_;
  std::unique_ptr<ChildProcess> controller_;
  std::map<int, std::unique_ptr<ChildProcess>> agents_;
  int agent_port_ = 0;
  int admin_port_ = 0;
  int controller_starts_ = 0;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_WRITEBACK_ENV_H_
