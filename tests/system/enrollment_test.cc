// Acceptance (issue 6, #1): agents join with single-use join tokens and
// short-lived certificates from the controller's own CA, and only those
// certificates get a stream.
//  - A valid token enrolls an agent (key made locally, files 0600, the
//    identity URI, 7 days by default) that then writes to AD.
//  - A used, expired, revoked, other-forest or tampered token is refused
//    with a message saying why, and nothing is written to the state dir; a
//    token whose CA pin was altered is never even sent.
//  - A certificate from another CA, a self-signed one and an expired one
//    from the controller's own CA get no stream.
//  - `agent revoke` cuts the live stream within 5 s (hang guard), the agent
//    is refused from then on and nothing more is written; enrolling again
//    with a new token lets it back.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base/files.h"
#include "common/pki/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/stream_probe.h"
#include "tests/system/trust_helpers.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/shell.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

namespace v1 = writeback::v1;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kOtherForest[] = "other.example.test";

class EnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(env_.StartDc());
    env_.set_controller_ca_mode(true);
    ASSERT_OK(env_.StartController());
    ASSERT_OK(env_.AddForest());
  }

  // A join token written (0600) to a file of its own; returns the path.
  std::string NewToken(const std::string& forest = WritebackEnv::kForest,
                       const std::string& ttl = "1h") {
    std::string path = absl::StrCat(env_.work_dir(), "/token-", ++tokens_);
    CtlResult r = Ctl({"token", "create", "--forest=" + forest, "--ttl=" + ttl,
                       "--output=" + path});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return path;
  }
  std::string Read(const std::string& path) {
    return std::string(absl::StripAsciiWhitespace(ReadFileToString(path).value_or("")));
  }
  std::string StateDir(const std::string& name) { return env_.work_dir() + "/state-" + name; }
  bool Exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
  }
  CtlResult Ctl(const std::vector<std::string>& args) { return env_.Ctl(args); }
  std::string TrustPem() { return Read(env_.ca_dir() + "/trust.pem"); }
  StreamProbe Probe(const std::string& cert, const std::string& key) {
    return ProbeAgentStream(env_.agent_port(), TrustPem(), cert, key);
  }
  // The agent's live stream serials as the controller lists them.
  std::vector<std::string> SessionSerials(const std::string& agent_id) {
    absl::StatusOr<v1::Agent> agent = GetAgent(env_, agent_id);
    if (!agent.ok()) return {};
    return {agent->session_cert_serials().begin(), agent->session_cert_serials().end()};
  }
  // Registers `n` users as mailboxes and gives each a first value; waits.
  std::vector<SambaDc::User> Onboard(int n) {
    auto users = env_.dc().AddUsers(n);
    EXPECT_OK(users.status());
    auto ids = env_.AddMailboxes(*users);
    EXPECT_OK(ids.status());
    for (const std::string& id : *ids) {
      EXPECT_OK(env_.Admin().UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "first")})
                    .status());
    }
    EXPECT_OK(env_.Admin().WaitAllInSync(absl::Minutes(2))) << env_.LogsForFailure();
    return *users;
  }
  std::string ExtensionAttribute1(const SambaDc::User& user) {
    auto found = env_.dc().Search(user.dn, "(objectClass=*)", {"extensionAttribute1"});
    if (!found.ok() || found->empty()) return "(unreadable)";
    auto attrs = found->begin()->second;
    auto it = attrs.find("extensionAttribute1");
    return it == attrs.end() || it->second.empty() ? "" : it->second.front();
  }

  WritebackEnv env_;
  int tokens_ = 0;
};

TEST_F(EnrollmentTest, AValidTokenEnrollsAnAgentThatThenWrites) {
  const std::string token_file = NewToken();
  struct stat st;
  ASSERT_EQ(stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The pin the token carries is the CA's fingerprint as writebackctl and
  // openssl show it.
  ASSERT_OK_AND_ASSIGN(std::string ca_pem, ReadFileToString(env_.ca_dir() + "/ca.pem"));
  ASSERT_OK_AND_ASSIGN(std::string fingerprint, pki::Fingerprint(ca_pem));
  std::vector<std::string> parts = absl::StrSplit(Read(token_file), '.');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[3], fingerprint);
  CtlResult ca = Ctl({"ca"});
  EXPECT_EQ(ca.exit_code, 0) << ca.output;
  EXPECT_THAT(ca.output, HasSubstr(fingerprint));
  ShellResult openssl =
      RunShell("openssl x509 -noout -fingerprint -sha256 -in " + env_.ca_dir() + "/ca.pem");
  std::string theirs = openssl.output.substr(openssl.output.find('=') + 1);
  theirs.erase(std::remove(theirs.begin(), theirs.end(), ':'), theirs.end());
  EXPECT_EQ(absl::AsciiStrToLower(absl::StripAsciiWhitespace(theirs)), fingerprint);

  const std::string dir = StateDir("a1");
  CtlResult enrolled = RunEnroll(env_, "enrolled-1", dir, {"--token_file=" + token_file});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output << env_.LogsForFailure();
  for (const char* file : {"agent.key", "agent.pem", "ca.pem"}) {
    ASSERT_EQ(stat((dir + "/" + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  ASSERT_OK_AND_ASSIGN(std::string cert, ReadFileToString(dir + "/agent.pem"));
  ASSERT_OK_AND_ASSIGN(pki::CertificateInfo info, pki::InspectCertificate(cert));
  EXPECT_THAT(info.uri_sans,
              ::testing::ElementsAre("writeback://forest/corp.example.test/agent/enrolled-1"));
  EXPECT_OK(pki::CheckSignedBy(cert, ca_pem));
  EXPECT_OK(pki::CheckKeyMatchesCertificate(Read(dir + "/agent.key") + "\n", cert));
  const absl::Duration left = info.not_after - absl::Now();
  EXPECT_GT(left, absl::Hours(24 * 7) - absl::Minutes(5));
  EXPECT_LE(left, absl::Hours(24 * 7));

  ASSERT_OK(env_.StartAgent(1, {.state_dir = dir}));
  ASSERT_OK(env_.Admin().WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Seconds(30)))
      << env_.LogsForFailure();
  EXPECT_THAT(SessionSerials("enrolled-1"), ::testing::ElementsAre(info.serial));
  std::vector<SambaDc::User> users = Onboard(2);
  for (const auto& u : users) EXPECT_EQ(ExtensionAttribute1(u), "first");
}

TEST_F(EnrollmentTest, TokensThatMustNotEnrollAreRefusedSayingWhy) {
  // Used: a token redeemed once is refused the second time.
  const std::string once = NewToken();
  ASSERT_EQ(RunEnroll(env_, "first", StateDir("first"), {"--token_file=" + once}).exit_code, 0);
  CtlResult reused = RunEnroll(env_, "second", StateDir("second"), {"--token_file=" + once});
  EXPECT_NE(reused.exit_code, 0);
  EXPECT_THAT(reused.output, HasSubstr("already used"));
  EXPECT_FALSE(Exists(StateDir("second") + "/agent.pem"));

  // Expired.
  const std::string brief = NewToken(WritebackEnv::kForest, "1s");
  absl::SleepFor(absl::Milliseconds(1500));
  CtlResult expired = RunEnroll(env_, "late", StateDir("late"), {"--token_file=" + brief});
  EXPECT_NE(expired.exit_code, 0);
  EXPECT_THAT(expired.output, HasSubstr("expired"));
  EXPECT_FALSE(Exists(StateDir("late") + "/agent.pem"));

  // For another forest.
  ASSERT_OK(env_.Admin().AddForest(kOtherForest, env_.ScopeOu()));
  const std::string other = NewToken(kOtherForest);
  CtlResult wrong_forest = RunEnroll(env_, "stray", StateDir("stray"), {"--token_file=" + other, absl::StrCat("--forest=", WritebackEnv::kForest)});
  EXPECT_NE(wrong_forest.exit_code, 0);
  EXPECT_THAT(wrong_forest.output, HasSubstr("is for forest other.example.test"));
  EXPECT_FALSE(Exists(StateDir("stray") + "/agent.pem"));

  // Revoked before use.
  const std::string revoked = NewToken();
  const std::vector<std::string> revoked_parts = absl::StrSplit(Read(revoked), '.');
  const std::string revoked_id = revoked_parts.at(1);
  ASSERT_EQ(Ctl({"token", "revoke", revoked_id}).exit_code, 0);
  CtlResult was_revoked = RunEnroll(env_, "nope", StateDir("nope"), {"--token_file=" + revoked});
  EXPECT_NE(was_revoked.exit_code, 0);
  EXPECT_THAT(was_revoked.output, HasSubstr("revoked"));

  // Tampered secret: not recognised (the same answer as an unknown token).
  const std::string valid = NewToken();
  std::string text = Read(valid);
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  std::string secret = parts[2];
  secret[5] = secret[5] == 'A' ? 'B' : 'A';
  const std::string tampered_secret = env_.work_dir() + "/tampered-secret";
  ASSERT_OK(WritePrivateFileAtomically(
      tampered_secret, absl::StrCat(parts[0], ".", parts[1], ".", secret, ".", parts[3])));
  CtlResult bad_secret = RunEnroll(env_, "forger", StateDir("forger"), {"--token_file=" + tampered_secret});
  EXPECT_NE(bad_secret.exit_code, 0);
  EXPECT_THAT(bad_secret.output, HasSubstr("not recognised"));
  EXPECT_THAT(bad_secret.output, Not(HasSubstr(secret)));

  // Tampered pin: the agent does not trust the server and sends nothing, so
  // the genuine token stays valid and still enrolls afterwards.
  std::string pin = parts[3];
  pin[0] = pin[0] == 'a' ? 'b' : 'a';
  const std::string tampered_pin = env_.work_dir() + "/tampered-pin";
  ASSERT_OK(WritePrivateFileAtomically(
      tampered_pin, absl::StrCat(parts[0], ".", parts[1], ".", parts[2], ".", pin)));
  CtlResult bad_pin = RunEnroll(env_, "mitm", StateDir("mitm"), {"--token_file=" + tampered_pin});
  EXPECT_NE(bad_pin.exit_code, 0);
  EXPECT_THAT(bad_pin.output, HasSubstr("does not have the CA this join token pins"));
  EXPECT_FALSE(Exists(StateDir("mitm") + "/agent.pem"));

  CtlResult list = Ctl({"token", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  // A table: columns as wide as their widest cell (the other forest's name).
  EXPECT_THAT(list.output, ContainsRegex(parts[1] + " +corp\\.example\\.test +valid "));
  EXPECT_THAT(list.output, ContainsRegex(revoked_id + " +corp\\.example\\.test +revoked "));
  EXPECT_THAT(list.output, ContainsRegex(" +expired +"));
  EXPECT_THAT(list.output, ContainsRegex(" +used +"));
  EXPECT_THAT(list.output, Not(HasSubstr(parts[2])));  // never a secret

  CtlResult genuine = RunEnroll(env_, "genuine", StateDir("genuine"), {"--token_file=" + valid});
  EXPECT_EQ(genuine.exit_code, 0) << genuine.output;
}

TEST_F(EnrollmentTest, ForeignSelfSignedAndExpiredCertificatesGetNoStream) {
  const std::string dir = StateDir("good");
  ASSERT_EQ(RunEnroll(env_, "good", dir, {"--token_file=" + NewToken()}).exit_code, 0);
  // Positive control: the enrolled identity is welcomed.
  StreamProbe good = Probe(Read(dir + "/agent.pem") + "\n", Read(dir + "/agent.key") + "\n");
  EXPECT_TRUE(good.welcomed) << good.status.error_message();

  const std::string uri = "writeback://forest/corp.example.test/agent/intruder";
  auto issue = [&](const pki::Authority& ca, absl::Time from, absl::Time to,
                   std::string* key) -> std::string {
    *key = *pki::NewPrivateKeyPem();
    pki::Profile p;
    p.common_name = "intruder";
    p.uri_sans = {uri};
    p.client_auth = true;
    p.not_before = from;
    p.not_after = to;
    auto cert = pki::IssueFromCsr(ca, *pki::NewCsrPem(*key, "intruder"), p);
    EXPECT_OK(cert.status());
    return cert.value_or("");
  };
  const absl::Time now = absl::Now();

  // Another CA.
  ASSERT_OK_AND_ASSIGN(pki::Authority rogue,
                       pki::NewAuthority("rogue CA", now - absl::Hours(1), now + absl::Hours(24)));
  std::string key;
  std::string cert = issue(rogue, now - absl::Minutes(1), now + absl::Hours(1), &key);
  StreamProbe foreign = Probe(cert, key);
  EXPECT_FALSE(foreign.welcomed);
  EXPECT_EQ(foreign.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << foreign.status.error_message();

  // Self-signed, with the right identity.
  const std::string self = env_.work_dir() + "/self";
  ShellResult made = RunShell(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
      "/CN=intruder -addext subjectAltName=URI:",
      uri, " -addext extendedKeyUsage=clientAuth -keyout ", self, ".key -out ", self, ".pem"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  StreamProbe self_signed = Probe(Read(self + ".pem") + "\n", Read(self + ".key") + "\n");
  EXPECT_FALSE(self_signed.welcomed);
  EXPECT_EQ(self_signed.status.error_code(), grpc::StatusCode::UNAVAILABLE);

  // Expired, although from the controller's own CA.
  pki::Authority own{Read(env_.ca_dir() + "/ca.pem") + "\n", Read(env_.ca_dir() + "/ca.key") + "\n"};
  cert = issue(own, now - absl::Hours(2), now - absl::Hours(1), &key);
  StreamProbe expired = Probe(cert, key);
  EXPECT_FALSE(expired.welcomed);
  EXPECT_EQ(expired.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The same CA and identity, current: welcomed (so expiry was the reason).
  cert = issue(own, now - absl::Minutes(1), now + absl::Hours(1), &key);
  EXPECT_TRUE(Probe(cert, key).welcomed);
}

TEST_F(EnrollmentTest, RevocationCutsTheLiveStreamAndRefusesTheAgentFromThenOn) {
  const std::string dir = StateDir("r1");
  ASSERT_EQ(RunEnroll(env_, "revoked-1", dir, {"--token_file=" + NewToken()}).exit_code, 0);
  ASSERT_OK(env_.StartAgent(1, {.state_dir = dir}));
  ASSERT_OK(env_.Admin().WaitConnectedAgents(WritebackEnv::kForest, 1, absl::Seconds(30)))
      << env_.LogsForFailure();
  std::vector<SambaDc::User> users = Onboard(1);
  const std::string id = WritebackEnv::CloudId(1);

  const absl::Time revoked_at = absl::Now();
  CtlResult revoke = Ctl({"agent", "revoke", "revoked-1", "--reason=server retired"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  // The live stream is gone within 5 s (hang guard).
  while (!SessionSerials("revoked-1").empty()) {
    ASSERT_LT(absl::Now() - revoked_at, absl::Seconds(5)) << env_.LogsForFailure();
    absl::SleepFor(absl::Milliseconds(50));
  }
  // It keeps being refused (the agent retries), and the agent learns why.
  StreamProbe again = Probe(Read(dir + "/agent.pem") + "\n", Read(dir + "/agent.key") + "\n");
  EXPECT_FALSE(again.welcomed);
  EXPECT_EQ(again.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(again.status.error_message(), HasSubstr("revoked"));
  EXPECT_THAT(again.status.error_message(), HasSubstr("writeback-agent enroll"));

  // A change made now is not written while the agent is revoked.
  ASSERT_OK(env_.Admin().UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "second")})
                .status());
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(ExtensionAttribute1(users[0]), "first");
  ASSERT_OK_AND_ASSIGN(v1::Mailbox m, env_.Admin().GetMailbox(id));
  EXPECT_NE(m.status(), v1::IN_SYNC);
  ASSERT_OK_AND_ASSIGN(std::string agent_log, ReadFileToString(env_.agent(1).log_file()));
  EXPECT_THAT(agent_log, HasSubstr("revoked"));

  // Enrolled again with a new token (same id), it is back and writes.
  ASSERT_OK(env_.StopAgent(1));
  const std::string again_dir = StateDir("r1-again");
  CtlResult reenrolled = RunEnroll(env_, "revoked-1", again_dir, {"--token_file=" + NewToken()});
  ASSERT_EQ(reenrolled.exit_code, 0) << reenrolled.output;
  ASSERT_OK(env_.StartAgent(1, {.state_dir = again_dir}));
  ASSERT_OK(env_.Admin().WaitAllInSync(absl::Minutes(2))) << env_.LogsForFailure();
  EXPECT_EQ(ExtensionAttribute1(users[0]), "second");
}

}  // namespace
}  // namespace writeback::testing
