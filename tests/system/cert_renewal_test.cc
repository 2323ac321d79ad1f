// Acceptance (trust issue, #1): enrolled agents renew their certificates at
// half-life while they work, and no job is lost, failed or redelivered.
//
// The controller runs its own CA with 30 s agent certificates; two agents
// join by enrollment; for 90 s a mailbox changes every 200 ms (cycling over
// 20). ListAgents is polled every 250 ms for the serials of each agent's
// live streams: each agent must have streamed with at least three
// certificates (the first and two renewals), each one a certificate it wrote
// to its state directory, which ends with a new key and certificate, still
// mode 0600. At the end every mailbox is IN_SYNC and AD holds the desired
// values (LDAP search); the provisioning log has no "lost" record and no job
// answered otherwise than APPLIED or ALREADY_IN_STATE; the DC's audit log
// shows writes only moving to newer generations.
#include <sys/stat.h>

#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/pki/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/trust_helpers.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

constexpr int kAgents = 2;
constexpr int kMailboxes = 20;
constexpr absl::Duration kWork = absl::Seconds(90);
constexpr char kControllerConfig[] = "agent_cert_lifetime_s: 30\n";

std::string Octal(mode_t mode) {
  return absl::StrCat((mode >> 9) & 7, (mode >> 6) & 7, (mode >> 3) & 7, mode & 7);
}

std::string ModeOctal(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "missing";
  return Octal(st.st_mode & 07777);
}

// What one agent showed during the run.
struct Seen {
  std::string first_key, first_cert;
  std::set<std::string> session_serials;       // from ListAgents
  std::map<std::string, std::string> written;  // serial -> PEM in the state dir
  std::set<std::string> bad_modes;             // "agent.key 0644"
  int polls_with_session = 0;
};

void Observe(WritebackEnv& env, int n, Seen* seen) {
  const std::string dir = StateDir(env, n);
  for (const char* file : {"agent.key", "agent.pem", "ca.pem"}) {
    std::string mode = ModeOctal(dir + "/" + file);
    if (mode != "0600") seen->bad_modes.insert(absl::StrCat(file, " ", mode));
  }
  // The previous key, kept until the next renewal, is as private.
  if (std::string mode = ModeOctal(dir + "/agent.key.old"); mode != "missing" && mode != "0600") {
    seen->bad_modes.insert(absl::StrCat("agent.key.old ", mode));
  }
  if (std::string mode = ModeOctal(dir); mode != "0700") {
    seen->bad_modes.insert(absl::StrCat("state dir ", mode));
  }
  if (auto pem = ReadFileToString(dir + "/agent.pem"); pem.ok()) {
    if (auto info = pki::InspectCertificate(*pem); info.ok()) seen->written[info->serial] = *pem;
  }
  if (auto agent = GetAgent(env, AgentId(n)); agent.ok()) {
    seen->polls_with_session += agent->session_cert_serials_size() > 0;
    for (const std::string& s : agent->session_cert_serials()) seen->session_serials.insert(s);
  }
}

TEST(CertRenewalTest, AgentsRenewAtHalfLifeUnderLoadWithoutLosingWork) {
  WritebackEnv env;
  env.set_controller_ca_mode(true);
  env.set_controller_config(kControllerConfig);
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(std::vector<SambaDc::User> users, env.dc().AddUsers(kMailboxes));
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.Admin().AddForest(WritebackEnv::kForest, env.ScopeOu()));

  std::map<int, Seen> seen;
  for (int n = 1; n <= kAgents; ++n) {
    ASSERT_OK(EnrollAndStartAgent(env, n)) << env.LogsForFailure();
    ASSERT_OK_AND_ASSIGN(seen[n].first_key, ReadPrivateFile(StateDir(env, n) + "/agent.key"));
    ASSERT_OK_AND_ASSIGN(seen[n].first_cert, ReadFileToString(StateDir(env, n) + "/agent.pem"));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(users));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, kAgents, absl::Seconds(60)))
      << env.LogsForFailure();
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();  // onboarding

  ChangeStream changes(&env.Admin(), ids, "renew");
  changes.Start();
  const absl::Time end = absl::Now() + kWork;
  int polls = 0;
  while (absl::Now() < end) {
    for (int n = 1; n <= kAgents; ++n) Observe(env, n, &seen[n]);
    ++polls;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_OK(changes.Stop());
  std::cout << changes.changes() << " changes in " << absl::FormatDuration(kWork) << ", " << polls
            << " polls" << std::endl;

  EXPECT_OK(CheckWorkReachedAd(env, users, changes)) << env.LogsForFailure();

  for (int n = 1; n <= kAgents; ++n) {
    const Seen& s = seen[n];
    const std::string dir = StateDir(env, n);
    std::cout << AgentId(n) << ": streamed with " << s.session_serials.size() << " certificates ("
              << absl::StrJoin(s.session_serials, ", ") << "); wrote " << s.written.size()
              << "; a session in " << s.polls_with_session << " of " << polls << " polls"
              << std::endl;
    // The first certificate and at least two renewed ones carried streams.
    EXPECT_GE(s.session_serials.size(), 3u) << AgentId(n) << env.LogsForFailure();
    // Each stream's certificate is one the agent wrote to its state dir.
    for (const std::string& serial : s.session_serials) {
      EXPECT_TRUE(s.written.count(serial) > 0) << AgentId(n) << " streamed with certificate "
                                               << serial << ", which never appeared in " << dir;
    }
    // A new key and certificate, private all along.
    std::string key, cert;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a renewal may be writing the pair
      ASSERT_OK_AND_ASSIGN(key, ReadPrivateFile(dir + "/agent.key"));
      ASSERT_OK_AND_ASSIGN(cert, ReadFileToString(dir + "/agent.pem"));
      if (pki::CheckKeyMatchesCertificate(key, cert).ok()) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_NE(key, s.first_key) << AgentId(n) << ": the key was never replaced";
    EXPECT_NE(cert, s.first_cert) << AgentId(n) << ": the certificate was never replaced";
    EXPECT_OK(pki::CheckKeyMatchesCertificate(key, cert)) << AgentId(n);
    EXPECT_THAT(s.bad_modes, ::testing::IsEmpty()) << AgentId(n) << " in " << dir;
    EXPECT_EQ(ModeOctal(dir + "/agent.key"), "0600");
    EXPECT_EQ(ModeOctal(dir + "/agent.pem"), "0600");
    // Still connected at the end, on one stream.
    EXPECT_OK(WaitOneLiveStream(env, AgentId(n), absl::Seconds(30)).status());
  }
}

}  // namespace
}  // namespace writeback::testing
