// Acceptance (trust issue, #4): secrets never appear in argv, the
// environment, logs, the store or the provisioning log (DESIGN §7).
//
// A whole scenario at log level debug: a controller with its own CA, join
// tokens written with --output, an agent enrolled and writing changes, a
// second agent started with a wrong bind password (it fails to bind and
// says so), a tampered token refused once from --token_file and once from
// --token=VALUE (whose process, held on a listener that never answers, shows
// no token in /proc/PID/cmdline), and `writebackctl log export --output`.
// Then the DC admin password, the wrong password, every token and its
// secret and the body lines of the agents' private keys are searched for in
// every file of the work directory (logs, ctl outputs, the export, the
// SQLite store and its -wal/-shm) except the files made to hold them, and in
// /proc/PID/cmdline and /proc/PID/environ of the running controller and
// agent. Positive controls show the search reads what it claims to.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/identity/join_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/trust_helpers.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kDebug[] = "log_level: \"debug\"\n";
constexpr int kMailboxes = 5;

// What the search looked at and what it found.
class SecretSearch {
 public:
  void AddSecret(const std::string& name, const std::string& value) {
    ASSERT_GE(value.size(), 8u) << name << " is too short to search for";
    secrets_[name] = value;
  }
  // Searches `content` (named `where`) for every secret.
  void Scan(const std::string& where, const std::string& content) {
    scanned_.insert(where);
    bytes_ += content.size();
    for (const auto& [name, value] : secrets_) {
      if (content.find(value) != std::string::npos) {
        findings_.push_back(absl::StrCat(name, " in ", where));
      }
    }
  }
  void ScanFile(const std::string& path) {
    absl::StatusOr<std::string> content = ReadFileToString(path);
    if (!content.ok()) {
      unreadable_.push_back(absl::StrCat(path, ": ", content.status().message()));
      return;
    }
    Scan(path, *content);
  }
  // Every regular file below `dir` but the `excluded` paths.
  void ScanTree(const std::string& dir, const std::set<std::string>& excluded) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      if (excluded.count(path) > 0) {
        skipped_.insert(path);
        continue;
      }
      ScanFile(path);
    }
  }
  void ScanProcess(const std::string& name, pid_t pid) {
    for (const char* part : {"cmdline", "environ"}) {
      const std::string path = absl::StrCat("/proc/", pid, "/", part);
      absl::StatusOr<std::string> content = ReadFileToString(path);
      if (!content.ok() || content->empty()) {
        unreadable_.push_back(absl::StrCat(name, " ", path));
        continue;
      }
      Scan(absl::StrCat(name, " ", part), *content);
    }
  }

  const std::vector<std::string>& findings() const { return findings_; }
  const std::vector<std::string>& unreadable() const { return unreadable_; }
  const std::set<std::string>& scanned() const { return scanned_; }
  const std::set<std::string>& skipped() const { return skipped_; }
  size_t bytes() const { return bytes_; }

 private:
  std::map<std::string, std::string> secrets_;
  std::vector<std::string> findings_;
  std::vector<std::string> unreadable_;
  std::set<std::string> scanned_;
  std::set<std::string> skipped_;
  size_t bytes_ = 0;
};

// A TCP listener on 127.0.0.1 that never answers (the kernel completes the
// handshake; nobody ever writes).
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    if (conn_ >= 0) close(conn_);
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }
  // Waits for a client to connect and holds the connection open.
  bool AcceptOne(absl::Duration timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1) return false;
    conn_ = accept(fd_, nullptr, nullptr);
    return conn_ >= 0;
  }

 private:
  int fd_ = -1;
  int conn_ = -1;
  int port_ = 0;
};

// The token with the first character of its secret changed: well-formed,
// pinning the right CA, refused by the controller.
std::string Tampered(const std::string& token, const JoinTokenParts& parts) {
  std::string out = token;
  const size_t at = out.find(parts.secret);
  out[at] = out[at] == 'A' ? 'B' : 'A';
  return out;
}

TEST(SecretsHygieneTest, NoSecretInArgvEnvironmentLogsStoreOrProvisioningLog) {
  WritebackEnv env;
  env.set_controller_ca_mode(true);
  env.set_controller_config(kDebug);
  ASSERT_OK(env.StartDc());
  ASSERT_OK_AND_ASSIGN(std::vector<SambaDc::User> users, env.dc().AddUsers(kMailboxes));
  ASSERT_OK(env.StartController());
  const std::string dir = env.work_dir();
  CtlResult forest =
      CtlKept(env, {"forest", "add", WritebackEnv::kForest, "--scope_ous=" + env.ScopeOu()});
  ASSERT_EQ(forest.exit_code, 0) << forest.output;

  // agent-1 enrolls, starts and writes.
  ASSERT_OK_AND_ASSIGN(std::string token1, CreateTokenFile(env, dir + "/token-agent-1"));
  CtlResult enrolled =
      RunEnroll(env, AgentId(1), StateDir(env, 1), {"--token_file=" + dir + "/token-agent-1"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  WritebackEnv::AgentOptions one;
  one.extra_config = kDebug;
  one.state_dir = StateDir(env, 1);
  ASSERT_OK(env.StartAgent(1, one));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, env.AddMailboxes(users));
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();
  for (int i = 0; i < kMailboxes; ++i) {
    ASSERT_OK(env.Admin().UpdateMailbox(
        ids[i], {AdminClient::Set("extensionAttribute1", absl::StrCat("hygiene-", i))}));
  }
  ASSERT_OK(env.Admin().WaitAllInSync(absl::Minutes(1))) << env.LogsForFailure();

  // agent-2 enrolls but binds with a wrong password: it fails and says so.
  ASSERT_OK_AND_ASSIGN(std::string token2, CreateTokenFile(env, dir + "/token-agent-2"));
  enrolled =
      RunEnroll(env, AgentId(2), StateDir(env, 2), {"--token_file=" + dir + "/token-agent-2"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  const std::string wrong_password = absl::StrCat("Wr0ng-", getpid(), "-Passw0rd-hygiene");
  const std::string wrong_file = dir + "/wrong-password";
  ASSERT_OK(WritePrivateFileAtomically(wrong_file, wrong_password));
  WritebackEnv::AgentOptions two;
  two.extra_config = kDebug;
  two.password_file = wrong_file;
  two.state_dir = StateDir(env, 2);
  ASSERT_OK(env.StartAgent(2, two));
  ASSERT_OK_AND_ASSIGN(ExitStatus two_ended, env.agent(2).WaitExit(absl::Seconds(60)));
  EXPECT_FALSE(two_ended.ok()) << "agent-2 ran with a wrong bind password";
  ASSERT_OK_AND_ASSIGN(std::string two_log, ReadFileToString(dir + "/agent-2.log"));
  EXPECT_THAT(two_log, HasSubstr("LDAP bind")) << two_log;
  EXPECT_THAT(two_log, HasSubstr("invalidCredentials (49)")) << two_log;

  // A tampered token is refused, from a file and from the command line.
  ASSERT_OK_AND_ASSIGN(std::string token3, CreateTokenFile(env, dir + "/token-agent-3"));
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts3, ParseJoinToken(token3));
  const std::string tampered = Tampered(token3, parts3);
  ASSERT_OK_AND_ASSIGN(JoinTokenParts tampered_parts, ParseJoinToken(tampered));
  ASSERT_OK(WritePrivateFileAtomically(dir + "/token-tampered", tampered + "\n"));
  CtlResult refused =
      RunEnroll(env, AgentId(3), StateDir(env, 3), {"--token_file=" + dir + "/token-tampered"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("not recognised"));
  refused = RunEnroll(env, AgentId(3), StateDir(env, 3), {"--token=" + tampered});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("not recognised"));

  // --token=VALUE is wiped from the process's command line: hold an enroll
  // on a listener that never answers (it connects only after the wipe).
  SilentListener silent;
  ASSERT_GT(silent.port(), 0);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ChildProcess> held,
      SpawnAgentBinary(
          {"enroll", absl::StrCat("--controller=127.0.0.1:", silent.port()), "--token=" + tampered,
           "--agent_id=agent-held", "--state_dir=" + dir + "/state-agent-held"},
          dir + "/enroll-held.log"));
  ASSERT_TRUE(silent.AcceptOne(absl::Seconds(30))) << "the enroll never dialed";
  ASSERT_OK_AND_ASSIGN(std::string held_cmdline,
                       ReadFileToString(absl::StrCat("/proc/", held->pid(), "/cmdline")));
  EXPECT_THAT(held_cmdline, HasSubstr("--token=")) << "not the enroll's command line";
  EXPECT_THAT(held_cmdline, Not(HasSubstr(tampered_parts.secret))) << held_cmdline;

  // The provisioning log, exported.
  const std::string exported = dir + "/provisioning-export.jsonl";
  CtlResult export_ctl = CtlKept(env, {"log", "export", "--output=" + exported});
  ASSERT_EQ(export_ctl.exit_code, 0) << export_ctl.output;
  CtlKept(env, {"token", "list"});
  CtlKept(env, {"audit"});
  CtlKept(env, {"agent", "list"});

  // The secrets.
  SecretSearch search;
  ASSERT_OK_AND_ASSIGN(std::string bind_password, env.dc().AdminPassword());
  search.AddSecret("the bind password", bind_password);
  search.AddSecret("the wrong bind password", wrong_password);
  std::map<std::string, std::string> tokens = {
      {"token 1", token1}, {"token 2", token2}, {"token 3", token3}, {"tampered token", tampered}};
  for (const auto& [name, token] : tokens) {
    ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(token));
    search.AddSecret(name, token);
    search.AddSecret(name + "'s secret", parts.secret);
  }
  std::set<std::string> excluded = {dir + "/wrong-password", dir + "/token-tampered"};
  for (int n = 1; n <= 3; ++n) excluded.insert(absl::StrCat(dir, "/token-agent-", n));
  for (int n = 1; n <= 2; ++n) {
    ASSERT_OK_AND_ASSIGN(std::string key, ReadPrivateFile(StateDir(env, n) + "/agent.key"));
    int lines = 0;
    for (const std::string& line : PemBodyLines(key)) {
      if (line.size() < 40) continue;
      search.AddSecret(absl::StrCat(AgentId(n), "'s private key line ", ++lines), line);
    }
    ASSERT_GE(lines, 1) << AgentId(n) << "'s key has no body line to search for";
    for (const char* file : {"/agent.key", "/agent.key.old", "/agent.key.new"}) {
      excluded.insert(StateDir(env, n) + file);
    }
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(env.ca_dir())) {
    if (entry.path().extension() == ".key") excluded.insert(entry.path().string());
  }

  // The same search finds each secret where it belongs.
  SecretSearch legit = search;
  for (const std::string& file :
       {dir + "/token-agent-1", dir + "/token-tampered", wrong_file, env.dc().admin_password_file(),
        StateDir(env, 1) + "/agent.key"}) {
    legit.ScanFile(file);
  }
  EXPECT_THAT(
      legit.findings(),
      ::testing::IsSupersetOf(
          {"token 1 in " + dir + "/token-agent-1", "token 1's secret in " + dir + "/token-agent-1",
           "tampered token in " + dir + "/token-tampered",
           "the wrong bind password in " + wrong_file,
           "the bind password in " + env.dc().admin_password_file(),
           "agent-1's private key line 1 in " + StateDir(env, 1) + "/agent.key"}))
      << absl::StrJoin(legit.findings(), "\n");

  // Everything else in the work dir, and the running processes.
  search.ScanTree(dir, excluded);
  search.ScanProcess("controller", env.controller().pid());
  search.ScanProcess("agent-1", env.agent(1).pid());
  search.Scan("held enroll cmdline (while held)", held_cmdline);
  search.ScanProcess("held enroll", held->pid());
  ASSERT_OK(held->Kill().status());

  std::cout << "scanned: " << absl::StrJoin(search.scanned(), ", ") << std::endl;
  std::cout << "scanned " << search.scanned().size() << " files and process entries, "
            << search.bytes() << " bytes; skipped " << absl::StrJoin(search.skipped(), ", ")
            << std::endl;
  EXPECT_THAT(search.findings(), IsEmpty());
  EXPECT_THAT(search.unreadable(), IsEmpty());

  // The search covered what it should ...
  for (const std::string& file :
       {dir + "/controller.log", dir + "/agent-1.log", dir + "/agent-2.log", exported,
        env.store_path(), env.store_path() + "-wal", env.store_path() + "-shm",
        dir + "/enroll-agent-1.log", dir + "/enroll-agent-3.log", dir + "/enroll-held.log"}) {
    EXPECT_EQ(search.scanned().count(file), 1u) << file << " was not searched";
  }
  EXPECT_GT(search.bytes(), 100000u);
  // ... and finds what is there: public parts of the same things.
  SecretSearch control;
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts1, ParseJoinToken(token1));
  control.AddSecret("token 1's id", parts1.id);
  control.AddSecret("a mailbox id", ids[0]);
  control.AddSecret("the bind DN", env.dc().admin_dn());
  control.AddSecret("a debug line", "Z DEBUG ");  // the highest verbosity was in effect
  ASSERT_OK_AND_ASSIGN(std::string controller_log, ReadFileToString(dir + "/controller.log"));
  control.Scan("controller.log", controller_log);
  ASSERT_OK_AND_ASSIGN(std::string agent_log, ReadFileToString(dir + "/agent-1.log"));
  control.Scan("agent-1.log", agent_log);
  ASSERT_OK_AND_ASSIGN(std::string store, ReadFileToString(env.store_path()));
  ASSERT_OK_AND_ASSIGN(std::string wal, ReadFileToString(env.store_path() + "-wal"));
  control.Scan("store", store + wal);
  ASSERT_OK_AND_ASSIGN(std::string export_text, ReadFileToString(exported));
  control.Scan("export", export_text);
  control.AddSecret("agent-1's config flag", "--config=" + dir + "/agent-1.conf");
  control.ScanProcess("agent-1", env.agent(1).pid());
  ASSERT_OK_AND_ASSIGN(std::string agent_config, ReadFileToString(dir + "/agent-1.conf"));
  control.Scan("agent-1.conf", agent_config);
  EXPECT_THAT(
      control.findings(),
      ::testing::IsSupersetOf({"token 1's id in controller.log", "token 1's id in store",
                               "a mailbox id in export", "the bind DN in agent-1.conf",
                               "agent-1's config flag in agent-1 cmdline",
                               "a debug line in controller.log", "a debug line in agent-1.log"}))
      << absl::StrJoin(control.findings(), "\n");
}

}  // namespace
}  // namespace writeback::testing
