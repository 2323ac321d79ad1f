// The pieces every agent integration test needs: a real Samba AD DC, a
// TestController, and the real writeback-agent binary between them, all in
// the test's own network namespace (wb_add_dc_test).
//
//   AgentItEnv env;
//   ASSERT_OK(env.StartDc());
//   ASSERT_OK(env.StartController({}));
//   ASSERT_OK(env.StartAgent({}));        // returns once the agent is welcomed
//   auto users = env.dc().AddUsers(2, "cas");
//   size_t mark = env.AuditMark();
//   auto results = env.Run({CasJob("j1", (*users)[0], {{"extensionAttribute1", {}, {"v1"}}})});
//   auto modifies = env.ModifiesSince(mark, (*users)[0].dn);
//
// Not thread-safe; one per test (or per suite).
#ifndef WRITEBACK_TESTS_AGENT_AGENT_IT_AGENT_IT_ENV_H_
#define WRITEBACK_TESTS_AGENT_AGENT_IT_AGENT_IT_ENV_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/process.h"
#include "tests/harness/samba_dc.h"
#include "tests/harness/test_controller.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {

// One attribute change of a job: the whole `expected` set is deleted and
// `desired` added.
struct Change {
  std::string attribute;
  std::vector<std::string> expected;
  std::vector<std::string> desired;
};

// A job for `user` (anchor: its objectGUID) carrying `changes`.
v1::Job CasJob(const std::string& job_id, const SambaDc::User& user,
               const std::vector<Change>& changes, uint64_t generation = 1);

class AgentItEnv {
 public:
  struct AgentOptions {
    // ldap.urls in failover order; empty: the DC's own URL alone.
    std::vector<std::string> ldap_urls;
    // max_in_flight offered to the controller.
    int max_in_flight = 64;
    // ldap.timeout_ms.
    int ldap_timeout_ms = 3000;
    // Appended to the generated text-format AgentConfig.
    std::string extra_config;
    // Replaces the generated `ldap { ... }` block (simple bind as
    // Administrator over LDAPS) when not empty.
    std::string ldap_block;
  };

  AgentItEnv();
  ~AgentItEnv();  // Kills the agent, stops the controller and the DC.
  AgentItEnv(const AgentItEnv&) = delete;
  AgentItEnv& operator=(const AgentItEnv&) = delete;

  absl::Status StartDc();
  // options.cert_dir is filled in when empty.
  absl::Status StartController(TestController::Options options);
  // Writes the agent's config (scope OU=Mailboxes, simple bind as
  // Administrator over LDAPS with the test CA), spawns writeback-agent and
  // waits (hang guard 30 s) until the controller welcomed it.
  absl::Status StartAgent(const AgentOptions& options);

  SambaDc& dc() { return *dc_; }
  TestController& controller() { return *controller_; }
  ChildProcess& agent() { return *agent_; }
  const std::string& work_dir() const { return work_dir_; }
  std::string ScopeOu() const;  // OU=Mailboxes,<base>

  // Sends `jobs` in one batch and waits (hang guard `timeout`) for one result
  // per job; returns them by job id. Fails on a result for an unknown job.
  absl::StatusOr<std::map<std::string, v1::JobResult>> Run(
      const std::vector<v1::Job>& jobs, absl::Duration timeout = absl::Seconds(60));

  // Position in the DC's audit log: events after it are new.
  absl::StatusOr<size_t> AuditMark() const;
  // Modify events (any status, not performed as system) of `dn` (compared
  // ignoring case) logged after `mark`.
  absl::StatusOr<std::vector<SambaDc::AuditEvent>> ModifiesSince(size_t mark,
                                                                 const std::string& dn) const;

  // The tail of the agent's log, for failure messages.
  std::string AgentLog() const;

 private:
  std::string work_dir_;
  std::string cert_dir_;
  std::unique_ptr<SambaDc> dc_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<ChildProcess> agent_;
  int agent_starts_ = 0;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_AGENT_AGENT_IT_AGENT_IT_ENV_H_
