// Acceptance (trust issue, #1): the controller CA is rotated with
// overlapping trust while two enrolled agents work, and nothing is lost.
//
// With 20 s agent certificates: `writebackctl ca rotate` starts a rotation
// (a next CA); finishing at once is refused (FAILED_PRECONDITION naming the
// agents still on the old CA); the agents move to the new CA as they renew
// (`ca --json` lists none left on the old one); `ca rotate --finish` makes
// the next CA the serving one. Then agent-1's certificate of the old CA
// (its first, unless it renewed before the rotation; not yet expired) is
// refused on the agent stream while a certificate of the new CA is
// welcomed; a token made after the rotation pins the new CA and enrolls a
// third agent, which works. At the end every mailbox is IN_SYNC,
// AD holds the desired values, no work was lost or failed, writes only
// moved forward, and every live stream uses a certificate of the new CA.
//
// Forced: `ca rotate --finish --force` while an agent still holds only a
// certificate of the old CA cuts it off (its live stream ends, and it cannot
// come back until it enrolls again), as the Admin API promises.
#include <algorithm>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/identity/join_token.h"
#include "common/pki/x509.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/system/stream_probe.h"
#include "tests/system/trust_helpers.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kMailboxes = 20;
constexpr char kControllerConfig[] = "agent_cert_lifetime_s: 20\n";
constexpr char kProbeForest[] = "probe.example.test";

// `writebackctl ca --json`.
absl::StatusOr<v1::CertificateAuthority> CaJson(WritebackEnv& env) {
  CtlResult r = CtlKept(env, {"ca", "--json"});
  if (r.exit_code != 0) return absl::InternalError("ca --json failed: " + r.output);
  v1::CertificateAuthority ca;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto s = google::protobuf::util::JsonStringToMessage(r.output, &ca, options);
  if (!s.ok())
    return absl::InternalError(absl::StrCat("ca --json: ", s.ToString(), ": ", r.output));
  return ca;
}

// When agent-N renews next: half-way through the certificate in its state
// dir (agent/enroll/credentials.h RenewAt).
absl::StatusOr<absl::Time> RenewalDue(WritebackEnv& env, int n) {
  absl::StatusOr<std::string> pem = ReadFileToString(StateDir(env, n) + "/agent.pem");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<pki::CertificateInfo> info = pki::InspectCertificate(*pem);
  if (!info.ok()) return info.status();
  return info->not_before + (info->not_after - info->not_before) / 2;
}

// The certificates agents wrote to their state dirs (serial -> PEM),
// collected by polling.
struct Watch {
  std::map<std::string, std::string> written;
  void Poll(WritebackEnv& env, int agents) {
    for (int n = 1; n <= agents; ++n) {
      auto pem = ReadFileToString(StateDir(env, n) + "/agent.pem");
      if (!pem.ok()) continue;
      if (auto info = pki::InspectCertificate(*pem); info.ok()) written[info->serial] = *pem;
    }
  }
};

TEST(CaRotationTest, AgentsMoveToTheNewCaUnderLoadAndTheOldCaIsRefused) {
  WritebackEnv env;
  env.set_controller_ca_mode(true);
  env.set_controller_config(kControllerConfig);
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(std::vector<SambaDc::User> users, env.dc().AddUsers(kMailboxes));
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.Admin().AddForest(WritebackEnv::kForest, env.ScopeOu()));
  ASSERT_OK(EnrollAndStartAgent(env, 1)) << env.LogsForFailure();
  ASSERT_OK(EnrollAndStartAgent(env, 2)) << env.LogsForFailure();
  ASSERT_OK_AND_ASSIGN(const std::string old_ca_pem, ReadFileToString(env.ca_dir() + "/ca.pem"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(users));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 2, absl::Seconds(60)))
      << env.LogsForFailure();
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();  // onboarding

  ChangeStream changes(&env.Admin(), ids, "rotate");
  changes.Start();
  Watch watch;
  watch.Poll(env, 2);
  absl::SleepFor(absl::Seconds(1));
  // The rotation starts at least 4 s before either agent renews, so that
  // both are still on the old CA when finishing is tried at once, and
  // agent-1's certificate of the old CA (normally its first) is still valid
  // when it is tried after the rotation.
  for (absl::Time guard = absl::Now() + absl::Seconds(60);;) {
    ASSERT_OK_AND_ASSIGN(absl::Time due1, RenewalDue(env, 1));
    ASSERT_OK_AND_ASSIGN(absl::Time due2, RenewalDue(env, 2));
    if (std::min(due1, due2) > absl::Now() + absl::Seconds(4)) break;
    ASSERT_LT(absl::Now(), guard) << "hang guard: the agents do not renew" << env.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(250));
  }
  std::string old_key, old_cert;
  for (int attempt = 0; attempt < 3; ++attempt) {  // never a pair half-written
    ASSERT_OK_AND_ASSIGN(old_key, ReadPrivateFile(StateDir(env, 1) + "/agent.key"));
    ASSERT_OK_AND_ASSIGN(old_cert, ReadFileToString(StateDir(env, 1) + "/agent.pem"));
    if (pki::CheckKeyMatchesCertificate(old_key, old_cert).ok()) break;
  }
  ASSERT_OK(pki::CheckKeyMatchesCertificate(old_key, old_cert));
  ASSERT_OK(pki::CheckSignedBy(old_cert, old_ca_pem));
  ASSERT_OK_AND_ASSIGN(const pki::CertificateInfo old_info, pki::InspectCertificate(old_cert));

  // Start: a next CA appears.
  CtlResult rotate = CtlKept(env, {"ca", "rotate"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  ASSERT_OK_AND_ASSIGN(v1::CertificateAuthority started, GetCa(env));
  const std::string old_fingerprint = started.fingerprint();
  const std::string next = started.next_fingerprint();
  ASSERT_FALSE(next.empty()) << rotate.output;
  EXPECT_NE(next, old_fingerprint);
  EXPECT_THAT(rotate.output, HasSubstr(next));

  // Finishing now is refused, naming the agents still on the old CA.
  v1::RotateCertificateAuthorityRequest finish;
  finish.set_finish(true);
  v1::CertificateAuthority unused;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status early = env.Admin().stub().RotateCertificateAuthority(&context, finish, &unused);
  CtlResult early_ctl = CtlKept(env, {"ca", "rotate", "--finish"});
  ASSERT_OK_AND_ASSIGN(v1::CertificateAuthority after_refusal, GetCa(env));
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << early.error_message();
  EXPECT_THAT(early.error_message(), HasSubstr("still hold certificates of the old CA"));
  // Agents only ever leave the list: those still on it were on it then.
  EXPECT_FALSE(after_refusal.agents_on_old_ca().empty())
      << "both agents renewed within milliseconds of the rotation: the refusal proves little";
  for (const std::string& agent : after_refusal.agents_on_old_ca()) {
    EXPECT_THAT(early.error_message(), HasSubstr(agent));
    EXPECT_THAT(early_ctl.output, HasSubstr(agent));
  }
  EXPECT_EQ(early_ctl.exit_code, 1) << early_ctl.output;
  EXPECT_EQ(after_refusal.fingerprint(), old_fingerprint) << "the refused finish changed the CA";
  EXPECT_EQ(after_refusal.next_fingerprint(), next);
  CtlResult during = CtlKept(env, {"ca"});
  EXPECT_THAT(during.output, HasSubstr("under way: new CA " + next)) << during.output;

  // The agents move over as they renew (half of 20 s).
  absl::Time guard = absl::Now() + absl::Seconds(90);
  while (true) {
    ASSERT_OK_AND_ASSIGN(v1::CertificateAuthority ca, CaJson(env));
    ASSERT_EQ(ca.next_fingerprint(), next);
    if (ca.agents_on_old_ca().empty()) break;
    ASSERT_LT(absl::Now(), guard) << "hang guard: still on the old CA: "
                                  << absl::StrJoin(ca.agents_on_old_ca(), ", ")
                                  << env.LogsForFailure();
    watch.Poll(env, 2);
    absl::SleepFor(absl::Milliseconds(250));
  }

  CtlResult finished = CtlKept(env, {"ca", "rotate", "--finish"});
  ASSERT_EQ(finished.exit_code, 0) << finished.output;
  EXPECT_THAT(finished.output, HasSubstr(next));
  CtlResult shown = CtlKept(env, {"ca"});
  EXPECT_THAT(shown.output, HasSubstr("CA fingerprint (sha256)  " + next)) << shown.output;
  ASSERT_OK_AND_ASSIGN(v1::CertificateAuthority ca, CaJson(env));
  EXPECT_EQ(ca.fingerprint(), next);
  EXPECT_TRUE(ca.next_fingerprint().empty());
  ASSERT_OK_AND_ASSIGN(const std::string new_ca_pem, ReadFileToString(env.ca_dir() + "/ca.pem"));
  ASSERT_OK_AND_ASSIGN(std::string new_ca_fingerprint, pki::Fingerprint(new_ca_pem));
  ASSERT_EQ(new_ca_fingerprint, next) << env.ca_dir() << "/ca.pem is not the former next CA";

  // The old CA is no longer trusted: agent-1's certificate of the old CA,
  // still within its validity, is refused on the agent stream (the listener
  // re-reads its trust every second) ...
  absl::SleepFor(absl::Seconds(2));
  const absl::Time probed = absl::Now();
  StreamProbe old_attempt = ProbeAgentStream(env.agent_port(), new_ca_pem, old_cert, old_key);
  EXPECT_FALSE(old_attempt.welcomed) << "a certificate of the retired CA was welcomed";
  EXPECT_FALSE(old_attempt.status.ok());
  std::cout << "old certificate " << old_info.serial << " (valid until "
            << absl::FormatTime(old_info.not_after) << "): " << old_attempt.status.error_code()
            << " " << old_attempt.status.error_message() << std::endl;
  EXPECT_LT(probed, old_info.not_after)
      << "the old certificate had expired when it was tried: its refusal proves nothing about "
         "the CA";
  // ... while a certificate of the new CA is welcomed by the same client
  // (an agent of a forest of its own, so it is given no work).
  ASSERT_OK(env.Admin().AddForest(kProbeForest, "OU=Probe," + env.dc().base_dn()));
  const std::string probe_dir = env.work_dir() + "/state-probe";
  CtlResult probe_token = CtlKept(env, {"token", "create", absl::StrCat("--forest=", kProbeForest),
                                        "--output=" + env.work_dir() + "/token-probe"});
  ASSERT_EQ(probe_token.exit_code, 0) << probe_token.output;
  CtlResult probe_enrolled =
      RunEnroll(env, "probe", probe_dir, {"--token_file=" + env.work_dir() + "/token-probe"});
  ASSERT_EQ(probe_enrolled.exit_code, 0) << probe_enrolled.output;
  ASSERT_OK_AND_ASSIGN(std::string probe_cert, ReadFileToString(probe_dir + "/agent.pem"));
  ASSERT_OK_AND_ASSIGN(std::string probe_key, ReadPrivateFile(probe_dir + "/agent.key"));
  StreamProbe probe = ProbeAgentStream(env.agent_port(), new_ca_pem, probe_cert, probe_key);
  EXPECT_TRUE(probe.welcomed) << "positive control failed: " << probe.status.error_message();

  // Work goes on under the new CA; a token made now pins it and enrolls a
  // third agent, which takes its share.
  for (absl::Time until = absl::Now() + absl::Seconds(8); absl::Now() < until;) {
    watch.Poll(env, 2);
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_OK_AND_ASSIGN(std::string token, CreateTokenFile(env, env.work_dir() + "/token-agent-3"));
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(token));
  EXPECT_EQ(parts.pin, next) << "a token made after the rotation pins the old CA";
  CtlResult enrolled = RunEnroll(env, AgentId(3), StateDir(env, 3),
                                 {"--token_file=" + env.work_dir() + "/token-agent-3"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  WritebackEnv::AgentOptions third;
  third.state_dir = StateDir(env, 3);
  ASSERT_OK(env.StartAgent(3, third));
  ASSERT_OK(env.Admin().WaitConnectedAgents(WritebackEnv::kForest, 3, absl::Seconds(60)))
      << env.LogsForFailure();
  for (absl::Time until = absl::Now() + absl::Seconds(5); absl::Now() < until;) {
    watch.Poll(env, 3);
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_OK(changes.Stop());
  std::cout << changes.changes() << " changes" << std::endl;

  EXPECT_OK(CheckWorkReachedAd(env, users, changes)) << env.LogsForFailure();
  v1::ListProvisioningLogRequest by_third;
  by_third.set_agent_id(AgentId(3));
  by_third.set_kind("job");
  ASSERT_OK_AND_ASSIGN(int third_jobs, env.Admin().CountLog(by_third, 1));
  EXPECT_EQ(third_jobs, 1) << "agent-3 carried out no job";

  // Every live stream uses a certificate the agent wrote, issued by the new
  // CA and not by the old one.
  watch.Poll(env, 3);
  for (int n = 1; n <= 3; ++n) {
    ASSERT_OK_AND_ASSIGN(v1::Agent agent, WaitOneLiveStream(env, AgentId(n), absl::Seconds(30)));
    watch.Poll(env, 3);
    for (const std::string& serial : agent.session_cert_serials()) {
      auto pem = watch.written.find(serial);
      ASSERT_NE(pem, watch.written.end())
          << AgentId(n) << " streams with certificate " << serial << ", never in its state dir";
      EXPECT_OK(pki::CheckSignedBy(pem->second, new_ca_pem)) << AgentId(n) << " " << serial;
      EXPECT_FALSE(pki::CheckSignedBy(pem->second, old_ca_pem).ok())
          << AgentId(n) << " streams with certificate " << serial << " of the old CA";
    }
  }
}

TEST(CaRotationTest, ForcedFinishCutsOffAgentsStillOnTheOldCa) {
  WritebackEnv env;
  env.set_controller_ca_mode(true);
  env.set_controller_config("agent_cert_lifetime_s: 3600\n");  // no renewal during the test
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.Admin().AddForest(WritebackEnv::kForest, env.ScopeOu()));
  ASSERT_OK(EnrollAndStartAgent(env, 1)) << env.LogsForFailure();
  ASSERT_OK(WaitOneLiveStream(env, AgentId(1), absl::Seconds(60)).status()) << env.LogsForFailure();

  CtlResult rotate = CtlKept(env, {"ca", "rotate"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  CtlResult refused = CtlKept(env, {"ca", "rotate", "--finish"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr(AgentId(1)));
  CtlResult forced = CtlKept(env, {"ca", "rotate", "--finish", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.output;

  // Its stream is cut ...
  absl::Time guard = absl::Now() + absl::Seconds(15);
  while (true) {
    ASSERT_OK_AND_ASSIGN(v1::Agent agent, GetAgent(env, AgentId(1)));
    if (agent.session_cert_serials().empty()) break;
    ASSERT_LT(absl::Now(), guard) << "hang guard: " << AgentId(1)
                                  << " still streams with certificate "
                                  << agent.session_cert_serials(0)
                                  << " of the retired CA after a forced finish"
                                  << env.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(100));
  }
  // ... and it does not come back (it reconnects within 2 s when it can).
  absl::SleepFor(absl::Seconds(4));
  ASSERT_OK_AND_ASSIGN(v1::Agent agent, GetAgent(env, AgentId(1)));
  EXPECT_TRUE(agent.session_cert_serials().empty())
      << AgentId(1) << " came back with " << agent.session_cert_serials(0);
  EXPECT_NE(agent.state(), "connected");

  // Enrolled again (a token of the new CA), it is back.
  ASSERT_OK(env.StopAgent(1));
  ASSERT_OK(EnrollAndStartAgent(env, 1)) << env.LogsForFailure();
  ASSERT_OK_AND_ASSIGN(agent, WaitOneLiveStream(env, AgentId(1), absl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(std::string cert, ReadFileToString(StateDir(env, 1) + "/agent.pem"));
  ASSERT_OK_AND_ASSIGN(std::string ca_pem, ReadFileToString(env.ca_dir() + "/ca.pem"));
  EXPECT_OK(pki::CheckSignedBy(cert, ca_pem));
}

}  // namespace
}  // namespace writeback::testing
