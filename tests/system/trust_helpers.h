// Enrollment and trust for system tests (DESIGN §7): join tokens through
// writebackctl, `writeback-agent enroll` into a state directory, agents
// started with their enrolled identity, and a steady stream of mailbox
// changes whose end state is checked against AD, the provisioning log and
// the DC's audit log.
//
//   WritebackEnv env;
//   env.set_controller_ca_mode(true);
//   ... StartDc, StartController, AddForest ...
//   ASSERT_OK(EnrollAndStartAgent(env, 1));      // agent-1, StateDir(env, 1)
//   ChangeStream changes(&env.Admin(), ids, "renew");
//   changes.Start();
//   ... the scenario ...
//   ASSERT_OK(changes.Stop());
//   EXPECT_OK(CheckWorkReachedAd(env, users, changes));
#ifndef WRITEBACK_TESTS_SYSTEM_TRUST_HELPERS_H_
#define WRITEBACK_TESTS_SYSTEM_TRUST_HELPERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/system/writeback_env.h"

namespace writeback::testing {

std::string AgentId(int n);                            // "agent-N"
std::string StateDir(const WritebackEnv& env, int n);  // <work dir>/state-agent-N

// Runs writebackctl (WritebackEnv::Ctl) and keeps its output in
// <work dir>/ctl-out-K.txt (Ctl reuses one file per call).
CtlResult CtlKept(WritebackEnv& env, const std::vector<std::string>& args);

// `writebackctl token create --forest=<kForest> --output=PATH`; returns the
// token read back from PATH.
absl::StatusOr<std::string> CreateTokenFile(WritebackEnv& env, const std::string& path);

// `writeback-agent enroll --controller=<address> --agent_id=ID
// --state_dir=DIR` plus `token_args` (--token_file=F or --token=T), its
// output appended to <work dir>/enroll-ID.log. Hang guard 60 s. `address`
// empty: the controller's enrollment port.
CtlResult RunEnroll(WritebackEnv& env, const std::string& agent_id, const std::string& state_dir,
                    const std::vector<std::string>& token_args, const std::string& address = "");

// Starts the writeback-agent binary with `args` (output appended to
// `log_file`), e.g. an enroll the test holds and inspects.
absl::StatusOr<std::unique_ptr<ChildProcess>> SpawnAgentBinary(const std::vector<std::string>& args,
                                                               const std::string& log_file);

// A new token (<work dir>/token-agent-N), enrollment of agent-N into
// StateDir(env, N), then WritebackEnv::StartAgent(N) with that state_dir.
absl::Status EnrollAndStartAgent(WritebackEnv& env, int n, WritebackEnv::AgentOptions options = {});

// ListAgents, the agent with this id (kNotFound otherwise).
absl::StatusOr<v1::Agent> GetAgent(WritebackEnv& env, const std::string& agent_id);
absl::StatusOr<v1::CertificateAuthority> GetCa(WritebackEnv& env);
// Polls until the agent is "connected" with exactly one live stream (a
// renewal briefly shows it draining, between streams or with two).
absl::StatusOr<v1::Agent> WaitOneLiveStream(WritebackEnv& env, const std::string& agent_id,
                                            absl::Duration guard);

// The lines between "-----BEGIN" and "-----END" of a PEM, longest first.
std::vector<std::string> PemBodyLines(const std::string& pem);

// Changes extensionAttribute1 of one mailbox every `period` on its own
// thread, cycling over `ids`, each value unique ("<prefix>-<i>-<n>"), and
// records the generation (desired_gen) each value was accepted with.
// Not copyable.
class ChangeStream {
 public:
  ChangeStream(AdminClient* admin, std::vector<std::string> ids, std::string prefix,
               absl::Duration period = absl::Milliseconds(200));
  ~ChangeStream();  // Stops.
  ChangeStream(const ChangeStream&) = delete;
  ChangeStream& operator=(const ChangeStream&) = delete;

  void Start();
  // Joins the thread; the first failed change, if any.
  absl::Status Stop();

  int changes() const;
  const std::vector<std::string>& ids() const { return ids_; }
  // After Stop(): the last value accepted for mailbox i ("" if none), and
  // each value's generations, as WritesMoveForward takes them.
  std::string last_value(size_t i) const;
  std::map<std::string, std::set<uint64_t>> generations(size_t i) const;

 private:
  void Run();

  AdminClient* const admin_;
  const std::vector<std::string> ids_;
  const std::string prefix_;
  const absl::Duration period_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  int changes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> last_ ABSL_GUARDED_BY(mu_);
  std::vector<std::map<std::string, std::set<uint64_t>>> generations_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// After the changes stopped: waits (hang guard 3 min) until every mailbox
// is IN_SYNC with applied_gen == desired_gen, then checks that AD (one LDAP
// search) holds each mailbox's last value, that the provisioning log has no
// "lost" record, no job answered twice and no job answered otherwise than
// APPLIED or ALREADY_IN_STATE, that no drift was recorded (nobody else writes), and
// that the DC's audit log shows the writes of each object only moving to
// newer generations. `users[i]` is the object of changes.ids()[i].
// kFailedPrecondition listing every finding.
absl::Status CheckWorkReachedAd(WritebackEnv& env, const std::vector<SambaDc::User>& users,
                                const ChangeStream& changes);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_TRUST_HELPERS_H_
